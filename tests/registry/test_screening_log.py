"""The screening log writer on both databases: every column of single and batch screenings arrives, a batch
larger than a chunk is split, a failed write loses and duplicates nothing, a full buffer refuses a batch whole."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.db.engine import make_engine
from registry.db.types import as_utc_datetime
from registry.screening.log import Screened, ScreeningLogBusy, ScreeningLogWriter

AT = datetime(2026, 11, 30, 9, 15, 42, 123456, tzinfo=UTC)


def _rows(prefix: str, n: int, level: str = "low") -> list[Screened]:
    score, action = {"low": (0, "allow"), "high": (70, "review"), "severe": (100, "block")}[level]
    return [("evm", f"0x{prefix}{i:0{40 - len(prefix)}x}", score, level, action) for i in range(n)]


def _logged(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT at, key_id, registry_version, chain, address, risk_score, risk_level, action "
                "FROM screening_log ORDER BY address"
            )
        ).all()
    return [(as_utc_datetime(r[0]), *r[1:]) for r in rows]


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """For what does not depend on the database (buffering, chunking): SQLite alone."""
    path = tmp_path / "log.sqlite3"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


def _writer(engine: Engine, **kw: Any) -> ScreeningLogWriter:
    return ScreeningLogWriter(engine, 0.1, kw.pop("max_buffer", 200_000), lock_timeout=0.3, **kw)


def test_single_and_batch_screenings_arrive_with_every_column(engine: Engine) -> None:
    w = _writer(engine)
    later = AT + timedelta(seconds=1)
    w.add((AT, 7, "41", "tron", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre", 100, "severe", "block"))
    big = _rows("b", 40, "high")  # at least BULK_ROWS: one JSON document
    small = _rows("c", 3)  # fewer: row by row
    w.add_batch(later, 8, "42", big)
    w.add_batch(AT, 9, "42", small)
    w.extend([(later, 10, "43", "btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 0, "low", "allow")])
    assert w.depth == 1 + 40 + 3 + 1
    assert w.flush() == 45
    assert w.depth == 0 and w.written == 45
    expected = sorted(
        [(AT, 7, "41", "tron", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre", 100, "severe", "block")]
        + [(later, 8, "42", *r) for r in big]
        + [(AT, 9, "42", *r) for r in small]
        + [(later, 10, "43", "btc", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 0, "low", "allow")],
        key=lambda r: r[4],
    )
    assert _logged(engine) == expected
    w.stop()


def test_a_batch_larger_than_a_chunk_is_written_in_chunks_in_order(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    w = _writer(engine)
    w.CHUNK_ROWS = 20  # type: ignore[misc]  # a small chunk, so a batch of 50 spans three
    chunks: list[list[str]] = []
    write = w._write

    def recording(chunk: Any) -> None:
        chunks.append([row[1] for seg in chunk for row in seg[3]])
        write(chunk)

    w._write = recording  # type: ignore[method-assign]
    first, second = _rows("a", 50), _rows("b", 30)
    w.add_batch(AT, 1, "1", first)
    w.add_batch(AT, 1, "1", second)
    assert w.flush() == 80
    assert [len(c) for c in chunks] == [20, 20, 20, 20]
    assert [a for c in chunks for a in c] == [r[1] for r in first + second]
    assert len(_logged(engine)) == 80
    w.stop()


@contextmanager
def _table_locked(db_url: str) -> Iterator[None]:
    """Another session holds ``screening_log`` (PostgreSQL) or the database's write lock (SQLite)."""
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(db_url).database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    eng = create_engine(db_url, poolclass=NullPool)
    try:
        with eng.connect() as c:
            c.execute(text("LOCK TABLE screening_log IN ACCESS EXCLUSIVE MODE"))
            yield
            c.rollback()
    finally:
        eng.dispose()


def test_a_write_the_database_refuses_keeps_every_row_for_the_next_one(db_url: str, engine: Engine) -> None:
    w = _writer(engine)
    batch = _rows("d", 30)
    w.add((AT, 1, "1", "evm", "0x" + "e" * 40, 0, "low", "allow"))
    w.add_batch(AT, 1, "1", batch)
    with _table_locked(db_url), pytest.raises(Exception):  # noqa: B017, PT011  # the driver's lock timeout
        w.flush()
    assert w.depth == 31 and w.write_failures == 1 and w.last_error
    assert _logged(engine) == []
    assert w.flush() == 31
    assert len(_logged(engine)) == 31 and w.depth == 0 and w.last_error is None
    w.stop()
    with engine.begin() as c:
        c.execute(text("DELETE FROM screening_log"))
    _a_chunk_is_all_or_nothing(engine)


def _a_chunk_is_all_or_nothing(engine: Engine) -> None:
    """The row-by-row part and the JSON part of a chunk share one transaction: a row the database refuses in the
    second takes the first back with it, and the rows stay buffered in their order."""
    w = _writer(engine)
    batch: list[Any] = _rows("f", 20)
    w.add((AT, 1, "1", "evm", "0x" + "1" * 40, 0, "low", "allow"))
    poisoned = batch[7]
    batch[7] = ("evm", None, 0, "low", "allow")  # NOT NULL address: refused by the database
    w.add_batch(AT, 1, "1", batch)
    with pytest.raises(Exception):  # noqa: B017, PT011  # IntegrityError, by driver
        w.flush()
    assert _logged(engine) == [] and w.depth == 21
    batch[7] = poisoned  # the buffered segment is the list handed over (not a copy)
    assert w.flush() == 21
    assert [r[4] for r in _logged(engine)] == sorted(["0x" + "1" * 40] + [r[1] for r in batch])
    w.stop()


def test_a_full_buffer_refuses_a_batch_whole(sqlite_engine: Engine) -> None:
    w = _writer(sqlite_engine, max_buffer=100)
    w.add_batch(AT, 1, "1", _rows("a", 60))
    with pytest.raises(ScreeningLogBusy) as refused:
        w.add_batch(AT, 1, "1", _rows("b", 50))
    assert refused.value.details["reason"] == "capacity" and refused.value.retry_after
    assert w.depth == 60 and w.refused_rows["capacity"] == 50
    w.add_batch(AT, 1, "1", _rows("c", 40))  # what fits is taken
    assert w.depth == 100
    assert w.flush() == 100
    w.stop()


def test_the_writer_thread_writes_what_is_added_and_flushes_at_stop(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    w = _writer(engine)
    w.start()
    now = datetime.now(UTC)
    w.add_batch(now, 3, "5", _rows("a", 2_500))  # past EAGER_ROWS: written at once
    deadline = time.monotonic() + 10
    while w.written < 2_500:
        assert time.monotonic() < deadline, "the writer thread did not write the batch"
        time.sleep(0.02)
    assert w.oldest_age() == 0.0
    w.add((now, 3, "5", "evm", "0x" + "f" * 40, 0, "low", "allow"))
    w.stop()  # flushes what is left
    assert len(_logged(engine)) == 2_501 and w.depth == 0


def test_single_screenings_are_written_while_another_thread_keeps_the_gil_busy(engine: Engine) -> None:
    """The request path is an event loop that keeps the GIL busy. A writer that gives the GIL up around every row
    (``executemany`` on SQLite) waits out the interpreter's switch interval at each retake: 20,000 single
    screenings then took minutes to write, and under load the buffer's lag refused screenings (503)."""
    w = _writer(engine)
    for i in range(20_000):
        w.add((AT, 1, "1", "evm", f"0x{i:040x}", 0, "low", "allow"))
    stop = threading.Event()

    def event_loop() -> None:
        while not stop.is_set():
            sum(range(1_000))

    busy = threading.Thread(target=event_loop)
    busy.start()
    try:
        started = time.monotonic()
        assert w.flush() == 20_000
        took = time.monotonic() - started
    finally:
        stop.set()
        busy.join()
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM screening_log")).scalar_one() == 20_000
    assert took < 5.0, f"20,000 single screenings took {took:.1f} s to write beside a busy thread"
    w.stop()
