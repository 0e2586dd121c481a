"""The screening log, written off the request path, in bounded memory, losing at most one flush interval in a crash.

Every screening is recorded (key, address, result, registry version), but a database round trip per screening
would cap throughput at the database's commit rate. Rows are buffered in memory and written by one thread of its own
with a connection of its own, in transactions of ``CHUNK_ROWS`` rows: every half
``REGISTRY_SCREENING_LOG_FLUSH_SECONDS``, at once when ``EAGER_ROWS`` rows wait, and without a pause while rows keep
arriving. On shutdown the buffer is flushed.

The writer stays off the request path's interpreter lock. A batch's rows are buffered as they come out of the
screening (one *segment*: its time, key and registry version once, and the list of (chain, address, score, level,
action)), so handing 10,000 rows over costs the request one append. The writer sends a segment as one JSON document
(``orjson``, C) in one statement that the database unpacks itself (``json_each`` on SQLite, ``jsonb_array_elements``
on PostgreSQL): no Python work per row, and on SQLite the whole insert runs inside one ``sqlite3_step``, during
which the ``sqlite3`` module releases the GIL. Before, the writer built one parameter tuple (SQLite) or one
``COPY`` row (PostgreSQL) per screening in Python, under the GIL the request path needs: with the first-sight mix of
``bench/screening.py`` the writer took 5.5 of the 21 us of process CPU an address cost. A separate writer process
was measured too (rows sent through a pipe as JSON): the request path paid the serialisation the writer thread now
pays outside it, and nothing else got faster (README "Benchmarks"). Single screenings (segments under
``BULK_ROWS`` rows) are not a document each (a statement per one-row document would cost more than the row): on
SQLite all of a chunk's go as one document with every column in it, on PostgreSQL through ``COPY``. Not
``executemany`` on SQLite: it gives the GIL up and takes it back around every row, and while the event loop is busy
each retake waits out the interpreter's switch interval.

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

import orjson
from sqlalchemy.engine import Engine

from registry.db.engine import dedicated_engine
from registry.errors import Unavailable

if TYPE_CHECKING:
    from registry.settings import Settings

log = logging.getLogger("registry.screening")

Row = tuple[datetime, int, str, str, str, int, str, str]
"""(at, key_id, registry_version, chain, address, risk_score, risk_level, action): one screening."""

Screened = tuple[str, str, int, str, str]
"""(chain, address, risk_score, risk_level, action): what a screening adds to its request's constants."""

Segment = tuple[datetime, int, str, list[Screened]]
"""(at, key_id, registry_version, rows): the screenings of one request, buffered as they are."""

_COLUMNS = ("at", "key_id", "registry_version", "chain", "address", "risk_score", "risk_level", "action")
_BULK_SQLITE = (
    f"INSERT INTO screening_log ({', '.join(_COLUMNS)}) SELECT ?, ?, ?, json_extract(r.value, '$[0]'), "
    "json_extract(r.value, '$[1]'), json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'), "
    "json_extract(r.value, '$[4]') FROM json_each(?) AS r"
)
_ROWS_SQLITE = (
    f"INSERT INTO screening_log ({', '.join(_COLUMNS)}) SELECT "
    + ", ".join(f"json_extract(r.value, '$[{i}]')" for i in range(len(_COLUMNS)))
    + " FROM json_each(?) AS r"
)
_COPY_POSTGRES = f"COPY screening_log ({', '.join(_COLUMNS)}) FROM STDIN"
_BULK_POSTGRES = (
    f"INSERT INTO screening_log ({', '.join(_COLUMNS)}) SELECT %s, %s, %s, r->>0, r->>1, (r->>2)::integer, r->>3, "
    "r->>4 FROM jsonb_array_elements(%s::jsonb) AS r"
)


class ScreeningLogBusy(Unavailable):
    code = "screening_log_busy"


class ScreeningLogWriter:
    CHUNK_ROWS = 5_000
    """Rows per transaction: under load a commit every few tens of milliseconds, so little is in flight at a crash."""
    EAGER_ROWS = 2_000
    """Past this many buffered rows the writer starts at once instead of at its next tick."""
    LAG_CHECK_ROWS = 1_000
    """Below this many buffered rows the lag is not looked at: the single-screening hot path pays nothing for it."""
    BULK_ROWS = 16
    """Segments of at least this many rows are written as one JSON document; smaller ones row by row."""
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
        self._buf: deque[Segment] = deque()
        self._depth = 0  # rows in the buffer (not counting a chunk being written)
        self._count = threading.Lock()  # keeps the buffer and its row count in step between threads
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
        return self._depth

    def oldest_age(self) -> float:
        """Seconds since the oldest unwritten row was screened (0 when none waits)."""
        try:
            return max(0.0, time.time() - self._buf[0][0].timestamp())
        except IndexError:
            return 0.0

    def add(self, row: Row) -> None:
        """One screening."""
        if self._depth >= self.LAG_CHECK_ROWS:
            self._admit(1)
        self._push([(row[0], row[1], row[2], [row[3:]])], 1)

    def add_batch(self, at: datetime, key_id: int, registry_version: str, rows: list[Screened]) -> None:
        """The screenings of one request (``rows`` is kept as it is, not copied: do not change it afterwards)."""
        if not rows:
            return
        if self._depth:
            self._admit(len(rows))
        self._push([(at, key_id, registry_version, rows)], len(rows))

    def extend(self, rows: Iterable[Row]) -> None:
        """Screenings one by one (``add_batch`` is cheaper for the screenings of one request)."""
        batch = rows if isinstance(rows, list) else list(rows)
        if not batch:
            return
        if self._depth:
            self._admit(len(batch))
        self._push([(r[0], r[1], r[2], [r[3:]]) for r in batch], len(batch))

    def _push(self, segments: list[Segment], rows: int) -> None:
        with self._count:
            self._buf.extend(segments)
            self._depth += rows
        if self._depth >= self.EAGER_ROWS and not self._wake.is_set():
            self._wake.set()

    def _take(self, limit: int) -> tuple[list[Segment], int]:
        """Up to ``limit`` rows from the front of the buffer, splitting a segment that does not fit."""
        chunk: list[Segment] = []
        taken = 0
        with self._count:
            buf = self._buf
            while taken < limit and buf:
                at, key_id, version, rows = buf.popleft()
                room = limit - taken
                if len(rows) > room:
                    buf.appendleft((at, key_id, version, rows[room:]))
                    rows = rows[:room]
                chunk.append((at, key_id, version, rows))
                taken += len(rows)
            self._depth -= taken
        return chunk, taken

    def _put_back(self, chunk: list[Segment], rows: int) -> None:
        with self._count:
            self._buf.extendleft(reversed(chunk))
            self._depth += rows

    def _admit(self, rows: int) -> None:
        depth = self._depth
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
                extra={"reason": reason, "buffered": self._depth, "capacity": self.capacity},
            )
        message = (
            "the screening log is behind the screenings"
            if reason == "lag"
            else "the screening log buffer is full: the database is not taking rows"
        )
        raise ScreeningLogBusy(
            f"{message}; nothing was screened, retry",
            details={"reason": reason, "buffered": self._depth, "capacity": self.capacity},
            retry_after=max(1, round(self._interval * 2)),
        )

    def problem(self) -> str | None:
        """Why this worker should not take screening traffic now, or None (read by /readyz)."""
        depth = self._depth
        failing = time.monotonic() - self._failing_since if self._failing_since is not None else 0.0
        if failing > self._interval and depth:  # one failed write in passing is not worth a flap
            return f"cannot write to screening_log for {failing:.1f} s ({self.last_error}); {depth} rows buffered"
        if depth > self.high_water:
            return f"{depth} rows buffered, over the high-water mark of {self.high_water} (capacity {self.capacity})"
        if self._thread is not None and not self._thread.is_alive():
            return "the screening log writer thread has stopped"
        return None

    def _write(self, chunk: list[Segment]) -> None:
        small = [seg for seg in chunk if len(seg[3]) < self.BULK_ROWS]
        bulk = [seg for seg in chunk if len(seg[3]) >= self.BULK_ROWS]
        with self._engine.begin() as conn:
            if self._postgres:
                raw: Any = conn.connection.dbapi_connection  # psycopg's own connection: COPY is not in the DBAPI
                with raw.cursor() as cur:
                    if small:
                        with cur.copy(_COPY_POSTGRES) as copy:
                            for at, key_id, version, rows in small:
                                for r in rows:
                                    copy.write_row((at, key_id, version, *r))
                    if bulk:
                        cur.executemany(
                            _BULK_POSTGRES, [(at, k, v, orjson.dumps(rows).decode()) for at, k, v, rows in bulk]
                        )
                return
            # UtcDateTime's storage form on SQLite is naive UTC text, formatted once per distinct time (a batch
            # shares one) rather than by the adapter per row.
            stamps: dict[datetime, str] = {}

            def stamp(at: datetime) -> str:
                text = stamps.get(at)
                if text is None:
                    text = stamps[at] = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                return text

            if small:
                # All the chunk's single screenings in one document, one statement: an ``executemany`` releases
                # and retakes the GIL around every row's step, and while the event loop keeps the GIL busy each
                # retake waits out the switch interval, so row by row the writer fell to ~1,500 rows/s under load
                # and screenings were refused (503) for lag at a rate one worker otherwise answers.
                rows_json = orjson.dumps([(stamp(at), k, v, *r) for at, k, v, rows in small for r in rows])
                conn.exec_driver_sql(_ROWS_SQLITE, (rows_json.decode(),))
            if bulk:
                conn.exec_driver_sql(
                    _BULK_SQLITE, [(stamp(at), k, v, orjson.dumps(rows).decode()) for at, k, v, rows in bulk]
                )

    def flush(self) -> int:
        """Write everything buffered, chunk by chunk, until the buffer is empty; rows arriving meanwhile too."""
        with self._flush_lock:
            total = 0
            while True:
                chunk, rows = self._take(self.CHUNK_ROWS)
                if not rows:
                    return total
                started = time.monotonic()
                try:
                    self._write(chunk)
                except Exception as e:
                    # Put the rows back in front: a database outage delays the log, it does not lose it.
                    self._put_back(chunk, rows)
                    self.write_failures += 1
                    self.last_error = type(e).__name__
                    if self._failing_since is None:
                        self._failing_since = time.monotonic()
                    raise
                self._last_commit = time.monotonic()
                if rows >= self.CHUNK_ROWS // 2:
                    rate = rows / max(self._last_commit - started, 1e-6)
                    self.write_rate = rate if not self.write_rate else 0.7 * self.write_rate + 0.3 * rate
                    self.lag_rows = max(2 * self.CHUNK_ROWS, int(self.write_rate * self._interval / 4))
                self._failing_since = None
                self.last_error = None
                total += rows
                self.written += rows

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
            log.exception("could not flush %d screening log rows at shutdown", self._depth)
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
                log.exception("screening log flush failed; %d rows kept for the next try", self._depth)
                # Back off (up to 2 s) so a database that refuses at once is not hammered in a loop; short enough
                # that the buffer starts draining within two seconds of the database coming back.
                self._stop.wait(pause)
                pause = min(pause * 2, 2.0)
