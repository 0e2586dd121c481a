"""Appending to and verifying the audit chain.

Each row's hash covers its content and the previous row's hash, so editing or deleting any row breaks every hash
after it. The database also refuses UPDATE and DELETE on the table, and on SQLite an INSERT that would replace a
row (triggers, see migrations 0001 and 0008): the chain is what still tells the truth when someone with database
rights drops those triggers, and signed checkpoints (checkpoints.py) are what still tell it when that someone also
recomputes the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from registry.audit import checkpoints, signing
from registry.audit.checkpoints import Checkpoint
from registry.audit.signing import Signer
from registry.audit.tables import AuditCheckpoint, AuditEvent
from registry.db import state
from registry.db.engine import is_postgres, read_only, session_scope
from registry.errors import RegistryError

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_300_001  # advisory lock id serialising appends on PostgreSQL


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # key | cli | system
    id: int | str
    org: str
    role: str


CLI = Actor(kind="cli", id="local", org="operator", role="admin")


def _lock_chain(session: Session) -> None:
    """Serialise appends and checkpoints on PostgreSQL (SQLite transactions already begin IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})


def _canonical(ev: AuditEvent) -> bytes:
    return _canonical_values(
        ev.id,
        ev.at,
        ev.actor_kind,
        ev.actor_id,
        ev.actor_org,
        ev.actor_role,
        ev.action,
        ev.entity_type,
        ev.entity_id,
        ev.before,
        ev.after,
        ev.prev_hash,
    )


def _canonical_values(
    id_: int,
    at: datetime,
    actor_kind: str,
    actor_id: str,
    actor_org: str,
    actor_role: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    prev_hash: str,
) -> bytes:
    """The hashed record: every column but ``hash``, in a fixed order (``test_audit_tamper`` keeps it complete)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    body = [
        id_,
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_kind,
        actor_id,
        actor_org,
        actor_role,
        action,
        entity_type,
        entity_id,
        before,
        after,
        prev_hash,
    ]
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def compute_hash(ev: AuditEvent) -> str:
    return hashlib.sha256(_canonical(ev)).hexdigest()


def _jsonable(v: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if v is None else orjson.loads(orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS))


class Change(NamedTuple):
    """One event of ``record_many``: what was done to which row, with the row before and after (``None`` for a
    creation or a removal). A named tuple, so the bulk path still unpacks it as a plain tuple."""

    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    session: Session,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: the change and its audit row commit or fail together.

    Keyword-only after ``actor``: five strings and dictionaries in a row are an argument swap waiting to happen,
    and a swapped ``before``/``after`` would be hashed into the chain for good."""
    return record_many(session, actor, [Change(action, entity_type, entity_id, before, after)])[0]


def record_many(session: Session, actor: Actor, changes: list[Change]) -> list[AuditEvent]:
    """Append several events with one read of the chain's head and one multi-row insert (CSV and list imports).

    Rows go in as plain dictionaries through a Core insert: building an ORM object per event cost more than
    hashing and writing it (a 100,000-row CSV import spent most of its time in model constructors). Only a
    single event is handed back as an object, for callers of ``record``."""
    _lock_chain(session)
    session.flush()
    last = session.exec(select(AuditEvent.id, AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    next_id, prev_hash = ((last[0] + 1), last[1]) if last else (1, GENESIS)
    now = datetime.now(UTC)
    kind, actor_id, org, role = actor.kind, str(actor.id), actor.org, actor.role
    rows: list[dict[str, Any]] = []
    for action, entity_type, entity_id, before, after in changes:
        b, a = _jsonable(before), _jsonable(after)
        digest = hashlib.sha256(
            _canonical_values(next_id, now, kind, actor_id, org, role, action, entity_type, entity_id, b, a, prev_hash)
        ).hexdigest()
        rows.append(
            {
                "id": next_id,
                "at": now,
                "actor_kind": kind,
                "actor_id": actor_id,
                "actor_org": org,
                "actor_role": role,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "before": b,
                "after": a,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        next_id, prev_hash = next_id + 1, digest
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]
        state.bump(session, state.AUDIT, len(rows))
    return [AuditEvent(**rows[0])] if len(rows) == 1 else []


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    warnings: list[str] = field(default_factory=list)
    checkpoints: int = 0  # distinct trusted checkpoints compared with the log
    newest_checkpoint_event: int = 0


def verify(
    session: Session,
    batch: int = 5000,
    *,
    public_keys: Sequence[Ed25519PublicKey] | None = None,
    checkpoint_file: Path | None = None,
) -> VerifyResult:
    """Walk the chain in batches, and hold it against every checkpoint in the table and in ``checkpoint_file``.

    The chain alone catches an edited, deleted or inserted row, but not a chain recomputed from the edit on (the
    recipe is in this file) together with a lowered counter; a checkpoint signed before the edit catches that. With
    ``public_keys`` None signatures are not checked (a warning says so): the command line always passes keys.
    """
    problems: list[str] = []
    warnings: list[str] = []
    trusted = _gather_checkpoints(session, public_keys, checkpoint_file, problems, warnings)
    by_event: dict[int, list[tuple[Checkpoint, str]]] = {}
    for cp, where in trusted:
        by_event.setdefault(cp.event_id, []).append((cp, where))
    last_confirmed = 0  # the newest event a checkpoint confirmed: a rewrite lies after it

    def against_checkpoints(ev: AuditEvent) -> None:
        nonlocal last_confirmed
        due = by_event.pop(ev.id, None)
        if not due:
            return
        bad = [(cp, where) for cp, where in due if cp.head_hash != ev.hash]
        for cp, where in bad:
            lo = last_confirmed + 1
            span = f"at event {ev.id}" if lo >= ev.id else f"between events {lo} and {ev.id}"
            problems.append(
                f"checkpoint {cp.id} ({where}): the log was rewritten {span} (event {ev.id}'s hash is "
                f"{ev.hash[:12]}…, the checkpoint signed {cp.head_hash[:12]}…)"
            )
        if not bad:
            last_confirmed = ev.id

    walk = _walk(session, batch, on_event=against_checkpoints, problems=problems)
    n = walk.n
    for event_id, due in sorted(by_event.items()):
        for cp, where in due:
            if event_id > 0:
                problems.append(
                    f"checkpoint {cp.id} ({where}) signed event {event_id}, which is not in the log "
                    f"({n} events, the last is {walk.last_id}): events were deleted or cut off the end"
                )
    expected = state.read_all(session).get(state.AUDIT, 0)
    if expected > n:
        problems.append(f"the log holds {n} rows but {expected} were appended (rows removed at the end)")
    elif expected < n:
        problems.append(
            f"the log holds {n} rows but the audit counter says {expected} were appended (rows inserted, "
            "or the counter lowered)"
        )
    newest = max((cp for cp, _ in trusted), key=lambda cp: cp.event_id, default=None)
    if newest is not None and expected < newest.event_id:
        problems.append(
            f"the audit counter is {expected}, below the {newest.event_id} events checkpoint {newest.id} signed "
            "(the counter was lowered)"
        )
    if newest is None and n:
        warnings.append(
            "no signed checkpoint: the chain alone cannot show that it was not recomputed after an edit "
            "(run `registry audit checkpoint`)"
        )
    return VerifyResult(
        ok=not problems,
        checked=n,
        problems=problems,
        warnings=warnings,
        checkpoints=len(trusted),
        newest_checkpoint_event=newest.event_id if newest else 0,
    )


def _gather_checkpoints(
    session: Session,
    public_keys: Sequence[Ed25519PublicKey] | None,
    path: Path | None,
    problems: list[str],
    warnings: list[str],
) -> list[tuple[Checkpoint, str]]:
    """The distinct checkpoints worth holding the log against (signature good, or not checked), with where each
    was found; forged ones, gaps in the table and rows deleted from it (but still in the file) become problems."""
    table = list_checkpoints(session)
    session.expunge_all()
    in_file: list[tuple[int, Checkpoint]] = []
    file_read = False
    if path is not None:
        try:
            contents = checkpoints.read_file(path)
        except FileNotFoundError:
            warnings.append(f"checkpoint file {path} does not exist: only the table's checkpoints were checked")
        except OSError as e:
            problems.append(f"checkpoint file {path} cannot be read: {e.strerror or e}")
        else:
            file_read, in_file = True, contents.checkpoints
            problems.extend(f"checkpoint file {path} line {n}: {why}" for n, why in contents.bad_lines)
            if contents.partial_tail:
                warnings.append(f"checkpoint file {path}: the last line is incomplete (being written?), ignored")
    keys = None if public_keys is None else {signing.key_id(k): k for k in public_keys}
    if keys is None and (table or in_file):
        warnings.append("checkpoint signatures were not checked (no public key given)")

    def trusted(cp: Checkpoint, where: str) -> bool:
        why = None if keys is None else checkpoints.signature_problem(cp, keys)
        if why:
            problems.append(f"checkpoint {cp.id} ({where}): {why}")
        return why is None

    found: dict[Checkpoint, list[str]] = {}
    expect_id = 1
    for cp in table:
        if cp.id > expect_id:
            gap = f"row {expect_id} is" if cp.id == expect_id + 1 else f"rows {expect_id}..{cp.id - 1} are"
            problems.append(f"checkpoint {gap} missing from the audit_checkpoint table (deleted)")
        expect_id = max(expect_id, cp.id + 1)
        if trusted(cp, "table"):
            found.setdefault(cp, []).append("table")
    table_ids = {cp.id for cp in table}
    good_in_table = {cp.id: cp for cp, where in found.items()}
    for n, cp in in_file:
        where = f"file line {n}"
        if not trusted(cp, where):
            continue
        if cp.id not in table_ids:
            problems.append(
                f"checkpoint {cp.id} ({where}, event {cp.event_id}) is in {path} but not in the audit_checkpoint "
                "table (deleted)"
            )
        elif cp.id in good_in_table and good_in_table[cp.id] != cp:
            other = good_in_table[cp.id]
            problems.append(
                f"checkpoint {cp.id} differs between the audit_checkpoint table (event {other.event_id}) and "
                f"{path} line {n} (event {cp.event_id})"
            )
        found.setdefault(cp, []).append(where)
    if file_read:
        file_ids = {cp.id for _, cp in in_file}
        not_copied = sorted(i for i in good_in_table if i not in file_ids)
        if not_copied:
            warnings.append(
                f"{len(not_copied)} checkpoint(s) of the table are not in {path} (the newest is {not_copied[-1]}): "
                "copy them with `registry audit export-checkpoints`"
            )
    return [(cp, " and ".join(where)) for cp, where in found.items()]


@dataclass
class _Walk:
    n: int
    last_id: int
    last_hash: str


def _walk(
    session: Session,
    batch: int,
    *,
    problems: list[str],
    after: Checkpoint | None = None,
    upto: int | None = None,
    on_event: Callable[[AuditEvent], None] | None = None,
) -> _Walk:
    """Check ids, links and hashes of the events after ``after`` (from the genesis when None), streaming."""
    w = _Walk(0, after.event_id if after else 0, after.head_hash if after else GENESIS)
    for ev in _iter_events(session, batch, after.event_id if after else None, upto):
        w.n += 1
        if ev.id <= w.last_id:
            problems.append(f"row {ev.id}: out of sequence (ids start at 1 and rise by one)")
        elif ev.id != w.last_id + 1:
            gap = f"row {w.last_id + 1} is" if ev.id == w.last_id + 2 else f"rows {w.last_id + 1}..{ev.id - 1} are"
            problems.append(f"{gap} missing (deleted)")
        if ev.prev_hash != w.last_hash:
            problems.append(f"row {ev.id}: previous-hash link broken (a row before it was edited or deleted)")
        if compute_hash(ev) != ev.hash:
            problems.append(f"row {ev.id}: content does not match its hash (edited)")
        if on_event is not None:
            on_event(ev)
        w.last_id, w.last_hash = ev.id, ev.hash
    return w


def _iter_events(session: Session, batch: int, after: int | None, upto: int | None = None) -> Iterator[AuditEvent]:
    """Every event in id order, ``batch`` at a time (constant memory on millions of rows). With ``after`` None the
    first batch has no lower bound, so rows moved to id 0 or below are seen too."""
    while True:
        q = select(AuditEvent)
        if after is not None:
            q = q.where(AuditEvent.id > after)
        if upto is not None:
            q = q.where(AuditEvent.id <= upto)
        rows = session.exec(q.order_by(col(AuditEvent.id)).limit(batch)).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()


class ChainBroken(RegistryError):
    """The log does not extend the last signed checkpoint: nothing gets signed on top of a tampered log."""

    status = 409
    code = "audit_tampered"


class CheckpointFileError(RegistryError):
    code = "audit_checkpoint_file"


@dataclass(frozen=True)
class CheckpointResult:
    written: Checkpoint | None  # None: the head had not moved since ``base`` (or the log is empty)
    base: Checkpoint | None  # the newest earlier checkpoint signed by this key
    exported: int  # lines appended to the checkpoint file


def checkpoint(*, engine: Engine, signer: Signer, export_to: Path | None, batch: int = 5000) -> CheckpointResult:
    """Sign the chain's head, unless it has not moved since the last checkpoint, then copy to ``export_to``.

    Before signing, the stretch since the previous checkpoint of this key is checked (ids, links, hashes, the
    counter) in a read-only transaction, so neither SQLite writers nor appends wait on it; only the insert takes
    the chain's lock. Rows the file lacks are appended to it afterwards, so a failed write heals on the next run.
    """
    with session_scope(consistent_reader(engine)) as s:
        newest_id, base = _newest_checkpoints(s, signer)
        head = s.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
        head_id, head_hash = (head.id, head.hash) if head else (0, GENESIS)
        moved = head_id > 0 and (base is None or (base.event_id, base.head_hash) != (head_id, head_hash))
        if moved:
            _check_since(s, base, head_id, batch)
    written = None
    if moved:
        with session_scope(engine) as s:
            _lock_chain(s)
            latest = s.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc()).limit(1)).first()
            if (latest.id if latest else 0) == newest_id:  # else another process just wrote one: leave it to it
                ev = s.get(AuditEvent, head_id)
                if ev is None or ev.hash != head_hash:
                    raise ChainBroken(f"not signing: event {head_id} changed while it was being checked")
                written = checkpoints.sign(signer, newest_id + 1, head_id, head_hash, datetime.now(UTC))
                s.add(checkpoints.to_row(written))
    exported = 0
    if export_to is not None:
        with session_scope(read_only(engine)) as s:
            every = list_checkpoints(s)
        try:
            exported = checkpoints.export(every, export_to)
        except OSError as e:
            done = f"checkpoint {written.id} is in the table, but " if written else ""
            raise CheckpointFileError(
                f"{done}{export_to} could not be written ({e.strerror or e}); the next run appends what it lacks"
            ) from None
    return CheckpointResult(written=written, base=base, exported=exported)


def consistent_reader(engine: Engine) -> Engine:
    """For walking the log: one snapshot for the events and the counter while appends go on (PostgreSQL's default
    READ COMMITTED would let the counter run ahead of the rows already read), and no write lock held on SQLite."""
    if is_postgres(engine):
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    return read_only(engine)


def _newest_checkpoints(session: Session, signer: Signer) -> tuple[int, Checkpoint | None]:
    """The newest checkpoint id in the table, and the newest checkpoint this key signed (verified).

    Checkpoints under another key id (a key rotated out) are passed over; one that claims this key but does not
    verify is a forgery, and signing on top of it would hide it.
    """
    rows = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id).desc())).all()
    newest_id = rows[0].id if rows else 0
    keys = {signer.key_id: signer.public_key}
    for row in rows:
        cp = checkpoints.from_row(row)
        if cp.key_id != signer.key_id:
            continue
        why = checkpoints.signature_problem(cp, keys)
        if why:
            raise ChainBroken(f"not signing: checkpoint {cp.id} in the table: {why}")
        return newest_id, cp
    return newest_id, None


def _check_since(session: Session, base: Checkpoint | None, head_id: int, batch: int) -> None:
    problems: list[str] = []
    if base is not None:
        at_base = session.get(AuditEvent, base.event_id)
        if at_base is None or at_base.hash != base.head_hash:
            problems.append(
                f"event {base.event_id} is missing or no longer has the hash checkpoint {base.id} signed (rewritten)"
            )
    _walk(session, batch, problems=problems, after=base, upto=head_id)
    counter = state.read_all(session).get(state.AUDIT, 0)
    if counter != head_id:  # one snapshot (see ``consistent_reader``): an append bumps both together
        problems.append(f"the audit counter says {counter} events were appended but the log ends at event {head_id}")
    if problems:
        more = f" (and {len(problems) - 1} more; run `registry audit verify`)" if len(problems) > 1 else ""
        raise ChainBroken(f"not signing: {problems[0]}{more}", details=[f"not signing: {p}" for p in problems])


def list_checkpoints(session: Session) -> list[Checkpoint]:
    rows = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).all()
    return [checkpoints.from_row(r) for r in rows]


def list_events(
    session: Session, after_id: int, limit: int, entity_type: str | None, entity_id: str | None
) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.id > after_id)
    if entity_type:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(q.order_by(col(AuditEvent.id)).limit(limit)).all())
