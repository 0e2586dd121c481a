"""The screening log, written off the request path, in bounded memory, losing at most one flush interval in a crash.

Every screening is recorded (key, address, result, registry version), but a database round trip per screening
would cap throughput at the database's commit rate. Rows are buffered in memory and written by one thread of its own
with a connection of its own, in transactions of ``CHUNK_ROWS`` rows (``COPY`` on PostgreSQL, ``executemany`` on
SQLite): every half ``REGISTRY_SCREENING_LOG_FLUSH_SECONDS``, at once when ``EAGER_ROWS`` rows wait, and without
a pause while rows keep arriving. On shutdown the buffer is flushed.

What a crash (``kill -9``) loses is what the buffer holds plus the chunk being written. The writer used to send
everything buffered as one ``executemany`` of up to 50,000 rows every interval, slower than a bank's batches arrive,
so the buffer, and with it what a crash lost, grew without limit: 59 % of the screenings answered in a batch run,
1.4 GB of memory with the table locked. Two limits now keep both bounded; past either, a screening is refused with
503 and ``Retry-After`` (counted, logged), never answered unlogged, and a buffered row is never dropped:

- lag: while the database is writing (a chunk committed within the last interval), the buffer takes no more rows
  than the writer, at its measured rate, writes in a quarter of the flush interval (``lag_rows``, at least two
  chunks). When screenings arrive faster than the database takes them, the excess is refused until the writer has
  caught up: the throughput of a worker is what its log can record. This is what makes the README's promise true;
  ``tests/reliability/test_kill_during_screening.py`` measures it under batch load. (A quarter, not the whole
  interval: a chunk can take a few hundred milliseconds on a busy machine, and the rate is an estimate.)
- capacity: while the database is not writing (an outage, a lock on ``screening_log``) rows are buffered up to
  ``REGISTRY_SCREENING_LOG_MAX_BUFFER``, so screening rides out a database restart, then refused. A crash in that
  state loses up to that many rows; ``/readyz`` is not ready from ``HIGH_WATER`` of it, and while writes fail.

Why refuse rather than drop (or answer and count the row lost): the log is the registry's record of what each bank
was told about which address, and an answer the regulator cannot account for is worse than a retry a second later.
Waiting for room instead of refusing is not on offer: the screening routes run on the event loop, where a wait
would stall every request of the worker, ``/healthz`` included.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from registry.db.engine import dedicated_engine
from registry.errors import Unavailable

if TYPE_CHECKING:
    from registry.settings import Settings

log = logging.getLogger("registry.screening")

Row = tuple[datetime, int, str, str, str, int, str, str]
"""(at, key_id, registry_version, chain, address, risk_score, risk_level, action): tuples are cheap to build
on the request path; the flusher turns them into rows."""

_COLUMNS = ("at", "key_id", "registry_version", "chain", "address", "risk_score", "risk_level", "action")


class ScreeningLogBusy(Unavailable):
    code = "screening_log_busy"


class ScreeningLogWriter:
    CHUNK_ROWS = 5_000
    """Rows per transaction: under load a commit every few tens of milliseconds, so little is in flight at a crash."""
    EAGER_ROWS = 2_000
    """Past this many buffered rows the writer starts at once instead of at its next tick."""
    LAG_CHECK_ROWS = 1_000
    """Below this many buffered rows the lag is not looked at: the single-screening hot path pays nothing for it."""
    HIGH_WATER = 0.5
    """Share of the capacity past which /readyz says not ready."""

    def __init__(
        self,
        engine: Engine,
        flush_seconds: float,
        max_buffer: int = 200_000,
        *,
        statement_timeout: float = 5.0,
        lock_timeout: float = 3.0,
    ) -> None:
        # A connection of its own: the writer never waits for (or takes) a request connection.
        self._engine = dedicated_engine(
            engine, statement_timeout=statement_timeout, lock_timeout=lock_timeout, pool_size=1, pool_timeout=10
        )
        self._postgres = engine.dialect.name == "postgresql"
        self._interval = flush_seconds
        self.capacity = max_buffer
        self.high_water = int(max_buffer * self.HIGH_WATER)
        self._buf: deque[Row] = deque()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self.written = 0
        self.refused_rows = {"lag": 0, "capacity": 0}
        self.refused_requests = {"lag": 0, "capacity": 0}
        self.write_failures = 0
        self.last_error: str | None = None
        self._failing_since: float | None = None
        self._last_commit = 0.0  # monotonic time of the last chunk committed
        self.write_rate = 0.0  # rows per second of recent full chunks, popping to commit
        self.lag_rows = 2 * self.CHUNK_ROWS  # what the writer writes in a quarter interval at that rate
        self._last_refusal_log = 0.0

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> ScreeningLogWriter:
        return cls(
            engine,
            settings.screening_log_flush_seconds,
            settings.screening_log_max_buffer,
            statement_timeout=settings.db_statement_timeout_seconds,
            lock_timeout=settings.db_lock_timeout_seconds,
        )

    @property
    def depth(self) -> int:
        return len(self._buf)

    def oldest_age(self) -> float:
        """Seconds since the oldest unwritten row was screened (0 when none waits)."""
        try:
            return max(0.0, time.time() - self._buf[0][0].timestamp())
        except IndexError:
            return 0.0

    def add(self, row: Row) -> None:
        buf = self._buf
        if len(buf) >= self.LAG_CHECK_ROWS:
            self._admit(1)
        buf.append(row)  # deque.append is atomic: no lock on the hot path
        if len(buf) >= self.EAGER_ROWS and not self._wake.is_set():
            self._wake.set()

    def extend(self, rows: Iterable[Row]) -> None:
        batch = rows if isinstance(rows, list) else list(rows)
        buf = self._buf
        if buf:
            self._admit(len(batch))
        buf.extend(batch)
        if len(buf) >= self.EAGER_ROWS and not self._wake.is_set():
            self._wake.set()

    def _admit(self, rows: int) -> None:
        depth = len(self._buf)
        if not depth:
            return  # an empty buffer takes any batch: one larger than a limit is slow, not impossible
        if depth + rows > self.capacity:
            self._refuse(rows, "capacity")
        if depth + rows > self.lag_rows and time.monotonic() - self._last_commit < self._interval:
            self._refuse(rows, "lag")

    def _refuse(self, rows: int, reason: str) -> None:
        self.refused_rows[reason] += rows
        self.refused_requests[reason] += 1
        now = time.monotonic()
        if now - self._last_refusal_log > 1.0:
            self._last_refusal_log = now
            log.warning(
                "screening log busy: screenings refused (503) until the database has taken the buffered rows",
                extra={"reason": reason, "buffered": len(self._buf), "capacity": self.capacity},
            )
        message = (
            "the screening log is behind the screenings"
            if reason == "lag"
            else "the screening log buffer is full: the database is not taking rows"
        )
        raise ScreeningLogBusy(
            f"{message}; nothing was screened, retry",
            details={"reason": reason, "buffered": len(self._buf), "capacity": self.capacity},
            retry_after=max(1, round(self._interval * 2)),
        )

    def problem(self) -> str | None:
        """Why this worker should not take screening traffic now, or None (read by /readyz)."""
        depth = len(self._buf)
        failing = time.monotonic() - self._failing_since if self._failing_since is not None else 0.0
        if failing > self._interval and depth:  # one failed write in passing is not worth a flap
            return f"cannot write to screening_log for {failing:.1f} s ({self.last_error}); {depth} rows buffered"
        if depth > self.high_water:
            return f"{depth} rows buffered, over the high-water mark of {self.high_water} (capacity {self.capacity})"
        if self._thread is not None and not self._thread.is_alive():
            return "the screening log writer thread has stopped"
        return None

    def _sql(self) -> str:
        if self._postgres:
            return f"COPY screening_log ({', '.join(_COLUMNS)}) FROM STDIN"
        marks = ", ".join(["?"] * len(_COLUMNS))
        return f"INSERT INTO screening_log ({', '.join(_COLUMNS)}) VALUES ({marks})"

    def _write(self, batch: list[Row]) -> None:
        sql = self._sql()
        with self._engine.begin() as conn:
            if self._postgres:
                raw: Any = conn.connection.dbapi_connection  # psycopg's own connection: COPY is not in the DBAPI
                with raw.cursor() as cur, cur.copy(sql) as copy:
                    for r in batch:
                        copy.write_row(r)
            else:
                # The driver's own executemany on tuples. UtcDateTime's storage form on SQLite is naive UTC text,
                # formatted once per distinct time (a batch shares one) rather than by the adapter per row.
                stamps: dict[datetime, str] = {}
                params = []
                for r in batch:
                    at = stamps.get(r[0])
                    if at is None:
                        at = stamps[r[0]] = r[0].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                    params.append((at, *r[1:]))
                conn.exec_driver_sql(sql, params)

    def flush(self) -> int:
        """Write everything buffered, chunk by chunk, until the buffer is empty; rows arriving meanwhile too."""
        with self._flush_lock:
            total = 0
            buf = self._buf
            while buf:
                started = time.monotonic()
                batch: list[Row] = []
                try:
                    for _ in range(self.CHUNK_ROWS):
                        batch.append(buf.popleft())
                except IndexError:
                    pass
                try:
                    self._write(batch)
                except Exception as e:
                    # Put the rows back in front: a database outage delays the log, it does not lose it.
                    buf.extendleft(reversed(batch))
                    self.write_failures += 1
                    self.last_error = type(e).__name__
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                    raise
                self._last_commit = time.monotonic()
                if len(batch) >= self.CHUNK_ROWS // 2:
                    rate = len(batch) / max(self._last_commit - started, 1e-6)
                    self.write_rate = rate if not self.write_rate else 0.7 * self.write_rate + 0.3 * rate
                    self.lag_rows = max(2 * self.CHUNK_ROWS, int(self.write_rate * self._interval / 4))
                self._failing_since = None
                self.last_error = None
                total += len(batch)
                self.written += len(batch)
            return total

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="screening-log", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("could not flush %d screening log rows at shutdown", len(self._buf))
        self._engine.dispose()

    def _run(self) -> None:
        pause = self._interval
        while not self._stop.is_set():
            # Every half interval: a row buffered just after a write still waits less than the interval.
            self._wake.wait(self._interval / 2)
            self._wake.clear()
            try:
                self.flush()
                pause = self._interval
            except Exception:
                log.exception("screening log flush failed; %d rows kept for the next try", len(self._buf))
                # Back off (up to 2 s) so a database that refuses at once is not hammered in a loop; short enough
                # that the buffer starts draining within two seconds of the database coming back.
                self._stop.wait(pause)
                pause = min(pause * 2, 2.0)
