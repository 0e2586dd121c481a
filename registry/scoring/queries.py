"""All SQL of the scoring feature: loading the graph and the seeds in columns, storing scores.

The graph is read as integer and float columns (dictionary ids, ``registry.transfers.tables``) through the raw DB-API
connection: a million transfers must become three numpy arrays, not a million ORM objects or two million strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from chains.addresses import chain_family
from registry.cases.tables import Case, Listing, ListingStatus
from registry.db import state
from registry.db.types import as_utc_datetime
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.propagate import FloatArray, IntArray
from registry.scoring.settings import ScoringSettings
from registry.scoring.tables import AddressScore, ScoringRun
from registry.scoring.valuation import configured_prices, unit_prices, unknown_unit_price
from registry.transfers.tables import UNASSIGNED

LEASE = "rescore"
"""Lease name (``registry.db.lease``): one rescoring at a time, whoever starts it."""


def transfer_stats(conn: Connection, after_id: int = 0, upto_id: int | None = None) -> tuple[int, int]:
    """``(count, max id)`` of the transfers with ``after_id < id <= upto_id`` (all when unbounded)."""
    if after_id <= 0 and upto_id is None:
        # Unbounded: SQLite counts over its smallest index and reads max(id) off the primary key; a range condition
        # made it walk the whole table instead (0.3 s against 0.04 s at 10^6 rows).
        count = conn.execute(text("SELECT count(*) FROM transfer")).scalar_one()
        top = conn.execute(text("SELECT max(id) FROM transfer")).scalar_one()
        return int(count), int(top or 0)
    q = "SELECT count(*), max(id) FROM transfer WHERE id > :a" + ("" if upto_id is None else " AND id <= :b")
    count, top = conn.execute(text(q), {"a": after_id, "b": upto_id}).one()
    return int(count), int(top or 0)


def transfer_identity(conn: Connection, transfer_id: int) -> tuple[str, str, int] | None:
    """``(network, tx_id, idx)`` of one row: SQLite reuses the ids of deleted top rows, so an id alone is no proof."""
    row = conn.execute(text("SELECT network, tx_id, idx FROM transfer WHERE id = :i"), {"i": transfer_id}).first()
    return None if row is None else (str(row[0]), str(row[1]), int(row[2]))


def _priced(
    conn: Connection,
    settings: ScoringSettings,
    nets: Sequence[str],
    columns: str,
    where: str,
    params: Sequence[Any],
    *,
    network_expr: str = "t.network",
    tail: str = "",
) -> Any:
    """Transfers priced by the database, without self-transfers, dust and (unless
    REGISTRY_SCORING_UNKNOWN_ASSET_PRICE is set) unpriced tokens. ``{W}`` in ``columns`` is the weight.

    The scoring and the path tracing both read through here, so a path's shares are the scoring's shares.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    table = [(n, a, p) for (n, a), p in configured_prices(settings).items() if n in nets]
    # A CASE, not a join against a price table: planners put the small table outside and scan the transfers once
    # per price (measured 2.4x slower on SQLite); the CASE keeps it one pass.
    price = " ".join(f"WHEN t.network = {mark} AND t.asset = {mark} THEN {mark}" for _ in table)
    price = (
        f"CASE {price} ELSE {float(unknown_unit_price(settings))!r} END"
        if table
        else repr(float(unknown_unit_price(settings)))
    )
    sql = (
        f"SELECT {columns.replace('{W}', 't.w')} FROM ("
        f"SELECT t.*, t.value * ({price}) AS w FROM transfer t "
        f"WHERE {where.replace('?', mark)} AND {network_expr} IN ({', '.join([mark] * len(nets))}) "
        f"AND t.from_address <> t.to_address) AS t "
        f"WHERE t.w >= {mark} AND t.w > 0 {tail}"
    )
    raw: Any = conn.connection.dbapi_connection
    cur = raw.cursor()
    cur.execute(sql, [*(x for row in table for x in row), *params, *nets, settings.scoring_dust_value])
    return cur


def _all(cur: Any) -> list[tuple[Any, ...]]:
    try:
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows
    finally:
        cur.close()


LOAD_IDS = 262_144
"""Transfer ids per statement of a PostgreSQL graph load: each answers one packed ``bytea`` of about 6 MB."""

_PACKED = np.dtype([("src", ">i8"), ("dst", ">i8"), ("w", ">f8")])
"""``int8send(from_id) || int8send(to_id) || float8send(weight)``: PostgreSQL's binary send format, big-endian."""


def max_transfer_id(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM transfer")).scalar_one())


def address_bound(conn: Connection) -> int:
    """One more than the highest address id: node numbers are address ids, so this is the graph's size."""
    return int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM address")).scalar_one()) + 1


def asset_prices(conn: Connection, settings: ScoringSettings) -> dict[int, float]:
    """Price of one base unit per ``transfer_asset`` id (a few hundred rows: the assets, not the transfers)."""
    rows = [(int(i), str(n), str(a)) for i, n, a in conn.execute(text("SELECT id, network, asset FROM transfer_asset"))]
    prices = unit_prices(((n, a) for _, n, a in rows), settings)
    return {i: prices[(n, a)] for i, n, a in rows}


def _price(prices: dict[int, float], settings: ScoringSettings, mark: str) -> tuple[str, list[Any]]:
    """The unit price of a row's ``asset_id`` as SQL (an integer CASE over the priced assets, the rest at the
    unknown-asset price) and its parameters. Transfers are weighted ``value * price``: the same doubles the Spark
    engine multiplies and the path tracing (``_priced``) prices by network and asset."""
    unknown = float(unknown_unit_price(settings))
    priced = sorted((i, p) for i, p in prices.items() if p != unknown)
    if not priced:
        return mark, [unknown]
    case = " ".join(f"WHEN {mark} THEN {mark}" for _ in priced)
    return f"CASE t.asset_id {case} ELSE {mark} END", [*(x for pair in priced for x in pair), unknown]


def edge_arrays(
    conn: Connection, settings: ScoringSettings, prices: dict[int, float], after_id: int, upto_id: int
) -> tuple[IntArray, IntArray, FloatArray, int]:
    """``(from_id, to_id, weight)`` arrays of the transfers with ids in ``(after_id, upto_id]`` that count (priced,
    at or above the dust floor, not to oneself), and how many transfers that range holds whatever their price.

    No Python object per value on PostgreSQL: each statement answers one ``bytea`` of packed binary triples
    (``string_agg`` of ``int8send``/``float8send``) that numpy reads in place, and the range's row count with it.
    That beat ``COPY … TO STDOUT (FORMAT binary)``, which sends a protocol message per row that the client handles
    one by one (measured 1.2-1.6 s per million rows against 0.6-0.9 s, on this 2-core machine under load). SQLite
    has no bulk binary read: the cursor's rows go straight into a typed numpy array (``np.fromiter``), three numbers
    per row and no strings (measured 0.7-0.8 s per million rows; reading the two address strings instead was 1.5 s
    before turning them into numbers).
    """
    dust = settings.scoring_dust_value
    if conn.dialect.name == "postgresql":
        price, params = _price(prices, settings, "%s")
        packed = (
            "SELECT count(*), string_agg(int8send(t.from_id) || int8send(t.to_id) || float8send(t.w), ''::bytea) "
            "FILTER (WHERE t.from_id <> t.to_id AND t.asset_id IS NOT NULL AND t.w >= %s AND t.w > 0) "
            f"FROM (SELECT t.from_id, t.to_id, t.asset_id, t.value * {price} AS w FROM transfer t "
            "WHERE t.id > %s AND t.id <= %s) AS t"
        )
        raw: Any = conn.connection.dbapi_connection
        parts: list[NDArray[Any]] = []
        count = 0
        with raw.cursor(binary=True) as cur:
            for lo in range(after_id, upto_id, LOAD_IDS):
                cur.execute(packed, [dust, *params, lo, min(upto_id, lo + LOAD_IDS)])
                n, blob = cur.fetchone()
                count += int(n)
                if blob:
                    parts.append(np.frombuffer(blob, dtype=_PACKED))
        rows = np.concatenate(parts) if parts else np.zeros(0, dtype=_PACKED)
    else:
        price, params = _price(prices, settings, "?")
        sql = (
            f"SELECT t.from_id, t.to_id, t.w FROM (SELECT from_id, to_id, value * {price} AS w FROM transfer t "
            "WHERE t.id > ? AND t.id <= ? AND t.from_id <> t.to_id AND t.asset_id IS NOT NULL) AS t "
            "WHERE t.w >= ? AND t.w > 0"
        )
        lite: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            lite.execute(sql, [*params, after_id, upto_id, dust])
            rows = np.fromiter(lite, dtype=[("src", "i8"), ("dst", "i8"), ("w", "f8")])
        finally:
            lite.close()
        # SQLite counts a whole table over its smallest index; a range condition would walk the table itself.
        count = transfer_stats(conn)[0] if after_id <= 0 else transfer_stats(conn, after_id, upto_id)[0]
    return (
        rows["src"].astype(np.int64),
        rows["dst"].astype(np.int64),
        rows["w"].astype(np.float64),
        count,
    )


def edge_sums(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], addresses: Sequence[str], direction: str
) -> list[tuple[str, str, float]]:
    """``(from, to, total weight)`` of every counterpart of the given addresses: one grouped query per traced hop,
    as many rows as counterparts, however many transfers a hub has."""
    return [(frm, to, w) for frm, to, w, _ in edge_stats(conn, settings, nets, addresses, direction)]


def edge_stats(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], addresses: Sequence[str], direction: str
) -> list[tuple[str, str, float, int]]:
    """``edge_sums`` with the number of transfers behind each pair (the investigations trace draws it on edges)."""
    column = "t.to_address" if direction == "incoming" else "t.from_address"
    rows = _all(
        _priced(
            conn,
            settings,
            nets,
            "t.from_address, t.to_address, SUM({W}), COUNT(*)",
            f"{column} IN ({', '.join(['?'] * len(addresses))})",
            list(addresses),
            tail="GROUP BY t.from_address, t.to_address",
        )
    )
    return rows


def edge_transfers(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], froms: Sequence[str], tos: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The transfers from any of ``froms`` to any of ``tos``: ``(network, tx_id, idx, from, to, asset, amount,
    weight, block_time)``."""
    return _all(
        _priced(
            conn,
            settings,
            nets,
            "t.network, t.tx_id, t.idx, t.from_address, t.to_address, t.asset, t.amount, {W}, t.block_time",
            f"t.from_address IN ({', '.join(['?'] * len(froms))}) AND t.to_address IN ({', '.join(['?'] * len(tos))})",
            [*froms, *tos],
        )
    )


@dataclass(frozen=True)
class ListedRow:
    key: str
    category: str
    valid_until: datetime | None


def live_listings(conn: Connection, now: datetime) -> list[ListedRow]:
    """Active listings not past ``valid_until`` (a listing may expire before a job marks it expired)."""
    rows = conn.execute(
        select(Listing.family, Listing.address, Listing.category, Listing.valid_until).where(  # type: ignore[call-overload]
            col(Listing.status) == ListingStatus.active.value
        )
    ).all()
    out = []
    for family, address, category, until in rows:
        until_dt = as_utc_datetime(until)
        if until_dt is not None and until_dt <= now:
            continue
        out.append(ListedRow(f"{family}:{address}", str(category), until_dt))
    return out


def licensed_keys(conn: Connection) -> set[str]:
    rows = conn.execute(
        select(EntityAddress.chain, EntityAddress.address)  # type: ignore[call-overload]
        .join(Entity, col(Entity.id) == col(EntityAddress.entity_id))
        .where(col(Entity.licensed_service).is_(True))
    ).all()
    return {f"{chain_family(c)}:{a}" for c, a in rows}


ID_BATCH = 10_000
"""Keys or ids per lookup statement (SQLite binds one JSON text, PostgreSQL one array: no parameter limit)."""


def ids_of(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    """Dictionary ids of ``family:address`` keys, for those that have one (an address no transfer names has none)."""
    by_family: dict[str, list[str]] = {}
    for key in keys:
        family, _, address = key.partition(":")
        by_family.setdefault(family, []).append(address)
    out: dict[str, int] = {}
    sqlite = conn.dialect.name == "sqlite"
    sql = text(
        # CROSS JOIN: SQLite keeps the JSON list outside (an index probe per key) instead of scanning the dictionary.
        "SELECT a.address, a.id FROM json_each(:addresses) j CROSS JOIN address a ON a.family = :family "
        "AND a.address = j.value"
        if sqlite
        else "SELECT address, id FROM address WHERE family = :family AND address = ANY(:addresses)"
    )
    for family, addresses in by_family.items():
        for i in range(0, len(addresses), ID_BATCH):
            part = addresses[i : i + ID_BATCH]
            rows = conn.execute(sql, {"family": family, "addresses": json.dumps(part) if sqlite else part})
            out.update((f"{family}:{a}", int(n)) for a, n in rows)
    return out


def keys_of(conn: Connection, ids: IntArray) -> list[tuple[str, str]]:
    """``(family, address)`` of each dictionary id; ``ids`` ascending (the exposed nodes), answered in that order."""
    if len(ids) == 0:
        return []
    sqlite = conn.dialect.name == "sqlite"
    sql = (
        "SELECT a.family, a.address FROM json_each(?) j CROSS JOIN address a ON a.id = j.value ORDER BY a.id"
        if sqlite
        else "SELECT family, address FROM address WHERE id = ANY(%s) ORDER BY id"
    )
    found: list[tuple[str, str]] = []
    wanted = ids.tolist()
    cur: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for i in range(0, len(wanted), ID_BATCH * 10):
            part = wanted[i : i + ID_BATCH * 10]
            cur.execute(sql, [json.dumps(part) if sqlite else part])
            found.extend(cur.fetchall())
    finally:
        cur.close()
    if len(found) != len(wanted):  # ids come from the dictionary, which never loses a row
        raise RuntimeError(f"address dictionary: {len(wanted) - len(found)} of {len(wanted)} ids not found")
    return found


def counters(conn: Connection) -> dict[str, int]:
    return {str(n): int(v) for n, v in conn.execute(text("SELECT name, value FROM registry_state"))}


def store_scores(session: Session, run_id: int, rows: Sequence[tuple[str, str, int, str, str, str]]) -> int:
    """Replace every score in the caller's transaction; returns the new registry counter value.

    Rows are ``(family, address, score, level, action, exposure_json)``. PostgreSQL gets COPY, SQLite a plain
    ``executemany``: both several times faster than an ORM insert of 10^5 rows.
    """
    conn = session.connection()
    conn.execute(text("DELETE FROM address_score"))
    cols = "family, address, risk_score, risk_level, action, exposure, run_id"
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY address_score ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((*r, run_id))
    else:
        cur = raw.cursor()
        cur.executemany(f"INSERT INTO address_score ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", _with_run(rows, run_id))
        cur.close()
    return state.bump(session, state.REGISTRY)


def _with_run(rows: Sequence[tuple[Any, ...]], run_id: int) -> Iterator[tuple[Any, ...]]:
    for r in rows:
        yield (*r, run_id)


def load_scores(conn: Connection) -> list[tuple[str, str, int, str, str, str]]:
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute("SELECT family, address, risk_score, risk_level, action, exposure FROM address_score")
    rows = cur.fetchall()
    cur.close()
    return list(rows)


def last_run(session: Session, *, done_only: bool = True) -> ScoringRun | None:
    q = select(ScoringRun).order_by(col(ScoringRun.id).desc()).limit(1)
    if done_only:
        q = q.where(col(ScoringRun.status) == "done")
    return session.execute(q).scalars().first()


_NETWORKS = text(
    "SELECT n.network FROM (SELECT network FROM transfer_asset "
    f"UNION SELECT network FROM transfer WHERE {UNASSIGNED}) n "
    "WHERE EXISTS (SELECT 1 FROM transfer t WHERE t.network = n.network) ORDER BY n.network"
)


def family_networks(conn: Connection, family: str) -> list[str]:
    """The family's networks that have transfers, as ``SELECT DISTINCT network FROM transfer`` would answer, without
    reading the transfer table (every address view asks). Every transfer's network is in the asset dictionary
    (``transfer_asset``, written before the transfers that use it) or, for a row written around the store's writer,
    among the rows without ids (the partial index ``ix_transfer_unassigned``); a network whose transfers a reorg
    deleted keeps its assets, so each candidate must still have a transfer (one probe of the ``(network, tx_id,
    idx)`` key)."""
    return [str(n) for (n,) in conn.execute(_NETWORKS) if chain_family(str(n)) == family]


def listings_with_cases(session: Session, family: str, address: str) -> list[tuple[Listing, str | None, str | None]]:
    """Every listing of the address, whatever its status (an investigator needs the history), with its case."""
    rows = session.execute(
        select(Listing, Case.number, Case.title)  # type: ignore[call-overload]
        .outerjoin(Case, col(Case.id) == col(Listing.case_id))
        .where(col(Listing.family) == family, col(Listing.address) == address)
        .order_by(col(Listing.id))
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def count_scores(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(AddressScore)).scalar_one())


def first_transfer_id(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(min(id), 0) FROM transfer")).scalar_one())
