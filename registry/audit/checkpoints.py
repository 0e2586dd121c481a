"""Signed checkpoints of the audit chain's head, and the JSON-lines file they are copied to.

The hash chain shows that a row was edited, but not that the whole chain was recomputed after the edit: anyone who
can write the table and read our source can do that. A checkpoint is the head of the chain at some moment (the last
event id, which is also the number of events, and its hash) signed with an Ed25519 key the database never holds. A
DBA can rewrite events, but not a signature over their old head; and since every checkpoint is also appended to a
file meant to live where the DBA cannot write, deleting checkpoint rows does not help either.

The signed bytes are the checkpoint's JSON object without ``signature``, keys sorted, compact (orjson), exactly as
one line of the file holds it, so a verifier elsewhere needs nothing of ours but the public key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from registry.audit.signing import ALGORITHM, Signer, verify_signature
from registry.audit.tables import AuditCheckpoint

FORMAT = "registry.audit.checkpoint/1"
_FIELDS = ("id", "event_id", "head_hash", "at", "key_id", "signature")


def format_time(at: datetime) -> str:
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Checkpoint:
    id: int
    event_id: int
    head_hash: str
    at: str  # canonical UTC text, as signed
    key_id: str
    signature: str

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "algorithm": ALGORITHM,
            "id": self.id,
            "event_id": self.event_id,
            "head_hash": self.head_hash,
            "at": self.at,
            "key_id": self.key_id,
        }

    def payload(self) -> bytes:
        """The exact bytes signed."""
        return orjson.dumps(self.body(), option=orjson.OPT_SORT_KEYS)

    def line(self) -> bytes:
        return orjson.dumps({**self.body(), "signature": self.signature}, option=orjson.OPT_SORT_KEYS) + b"\n"


def sign(signer: Signer, id: int, event_id: int, head_hash: str, at: datetime) -> Checkpoint:
    unsigned = Checkpoint(id, event_id, head_hash, format_time(at), signer.key_id, "")
    return Checkpoint(id, event_id, head_hash, unsigned.at, signer.key_id, signer.sign(unsigned.payload()))


def from_row(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.id, row.event_id, row.head_hash, format_time(row.at), row.key_id, row.signature)


def to_row(cp: Checkpoint) -> AuditCheckpoint:
    at = datetime.strptime(cp.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return AuditCheckpoint(
        id=cp.id, event_id=cp.event_id, head_hash=cp.head_hash, at=at, key_id=cp.key_id, signature=cp.signature
    )


def from_json(obj: Any) -> Checkpoint:
    """One line of the file; ``ValueError`` names what is wrong with it."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if obj.get("format") != FORMAT or obj.get("algorithm") != ALGORITHM:
        raise ValueError(f"not a {FORMAT} line signed with {ALGORITHM}")
    missing = [f for f in _FIELDS if f not in obj]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    ints = ("id", "event_id")
    for f in _FIELDS:
        want: type = int if f in ints else str
        if type(obj[f]) is not want:  # bool is an int subclass: refuse it too
            raise ValueError(f"{f} is not a{'n integer' if want is int else ' string'}")
    return Checkpoint(obj["id"], obj["event_id"], obj["head_hash"], obj["at"], obj["key_id"], obj["signature"])


def signature_problem(cp: Checkpoint, trusted: dict[str, Ed25519PublicKey]) -> str | None:
    """Why ``cp`` cannot be trusted, or None when its signature verifies under a trusted key."""
    key = trusted.get(cp.key_id)
    if key is None:
        return f"signed by key {cp.key_id}, which is not a trusted key (a forgery, or pass that key's --public-key)"
    if not verify_signature(key, cp.signature, cp.payload()):
        return f"signature does not verify under key {cp.key_id} (forged or altered)"
    return None


@dataclass
class FileContents:
    checkpoints: list[tuple[int, Checkpoint]] = field(default_factory=list)  # (line number, checkpoint)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    partial_tail: bool = False  # the last line has no newline and does not parse: a write in progress


def read_file(path: Path) -> FileContents:
    """Every checkpoint in the file; raises ``OSError`` when it cannot be read (``FileNotFoundError`` included)."""
    out = FileContents()
    with path.open("rb") as f:
        lines = f.read().split(b"\n")
    last = len(lines)
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            out.checkpoints.append((n, from_json(orjson.loads(raw))))
        except orjson.JSONDecodeError:
            if n == last:  # no newline after it: a writer is mid-line
                out.partial_tail = True
            else:
                out.bad_lines.append((n, "not JSON"))
        except ValueError as e:
            out.bad_lines.append((n, str(e)))
    return out


def append(path: Path, checkpoints: Iterable[Checkpoint]) -> int:
    """Append with one ``write`` on an ``O_APPEND`` descriptor and fsync: lines never interleave or half-land."""
    data = b"".join(cp.line() for cp in checkpoints)
    if not data:
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    return data.count(b"\n")


def export(checkpoints: Iterable[Checkpoint], path: Path) -> int:
    """Append the checkpoints ``path`` does not hold yet (by id); never rewrites or removes a line.

    Merging instead of overwriting means exporting into the evidence file cannot destroy the evidence.
    """
    held: set[int] = set()
    if path.exists():
        held = {cp.id for _, cp in read_file(path).checkpoints}
    return append(path, [cp for cp in checkpoints if cp.id not in held])
