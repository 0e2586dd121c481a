"""The bookkeeping every sync and crawl run shares: its ``sync_run`` row, its report, its progress callback.

A run is recorded as it starts (``status = 'running'``) and finished with how it ended, so a dead node or a
malformed body leaves its reason in ``sync_run`` (and in ``registry sync``'s output) instead of only in a log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from chains.types import ChainError
from registry.db.engine import session_scope
from registry.sync import queries

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    network: str
    kind: str = "sync"
    status: str = "ok"
    reason: str | None = None
    first_block: int | None = None
    last_block: int | None = None  # last block stored by this run
    blocks: int = 0
    transfers_seen: int = 0
    inserted: int = 0
    rolled_back: int = 0
    times_filled: int = 0  # stored rows without a time (a file imported without blocks) this run dated
    seconds: float = 0.0
    addresses: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Progress:
    """What a progress bar shows after each committed batch (or crawled address)."""

    network: str
    done: int  # blocks (sync) or addresses (crawl)
    total: int
    transfers: int


ProgressFn = Callable[[Progress], None]


@contextmanager
def recorded_run(engine: Engine, network: str, kind: str, *, first_block: int | None = None) -> Iterator[SyncReport]:
    """Start a ``sync_run`` row, hand out the report the run fills in, and finish the row from it.

    A ``ChainError`` inside the block ends the run as ``failed`` with the error's reason and is not raised further:
    the caller returns the report (the next run resumes). Any other exception (a bug, the database gone, Ctrl-C)
    ends the row as ``error`` with the exception named, then propagates: a row left ``running`` would tell the
    operator a sync is still going when nothing is.
    """
    report = SyncReport(network, kind=kind)
    began = time.perf_counter()
    with session_scope(engine) as s:
        run_id = queries.start_run(s, network, kind, first_block)
    try:
        yield report
    except ChainError as e:
        report.status, report.reason = "failed", e.reason
        log.warning("%s: %s failed: %s", network, kind, e.reason)
    except BaseException as e:
        report.status, report.reason = "error", f"{type(e).__name__}: {e}"
        report.seconds = time.perf_counter() - began
        try:
            _finish(engine, run_id, report)
        except Exception:  # the database may be what failed: the original error is the one to raise
            log.exception("%s: could not record the end of %s run %s", network, kind, run_id)
        raise
    report.seconds = time.perf_counter() - began
    _finish(engine, run_id, report)


def _finish(engine: Engine, run_id: int, report: SyncReport) -> None:
    with session_scope(engine) as s:
        queries.finish_run(
            s,
            run_id,
            status=report.status,
            reason=report.reason,
            last_block=report.last_block,
            transfers=report.inserted,
            rolled_back=report.rolled_back,
        )
