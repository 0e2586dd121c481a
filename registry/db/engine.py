"""One engine per process, SQLite (WAL) or PostgreSQL (psycopg 3), and every wait on it bounded.

SQLite transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads and then writes fails at once
with "database is locked" when another writer got in between, and no busy timeout helps with that. Taking the write
lock up front turns those failures into short waits.

Bounded waits. A table locked by a migration or a forgotten ``psql`` session used to hold every request that touched
it for as long as the lock lasted, and then every request waiting for a pooled connection behind them. Now the
connection defaults are the API's limits: PostgreSQL cancels a statement after ``REGISTRY_DB_STATEMENT_TIMEOUT_SECONDS``
and a lock wait after ``REGISTRY_DB_LOCK_TIMEOUT_SECONDS`` (``-c`` options at connect, so no round trip per request);
SQLite gives up on the write lock after ``REGISTRY_DB_BUSY_TIMEOUT_SECONDS``; a request gets a pooled connection
within ``REGISTRY_DB_POOL_TIMEOUT_SECONDS`` or not at all. ``registry.http.errors`` turns each of those into 503 with
``Retry-After``.

Work outside a request legitimately runs longer: rescoring reads a million transfers in one statement, a sanctions
import or a sync batch writes for a while, a migration builds indexes and may wait for a lock. Every transaction begun
outside an HTTP request therefore raises its own limits to ``REGISTRY_DB_JOB_TIMEOUT_SECONDS`` (``SET LOCAL`` through
``set_config``; SQLite: its busy timeout). "Inside a request" is what ``RequestObserver`` marks in ``in_request`` for
each HTTP request, so the request path pays nothing and a job nobody classified keeps working as before.

What must go on while the request pool is exhausted or a table is locked (the key cache, the version polls,
``/readyz``, the screening log writer) uses a ``dedicated_engine`` of its own with fixed short limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from registry.settings import Settings, get_settings

_engines: dict[str, Engine] = {}
_control: dict[str, Engine] = {}

in_request: ContextVar[bool] = ContextVar("registry_db_in_request", default=False)
"""True while an HTTP request is served (set by ``RequestObserver``): its transactions keep the short limits."""

CONTROL_STATEMENT_TIMEOUT = 2.0
CONTROL_LOCK_TIMEOUT = 1.0
CONTROL_POOL_TIMEOUT = 1.0
"""Limits of the control engine: a version poll, a key lookup or a readiness probe that cannot finish within two
seconds has an answer to report (not ready, 503), not a reason to wait."""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    s = settings or get_settings()
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy=s.db_busy_timeout_seconds, job=s.db_job_timeout_seconds)
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=s.db_pool_timeout_seconds,
        connect_args=_pg_connect_args(
            url, s.db_statement_timeout_seconds, s.db_lock_timeout_seconds, s.db_connect_timeout_seconds
        ),
    )
    job = _ms(s.db_job_timeout_seconds)
    job_limits = f"SELECT set_config('statement_timeout', '{job}', true), set_config('lock_timeout', '{job}', true)"

    @event.listens_for(engine, "begin")
    def _job_limits(conn: Any) -> None:
        if not in_request.get():
            conn.exec_driver_sql(job_limits)

    return engine


def _pg_connect_args(url: str, statement: float, lock: float, connect: int) -> dict[str, Any]:
    options = f"-c statement_timeout={_ms(statement)} -c lock_timeout={_ms(lock)}"
    given = make_url(url).query.get("options")
    if isinstance(given, str) and given:
        options = f"{given} {options}"
    return {"options": options, "connect_timeout": connect}


def _sqlite_engine(url: str, *, busy: float, job: float | None, dedicated: bool = False) -> Engine:
    """``job=None``: the busy timeout is ``busy`` in every context (dedicated engines)."""
    busy_ms = _ms(busy)
    job_ms = busy_ms if job is None else _ms(job)
    kwargs: dict[str, Any] = {"poolclass": NullPool} if dedicated else {}
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        want = busy_ms if in_request.get() else job_ms
        if conn.info.get("busy_timeout_ms", busy_ms) != want:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={want}")
        conn.info["busy_timeout_ms"] = want
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")

    return engine


def dedicated_engine(
    engine: Engine, *, statement_timeout: float, lock_timeout: float, pool_size: int, pool_timeout: float
) -> Engine:
    """An engine beside ``engine``'s pool, to the same database, with the given limits in every context.

    PostgreSQL: a pool of ``pool_size`` connections and no overflow, so it never competes with the request pool
    and never grows. SQLite: a connection per use (opening one costs microseconds; nothing to dispose)."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        return _sqlite_engine(url, busy=lock_timeout, job=None, dedicated=True)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        connect_args=_pg_connect_args(url, statement_timeout, lock_timeout, 2),
    )


def control_engine(engine: Engine) -> Engine:
    """The process's small engine for the key cache, the version polls, ``/readyz`` and ``/metrics``: revoking a
    key and answering a health probe must not wait for a free request connection or behind a locked table."""
    url = engine.url.render_as_string(hide_password=False)
    found = _control.get(url)
    if found is None:
        found = _control[url] = dedicated_engine(
            engine,
            statement_timeout=CONTROL_STATEMENT_TIMEOUT,
            lock_timeout=CONTROL_LOCK_TIMEOUT,
            pool_size=3,
            pool_timeout=CONTROL_POOL_TIMEOUT,
        )
    return found


def get_engine(url: str | None = None) -> Engine:
    url = url or get_settings().effective_database_url
    engine = _engines.get(url)
    if engine is None:
        engine = _engines[url] = make_engine(url)
    return engine


def dispose_engines() -> None:
    for engine in [*_engines.values(), *_control.values()]:
        engine.dispose()
    _engines.clear()
    _control.clear()


def read_only(engine: Engine) -> Engine:
    """The same engine for pure reads: on SQLite its transactions begin DEFERRED, so a long read (a snapshot
    load) does not hold the write lock and block listing approvals or a sync meanwhile."""
    return engine.execution_options(read_only=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any exception."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
