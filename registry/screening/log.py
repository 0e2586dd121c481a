"""The screening log, written off the request path.

Every screening is recorded (key, address, result, registry version), but a database round trip per screening
would cap throughput at the database's commit rate. Rows are buffered in memory and written in one multi-row
INSERT every ``REGISTRY_SCREENING_LOG_FLUSH_SECONDS``; on shutdown the buffer is flushed. A crash can lose at most
that interval of log rows, never a listing or an audit event.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.engine import Engine

log = logging.getLogger("registry.screening")

Row = tuple[datetime, int, str, str, str, int, str, str]
"""(at, key_id, registry_version, chain, address, risk_score, risk_level, action): tuples are cheap to build
on the request path; the flusher turns them into rows."""

_COLUMNS = ("at", "key_id", "registry_version", "chain", "address", "risk_score", "risk_level", "action")


class ScreeningLogWriter:
    def __init__(self, engine: Engine, flush_seconds: float, max_batch: int = 50_000) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._interval = flush_seconds
        self._max_batch = max_batch
        self._buf: deque[Row] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.written = 0

    @property
    def _sql(self) -> str:
        # The driver's own executemany on tuples: building SQLAlchemy parameter dicts for thousands of rows a
        # second held the GIL long enough to show in the screening p99.
        mark = "?" if self._engine.dialect.paramstyle == "qmark" else "%s"
        return f"INSERT INTO screening_log ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})"

    def _row(self, r: Row) -> tuple[object, ...]:
        if self._sqlite:
            return (r[0].replace(tzinfo=None), *r[1:])  # UtcDateTime's storage form on SQLite: naive UTC
        return r

    def add(self, row: Row) -> None:
        self._buf.append(row)  # deque.append is atomic: no lock on the hot path

    def extend(self, rows: Iterable[Row]) -> None:
        self._buf.extend(rows)

    def flush(self) -> int:
        with self._flush_lock:
            total = 0
            while self._buf:
                batch: list[Row] = []
                while self._buf and len(batch) < self._max_batch:
                    batch.append(self._buf.popleft())
                try:
                    with self._engine.begin() as conn:
                        conn.exec_driver_sql(self._sql, [self._row(r) for r in batch])
                except Exception:
                    # Put the rows back in front so a database outage delays the log instead of losing it.
                    self._buf.extendleft(reversed(batch))
                    raise
                total += len(batch)
            self.written += total
            return total

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="screening-log", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("could not flush %d screening log rows at shutdown", len(self._buf))

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:
                log.exception("screening log flush failed; %d rows kept for the next try", len(self._buf))
