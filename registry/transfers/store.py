"""Writing the transfer store: what sync, the crawl and file imports all go through.

Transfers are written with one statement per batch on the raw driver connection of the session's transaction:
SQLite gets ``executemany`` of ``INSERT … ON CONFLICT DO NOTHING``; PostgreSQL gets ``COPY`` (into the table, or
through a temporary staging table and one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` when rows exist already).
SQLAlchemy's per-row bind processing cost more than the database's own work here, and the storage target is
measured against raw executemany and COPY. Idempotent on ``(network, tx_id, idx)``: a file import and a sync of
the same chain write the same keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from chains.types import Transfer

COLUMNS = "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value"
_SQLITE_INSERT = (
    f"INSERT INTO transfer ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (network, tx_id, idx) DO NOTHING"
)
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS transfer_stage (network text, tx_id text, idx integer, block bigint, "
    "block_time timestamptz, from_address text, to_address text, asset text, amount text, "
    "value double precision) ON COMMIT DELETE ROWS"
)
_PG_MOVE = (
    f"INSERT INTO transfer ({COLUMNS}) SELECT {COLUMNS} FROM transfer_stage "
    "ON CONFLICT (network, tx_id, idx) DO NOTHING"
)


def sqlite_time(t: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime writes and parses (UtcDateTime stores UTC without a zone).
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_transfers(session: Session, transfers: Sequence[Transfer]) -> int:
    """Idempotent on ``(network, tx_id, idx)``; returns how many rows were new."""
    if not transfers:
        return 0
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        times: dict[datetime, str] = {}
        rows = []
        for t in transfers:
            ts = times.get(t.time)
            if ts is None:
                ts = times[t.time] = sqlite_time(t.time)
            rows.append(
                (t.network, t.tx_id, t.idx, t.block, ts, t.from_address, t.to_address, t.asset, str(t.amount),
                 float(t.amount))
            )  # fmt: skip
        cur = raw.cursor()
        try:
            cur.executemany(_SQLITE_INSERT, rows)
            return int(cur.rowcount)
        finally:
            cur.close()
    return _insert_postgres(raw, transfers)


def _pg_rows(transfers: Sequence[Transfer]) -> Iterable[tuple[Any, ...]]:
    for t in transfers:
        yield (t.network, t.tx_id, t.idx, t.block, t.time, t.from_address, t.to_address, t.asset,
               str(t.amount), float(t.amount))  # fmt: skip


def _insert_postgres(raw: Any, transfers: Sequence[Transfer]) -> int:
    """COPY straight into the table under a savepoint: a forward sync only ever writes new rows. When a row
    exists already (a re-sync, a crawl overlapping the sync) COPY fails as a whole; then the batch goes through a
    staging table and ``ON CONFLICT DO NOTHING``."""
    import psycopg

    with raw.cursor() as cur:
        # Plain SQL savepoint: psycopg opens the session's transaction before it if none is open yet, so the
        # rows stay part of the caller's unit of work (the cursor and the counter commit with them).
        cur.execute("SAVEPOINT transfer_copy")
        try:
            with cur.copy(f"COPY transfer ({COLUMNS}) FROM STDIN") as copy:
                for row in _pg_rows(transfers):
                    copy.write_row(row)
            cur.execute("RELEASE SAVEPOINT transfer_copy")
            return len(transfers)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT transfer_copy")
        cur.execute(_PG_STAGE)
        with cur.copy(f"COPY transfer_stage ({COLUMNS}) FROM STDIN") as copy:
            for row in _pg_rows(transfers):
                copy.write_row(row)
        cur.execute(_PG_MOVE)
        inserted = int(cur.rowcount)
        cur.execute("DELETE FROM transfer_stage")
        return inserted
