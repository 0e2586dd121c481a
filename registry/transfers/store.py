"""Writing the transfer store: what sync, the crawl and file imports all go through.

Every batch is written with a handful of statements on the raw driver connection of the session's transaction,
whatever its size:

1. the batch's addresses and assets enter their dictionaries (``address``, ``transfer_asset``): one statement per
   address space inserts those missing (``INSERT … SELECT`` over a JSON array on SQLite, over a ``text[]`` on
   PostgreSQL), one reads the ids of all of them back;
2. the rows, with their ``from_id``, ``to_id`` and ``asset_id``, go in with ``executemany`` of ``INSERT … ON
   CONFLICT DO NOTHING`` (SQLite) or ``COPY`` (PostgreSQL: into the table, or through a temporary staging table
   and one ``INSERT … SELECT … ON CONFLICT DO NOTHING`` when rows exist already).

No statement per row and no ORM objects: SQLAlchemy's per-row bind processing cost more than the database's own
work here, and the storage target is measured against raw executemany and COPY. Idempotent on ``(network, tx_id,
idx)``: a file import and a sync of the same chain write the same keys. The dictionaries are read back in the
writer's own transaction, never cached across transactions: an id cached from a transaction that rolled back would
point at nothing, or (SQLite reuses the rowids of rolled-back rows) at another address.

``assign_missing_ids`` gives ids to rows written around the writer (migration 0017 for the rows stored before it,
the rescoring for any plain ``INSERT``), set-based, in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from chains.addresses import chain_family
from chains.types import UNKNOWN_TIME, Transfer, is_unknown_time
from registry.transfers.tables import UNASSIGNED

COLUMNS = (
    "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value, from_id, to_id, asset_id"
)
_SQLITE_INSERT = (
    f"INSERT INTO transfer ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (network, tx_id, idx) DO NOTHING"
)
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS transfer_stage (network text, tx_id text, idx integer, block bigint, "
    "block_time timestamptz, from_address text, to_address text, asset text, amount text, "
    "value double precision, from_id bigint, to_id bigint, asset_id integer) ON COMMIT DELETE ROWS"
)
_PG_MOVE = (
    f"INSERT INTO transfer ({COLUMNS}) SELECT {COLUMNS} FROM transfer_stage "
    "ON CONFLICT (network, tx_id, idx) DO NOTHING"
)

# Insert what is missing (NOT EXISTS first: on PostgreSQL an insert that hits ON CONFLICT still consumes a sequence
# value, and ids are node numbers, so gaps would cost memory), in a fixed order (two writers adding overlapping
# addresses then wait for each other instead of deadlocking), then read every id back. SQLite's CROSS JOIN keeps
# the JSON list as the outer loop (one index probe per address); a plain JOIN let it scan the dictionary instead.
_SQLITE_ADD_ADDRESSES = (
    "INSERT INTO address (family, address) SELECT ?, j.value FROM json_each(?) j "
    "WHERE NOT EXISTS (SELECT 1 FROM address a WHERE a.family = ? AND a.address = j.value) "
    "ORDER BY j.value ON CONFLICT (family, address) DO NOTHING"
)
_SQLITE_ADDRESS_IDS = (
    "SELECT a.address, a.id FROM json_each(?) j CROSS JOIN address a ON a.family = ? AND a.address = j.value"
)
# PostgreSQL does both in one round trip: the insert's RETURNING gives the new ids, the join the existing ones (the
# statement's snapshot does not see its own inserts, so the two never overlap). An address a concurrent writer
# committed after that snapshot is in neither; the writer then reads the missing ones once more.
_PG_ADDRESSES = (
    "WITH k(a) AS (SELECT DISTINCT unnest(%(a)s::text[])), "
    "ins AS (INSERT INTO address (family, address) SELECT %(f)s::text, k.a FROM k "
    "WHERE NOT EXISTS (SELECT 1 FROM address x WHERE x.family = %(f)s::text AND x.address = k.a) "
    "ORDER BY k.a ON CONFLICT (family, address) DO NOTHING RETURNING address, id) "
    "SELECT address, id FROM ins UNION ALL "
    "SELECT x.address, x.id FROM k JOIN address x ON x.family = %(f)s::text AND x.address = k.a"
)
_PG_ADDRESS_IDS = "SELECT address, id FROM address WHERE family = %(f)s::text AND address = ANY(%(a)s::text[])"


def sqlite_time(t: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime writes and parses (UtcDateTime stores UTC without a zone).
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")


_FILL = "UPDATE transfer SET block_time = :t WHERE network = :n AND block = :b AND block_time = :unknown"
"""Dates a block's unknown times; the (network, block) index finds the rows."""


def bind_time(session: Session, t: datetime) -> Any:
    """``t`` as this database compares it in a text statement (SQLite: the text form the ORM writes)."""
    return sqlite_time(t) if session.connection().dialect.name == "sqlite" else t


def fill_times(session: Session, known: dict[tuple[str, int], datetime]) -> int:
    """Give the stored transfers of each ``(network, block)`` in ``known`` whose time is unknown
    (``chains.types.UNKNOWN_TIME``) that block's time; returns how many rows were dated."""
    if not known:
        return 0
    unknown = bind_time(session, UNKNOWN_TIME)
    params = [{"t": bind_time(session, t), "n": n, "b": b, "unknown": unknown} for (n, b), t in known.items()]
    result = session.connection().execute(text(_FILL), params)
    return max(0, int(result.rowcount or 0))


def write_transfers(session: Session, transfers: Sequence[Transfer]) -> tuple[int, int]:
    """What sync, the crawl and file imports call: the rows in (``insert_transfers``) and, when some were stored
    already, those stored without a time (a file imported without its ``blocks.csv``) dated from the times this
    batch knows (one statement per distinct block, each an index probe). Returns (rows inserted, rows dated)."""
    inserted = insert_transfers(session, transfers)
    if inserted == len(transfers):
        return inserted, 0
    known = {(t.network, t.block): t.time for t in transfers if t.block > 0 and not is_unknown_time(t.time)}
    return inserted, fill_times(session, known)


def insert_transfers(session: Session, transfers: Sequence[Transfer]) -> int:
    """Idempotent on ``(network, tx_id, idx)``; returns how many rows were new."""
    if not transfers:
        return 0
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    sqlite = conn.dialect.name == "sqlite"
    families = {n: chain_family(n) for n in {t.network for t in transfers}}
    ids = {f: address_ids(raw, sqlite, f, _addresses(transfers, families, f)) for f in set(families.values())}
    assets = asset_ids(raw, sqlite, {(t.network, t.asset) for t in transfers})
    if sqlite:
        times: dict[datetime, str] = {}
        rows = []
        for t in transfers:
            ts = times.get(t.time)
            if ts is None:
                ts = times[t.time] = sqlite_time(t.time)
            known = ids[families[t.network]]
            rows.append(
                (t.network, t.tx_id, t.idx, t.block, ts, t.from_address, t.to_address, t.asset, str(t.amount),
                 float(t.amount), known[t.from_address], known[t.to_address], assets[t.network, t.asset])
            )  # fmt: skip
        cur = raw.cursor()
        try:
            cur.executemany(_SQLITE_INSERT, rows)
            return int(cur.rowcount)
        finally:
            cur.close()
    return _insert_postgres(raw, list(_pg_rows(transfers, families, ids, assets)))


def _addresses(transfers: Sequence[Transfer], families: dict[str, str], family: str) -> list[str]:
    if len(families) == 1:
        found = {t.from_address for t in transfers}
        found.update(t.to_address for t in transfers)
    else:
        found = {t.from_address for t in transfers if families[t.network] == family}
        found.update(t.to_address for t in transfers if families[t.network] == family)
    return sorted(found)


def address_ids(raw: Any, sqlite: bool, family: str, addresses: Sequence[str]) -> dict[str, int]:
    """Dictionary ids of ``addresses`` (normalised) in one address space, those missing added first."""
    if not addresses:
        return {}
    cur = raw.cursor()
    try:
        if sqlite:
            keys = json.dumps(addresses)
            cur.execute(_SQLITE_ADD_ADDRESSES, (family, keys, family))
            cur.execute(_SQLITE_ADDRESS_IDS, (keys, family))
        else:
            params: dict[str, Any] = {"f": family, "a": list(addresses)}
            cur.execute(_PG_ADDRESSES, params)
        found = dict(cur.fetchall())
        if not sqlite and len(found) != len(addresses):
            params["a"] = [a for a in addresses if a not in found]
            cur.execute(_PG_ADDRESS_IDS, params)
            found.update(cur.fetchall())
    finally:
        cur.close()
    if len(found) != len(set(addresses)):  # cannot happen short of a concurrent delete of dictionary rows
        raise RuntimeError(f"address dictionary: {len(set(addresses)) - len(found)} ids missing after insert")
    return found


def asset_ids(raw: Any, sqlite: bool, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Dictionary ids of ``(network, asset)`` pairs (a batch holds a few), those missing added first."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    mark = "?" if sqlite else "%s"
    values = ", ".join(f"({mark}, {mark})" for _ in wanted)
    flat = [x for pair in wanted for x in pair]
    cur = raw.cursor()
    try:
        if sqlite:  # SQLite names VALUES columns column1, column2 and knows no column aliases on a subquery
            cur.execute(
                f"INSERT INTO transfer_asset (network, asset) SELECT column1, column2 FROM (VALUES {values}) v "
                "WHERE NOT EXISTS (SELECT 1 FROM transfer_asset x WHERE x.network = v.column1 AND "
                "x.asset = v.column2) ORDER BY 1, 2 ON CONFLICT (network, asset) DO NOTHING",
                flat,
            )
            cur.execute(
                f"SELECT network, asset, id FROM transfer_asset WHERE (network, asset) IN (VALUES {values})", flat
            )
        else:  # one round trip, as for the addresses
            cur.execute(
                f"WITH v(n, a) AS (VALUES {values}), "
                "ins AS (INSERT INTO transfer_asset (network, asset) SELECT n, a FROM v WHERE NOT EXISTS "
                "(SELECT 1 FROM transfer_asset x WHERE x.network = v.n AND x.asset = v.a) ORDER BY n, a "
                "ON CONFLICT (network, asset) DO NOTHING RETURNING network, asset, id) "
                "SELECT network, asset, id FROM ins UNION ALL "
                "SELECT x.network, x.asset, x.id FROM v JOIN transfer_asset x ON x.network = v.n AND x.asset = v.a",
                flat,
            )
        found = {(str(n), str(a)): int(i) for n, a, i in cur.fetchall()}
        if len(found) != len(wanted):  # PostgreSQL: committed by a concurrent writer after the snapshot
            cur.execute(
                f"SELECT network, asset, id FROM transfer_asset WHERE (network, asset) IN (VALUES {values})", flat
            )
            found = {(str(n), str(a)): int(i) for n, a, i in cur.fetchall()}
        return found
    finally:
        cur.close()


def _pg_rows(
    transfers: Sequence[Transfer],
    families: dict[str, str],
    ids: dict[str, dict[str, int]],
    assets: dict[tuple[str, str], int],
) -> Iterable[tuple[Any, ...]]:
    for t in transfers:
        known = ids[families[t.network]]
        yield (t.network, t.tx_id, t.idx, t.block, t.time, t.from_address, t.to_address, t.asset,
               str(t.amount), float(t.amount), known[t.from_address], known[t.to_address],
               assets[t.network, t.asset])  # fmt: skip


def _insert_postgres(raw: Any, rows: list[tuple[Any, ...]]) -> int:
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
                for row in rows:
                    copy.write_row(row)
            cur.execute("RELEASE SAVEPOINT transfer_copy")
            return len(rows)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT transfer_copy")
        cur.execute(_PG_STAGE)
        with cur.copy(f"COPY transfer_stage ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(_PG_MOVE)
        inserted = int(cur.rowcount)
        cur.execute("DELETE FROM transfer_stage")
        return inserted


def has_unassigned(conn: Connection) -> bool:
    """Whether any transfer lacks its dictionary ids (the partial index ``ix_transfer_unassigned`` answers)."""
    return conn.execute(text(f"SELECT 1 FROM transfer WHERE {UNASSIGNED} LIMIT 1")).first() is not None


def assign_missing_ids(conn: Connection) -> int:
    """Give dictionary ids to every transfer written without them, in set-based SQL (no row crosses into Python);
    returns how many rows got them. Runs in the caller's transaction."""
    networks = [str(n) for (n,) in conn.execute(text(f"SELECT DISTINCT network FROM transfer WHERE {UNASSIGNED}"))]
    if not networks:
        return 0
    conn.execute(
        text(
            "INSERT INTO transfer_asset (network, asset) SELECT DISTINCT t.network, t.asset FROM transfer t "
            f"WHERE ({UNASSIGNED}) AND NOT EXISTS "
            "(SELECT 1 FROM transfer_asset x WHERE x.network = t.network AND x.asset = t.asset) "
            "ORDER BY 1, 2 ON CONFLICT (network, asset) DO NOTHING"
        )
    )
    done = 0
    postgres = conn.dialect.name == "postgresql"
    for network in sorted(networks):
        p = {"n": network, "f": chain_family(network)}
        conn.execute(
            text(
                "INSERT INTO address (family, address) SELECT CAST(:f AS TEXT), u.a FROM ("
                f"SELECT from_address AS a FROM transfer WHERE network = :n AND ({UNASSIGNED}) UNION "
                f"SELECT to_address FROM transfer WHERE network = :n AND ({UNASSIGNED})) AS u "
                "WHERE NOT EXISTS (SELECT 1 FROM address x WHERE x.family = CAST(:f AS TEXT) AND x.address = u.a) "
                "ORDER BY u.a ON CONFLICT (family, address) DO NOTHING"
            ),
            p,
        )
        if postgres:  # a join: correlated subqueries would run three index probes per row as a SubPlan
            sql = (
                "UPDATE transfer t SET from_id = f.id, to_id = o.id, asset_id = s.id "
                "FROM address f, address o, transfer_asset s "
                f"WHERE t.network = :n AND ({UNASSIGNED}) "
                "AND f.family = :f AND f.address = t.from_address AND o.family = :f AND o.address = t.to_address "
                "AND s.network = t.network AND s.asset = t.asset"
            )
        else:
            sql = (
                "UPDATE transfer SET "
                "from_id = (SELECT id FROM address WHERE family = :f AND address = transfer.from_address), "
                "to_id = (SELECT id FROM address WHERE family = :f AND address = transfer.to_address), "
                "asset_id = (SELECT id FROM transfer_asset s WHERE s.network = transfer.network "
                f"AND s.asset = transfer.asset) WHERE network = :n AND ({UNASSIGNED})"
            )
        done += int(conn.execute(text(sql), p).rowcount or 0)
    return done
