"""Loading transfer files into the store: ``registry import transfers FILE…``.

The readers (``files.py``) turn rows into ``Transfer`` records; this module streams them into the store in batches
through the one writer sync uses (``store.write_transfers``: ``COPY`` on PostgreSQL, ``executemany`` on SQLite,
idempotent on ``(network, tx_id, idx)``), bumps the transfers counter with each batch so that the rescoring job
picks them up, and records each file in the audit log (its name, sha256 and counts).

**Bad rows.** Every bad row is reported with its line (the first ``MAX_ERRORS`` of a file listed, all counted).
By default the good rows of the file are imported and the bad ones are left out: transfers are observations, not
decisions (unlike a listings CSV, which is all or nothing), each batch commits on its own so a multi-GB export
does not hold SQLite's write lock for minutes, and the writes are idempotent, so importing the corrected file
again adds exactly the rows that were missing. ``strict=True`` (``--strict``) reads the file once to check every
row and imports nothing from a file with a bad row.

**Unknown times.** A transfer whose file does not give its time is stored with ``chains.types.UNKNOWN_TIME`` (the
column is NOT NULL); whatever shows times to people shows it as unknown. A later import that knows the time of a
block (the same file with its ``blocks.csv``, a generic CSV with times, or a ``blocks.csv`` alone) fills in the
stored unknown times of that block, as a later sync or crawl of it does (``store.write_transfers``).
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.addresses import EVM_NETWORKS
from chains.types import UNKNOWN_TIME, Transfer
from registry.audit.service import CLI, Actor, record
from registry.db import state
from registry.db.engine import session_scope
from registry.transfers import files, store
from registry.transfers.files import BlockTimes, FileRefused, Format, Kind, Receipts, RowError, Tally

MAX_ERRORS = 1000
"""Row errors listed per file; ``FileReport.errors_total`` counts them all."""
BATCH = 20_000
"""Transfers per write: one COPY (or executemany) and one commit each."""
TRANSFER_KINDS = frozenset({Kind.token_transfers, Kind.transactions, Kind.tron_json, Kind.generic})


@dataclass
class FileReport:
    path: str
    kind: str | None = None
    sha256: str = ""
    size: int = 0
    rows: int = 0
    transfers: int = 0
    inserted: int = 0
    times_filled: int = 0
    unknown_time: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    refused: str | None = None
    """Why nothing (more) of the file was read: a wrong format, a broken header, ``--strict`` with bad rows."""

    def error(self, e: RowError) -> None:
        self.errors_total += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(e)

    @property
    def existing(self) -> int:
        """Good rows already in the store (a sync, or an earlier import, wrote them)."""
        return self.transfers - self.inserted


@dataclass
class ImportReport:
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def inserted(self) -> int:
        return sum(f.inserted for f in self.files)

    @property
    def transfers(self) -> int:
        return sum(f.transfers for f in self.files)

    @property
    def errors_total(self) -> int:
        return sum(f.errors_total for f in self.files)

    @property
    def refused(self) -> list[FileReport]:
        return [f for f in self.files if f.refused]


@dataclass(frozen=True)
class Progress:
    path: str
    done_bytes: int
    total_bytes: int
    transfers: int
    inserted: int


ProgressFn = Callable[[Progress], None]


class _Hashing(io.RawIOBase):
    """A raw reader that hashes and counts the bytes read through it: the file's sha256 for the audit record and the
    progress bar's position, in the one pass the import makes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)  # type: ignore[attr-defined]
        if n:
            view = memoryview(b)[:n]
            self.sha.update(view)
            self.count += n
        return int(n or 0)

    def close(self) -> None:
        self.raw.close()
        super().close()


@contextmanager
def _open_text(path: Path) -> Iterator[tuple[IO[str], _Hashing]]:
    raw = _Hashing(open(path, "rb"))  # noqa: SIM115 - closed by the wrapper below
    stream = io.TextIOWrapper(io.BufferedReader(raw, 1 << 20), encoding="utf-8-sig", newline="")
    try:
        yield stream, raw
    finally:
        stream.close()


def detect_file(path: Path) -> Kind:
    with open(path, "rb") as f:
        head = f.read(1 << 16).decode("utf-8", errors="replace")
    return files.detect(head)


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    fmt: Format = Format.auto,
    network: str | None = None,
    blocks: Sequence[Path] = (),
    receipts: Sequence[Path] = (),
    without_receipts: bool = False,
    strict: bool = False,
    batch: int = BATCH,
    actor: Actor = CLI,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import ``paths`` (any mix of formats; ``blocks.csv`` and ``receipts.csv`` among them are used as side files
    like those given in ``blocks`` and ``receipts``). ``network``: the EVM network of ethereum-etl files (default
    eth) and the default of a generic CSV's rows."""
    began = time.perf_counter()
    report = ImportReport()
    kinds: dict[Path, Kind] = {}
    side_blocks, side_receipts = list(blocks), list(receipts)
    allowed = files.kinds_for(fmt)
    for p in paths:
        fr = FileReport(str(p), size=p.stat().st_size)
        try:
            kind = detect_file(p)
        except FileRefused as e:
            fr.refused = e.reason
            report.files.append(fr)
            continue
        if kind not in allowed:
            fr.kind, fr.refused = kind.value, f"this is a {kind.value}, not {fmt.value}"
            report.files.append(fr)
        elif kind == Kind.blocks:
            side_blocks.append(p)
        elif kind == Kind.receipts:
            side_receipts.append(p)
        else:
            kinds[p] = kind
    evm_network = (network or "eth").lower()
    times, receipt_data = _side_files(report, side_blocks, side_receipts)
    total_bytes = sum(p.stat().st_size for p in kinds)
    done_before = 0
    for p, kind in kinds.items():
        fr = FileReport(str(p), kind=kind.value, size=p.stat().st_size)
        report.files.append(fr)
        refusal = _refusal(kind, evm_network, receipt_data, without_receipts)
        if refusal:
            fr.refused = refusal
            continue

        def reader(stream: IO[str], tally: Tally, k: Kind = kind) -> Iterator[Transfer | RowError]:
            return _reader(k, stream, tally, evm_network, network, times, receipt_data)

        if strict and not _check_only(p, reader, fr):
            continue
        _write(engine, p, reader, fr, batch, progress, done_before, total_bytes)
        done_before += fr.size
        on = {Kind.tron_json: "tron", Kind.generic: network or "per row"}.get(kind, evm_network)
        _audit(engine, actor, fr, kind, on)
    if times is not None and not kinds:
        # A blocks.csv on its own: it dates the stored transfers of those blocks that had no time.
        dated = [f for f in report.files if f.kind == Kind.blocks.value and not f.refused]
        filled = fill_times(engine, evm_network, times)
        if dated:
            dated[-1].times_filled += filled
    report.seconds = time.perf_counter() - began
    return report


def _refusal(kind: Kind, network: str, receipts: Receipts | None, without_receipts: bool) -> str | None:
    if kind in (Kind.token_transfers, Kind.transactions) and network not in EVM_NETWORKS:
        return f"an ethereum-etl file holds an EVM network's transfers; --network {network} is not one"
    if kind == Kind.transactions and receipts is None and not without_receipts:
        return (
            "transactions.csv without receipts.csv: a failed payment cannot be told from a good one. Give the "
            "receipts (ethereum-etl export_receipts_and_logs) with --receipts, or --without-receipts to import "
            "every value-carrying transaction as successful"
        )
    return None


def _side_files(
    report: ImportReport, blocks: Sequence[Path], receipts: Sequence[Path]
) -> tuple[BlockTimes | None, Receipts | None]:
    """Read the ``blocks.csv`` and ``receipts.csv`` files (their bad rows reported like any other file's)."""
    times: BlockTimes | None = None
    found: Receipts | None = None
    for p, kind in [*((b, Kind.blocks) for b in blocks), *((r, Kind.receipts) for r in receipts)]:
        fr = FileReport(str(p), kind=kind.value, size=p.stat().st_size)
        report.files.append(fr)
        try:
            with _open_text(p) as (stream, raw):
                if kind == Kind.blocks:
                    more = BlockTimes.read(stream, fr.error)
                    times = more if times is None else _merge(times, more)
                    fr.rows = len(more)
                else:
                    got = Receipts.read(stream, fr.error)
                    if found is None:
                        found = got
                    else:
                        found.failed |= got.failed
                        found.created.update(got.created)
                        found.rows += got.rows
                    fr.rows = got.rows
                fr.sha256 = raw.sha.hexdigest()
        except FileRefused as e:
            fr.refused = e.reason
            fr.error(RowError(e.line, None, None, e.reason))
        except UnicodeDecodeError:
            fr.refused = "not UTF-8 text"
    return times, found


def _merge(a: BlockTimes, b: BlockTimes) -> BlockTimes:
    from array import array

    numbers, stamps = array("q"), array("q")
    numbers.frombytes(a.numbers.tobytes() + b.numbers.tobytes())
    stamps.frombytes(a.stamps.tobytes() + b.stamps.tobytes())
    return BlockTimes(numbers, stamps)


def _reader(
    kind: Kind,
    stream: IO[str],
    tally: Tally,
    evm_network: str,
    network: str | None,
    times: BlockTimes | None,
    receipts: Receipts | None,
) -> Iterator[Transfer | RowError]:
    addresses = files.Addresses()
    if kind == Kind.token_transfers:
        return files.token_transfers(stream, evm_network, times, tally, addresses)
    if kind == Kind.transactions:
        return files.transactions(stream, evm_network, times, receipts, tally, addresses)
    if kind == Kind.tron_json:
        return files.tron_json(stream, tally, addresses)
    return files.generic(stream, network, tally, addresses)


Reader = Callable[[IO[str], Tally], Iterator[Transfer | RowError]]


def _check_only(path: Path, reader: Reader, fr: FileReport) -> bool:
    """``--strict``'s first pass: every row checked, nothing written. False (and the file refused) on any error."""
    tally = Tally()
    try:
        with _open_text(path) as (stream, _):
            for item in reader(stream, tally):
                if isinstance(item, RowError):
                    fr.error(item)
    except FileRefused as e:
        fr.error(RowError(e.line, None, None, e.reason))
    except UnicodeDecodeError:
        fr.error(RowError(tally.rows + 1, None, None, "not UTF-8 text (save the file as UTF-8)"))
    fr.rows = tally.rows
    if fr.errors_total:
        fr.refused = f"--strict: {fr.errors_total} bad row(s); nothing of this file was imported"
        return False
    return True


def _write(
    engine: Engine,
    path: Path,
    reader: Reader,
    fr: FileReport,
    batch_size: int,
    progress: ProgressFn | None,
    done_before: int,
    total_bytes: int,
) -> None:
    tally = Tally()
    pending: list[Transfer] = []
    raw: _Hashing | None = None

    def flush() -> None:
        inserted, filled = write_batch(engine, pending)
        fr.inserted += inserted
        fr.times_filled += filled
        fr.transfers += len(pending)
        pending.clear()
        if progress is not None and raw is not None:
            progress(Progress(str(path), done_before + raw.count, total_bytes, fr.transfers, fr.inserted))

    try:
        with _open_text(path) as (stream, raw):
            try:
                for item in reader(stream, tally):
                    if isinstance(item, RowError):
                        fr.error(item)
                        continue
                    pending.append(item)
                    if len(pending) >= batch_size:
                        flush()
            except FileRefused as e:
                fr.error(RowError(e.line, None, None, e.reason))
                fr.refused = e.reason if not fr.transfers and not pending else f"stopped at line {e.line}: {e.reason}"
            except UnicodeDecodeError:
                reason = "not UTF-8 text (save the file as UTF-8)"
                fr.error(RowError(tally.rows + 1, None, None, reason))
                fr.refused = reason
            if pending:
                flush()
            fr.sha256 = raw.sha.hexdigest()
    finally:
        fr.rows = tally.rows
        fr.skipped = dict(tally.skipped)
        fr.unknown_time = tally.unknown_time


def write_batch(engine: Engine, transfers: list[Transfer]) -> tuple[int, int]:
    """One transaction: the rows through the store's writer, the transfers counter bumped (rescoring watches it),
    and — when some rows existed already — their unknown block times filled from this batch's. Returns
    (rows inserted, stored rows whose time was filled)."""
    if not transfers:
        return 0, 0
    with session_scope(engine) as s:
        inserted, filled = store.write_transfers(s, transfers)
        if inserted or filled:
            state.bump(s, state.TRANSFERS)
    return inserted, filled


def fill_times(engine: Engine, network: str, times: BlockTimes) -> int:
    """Date the stored transfers of ``network`` that have no time, from a ``blocks.csv`` given on its own."""
    with session_scope(engine) as s:
        blocks = [
            int(b)
            for (b,) in s.connection().execute(
                text("SELECT DISTINCT block FROM transfer WHERE network = :n AND block_time = :u AND block > 0"),
                {"n": network, "u": store.bind_time(s, UNKNOWN_TIME)},
            )
        ]
        known: dict[tuple[str, int], datetime] = {}
        for b in blocks:
            t = times.get(b)
            if t is not None:
                known[(network, b)] = t
        filled = store.fill_times(s, known)
        if filled:
            state.bump(s, state.TRANSFERS)
    return filled


def _audit(engine: Engine, actor: Actor, fr: FileReport, kind: Kind, network: str) -> None:
    """The file's provenance in the audit log: an investigator can later show where a transfer came from."""
    with session_scope(engine) as s:
        record(
            s,
            actor,
            action="transfers.import",
            entity_type="transfer_file",
            entity_id=fr.sha256 or fr.path,
            after={
                "file": Path(fr.path).name,
                "sha256": fr.sha256,
                "bytes": fr.size,
                "format": kind.value,
                "network": network,
                "rows": fr.rows,
                "transfers": fr.transfers,
                "inserted": fr.inserted,
                "bad_rows": fr.errors_total,
                "unknown_time": fr.unknown_time,
                "refused": fr.refused,
            },
        )
