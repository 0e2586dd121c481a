"""All SQL of the scoring feature: loading the graph and the seeds in columns, storing scores.

Loading goes through the raw DB-API cursor and whole columns (``zip(*rows)``, ``map`` over a dict): a million
transfers must not become a million ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from chains.addresses import chain_family
from registry.cases.tables import Case, Listing, ListingStatus
from registry.db import state
from registry.db.types import as_utc_datetime
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.settings import ScoringSettings
from registry.scoring.tables import AddressScore, ScoringRun
from registry.scoring.valuation import configured_prices, unknown_unit_price
from registry.transfers.tables import TransferRow

LEASE = "rescore"
"""Lease name (``registry.db.lease``): one rescoring at a time, whoever starts it."""


def networks(conn: Connection) -> list[str]:
    return [str(n) for n in conn.execute(select(TransferRow.network).distinct()).scalars()]  # type: ignore[call-overload]


def transfer_stats(conn: Connection, after_id: int = 0, upto_id: int | None = None) -> tuple[int, int]:
    """``(count, max id)`` of the transfers with ``after_id < id <= upto_id`` (all when unbounded)."""
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


CHUNK = 200_000
"""Rows per fetch of a graph load: a million row tuples at once would double the load's peak memory."""


def _chunks(cur: Any) -> Iterator[list[tuple[Any, ...]]]:
    try:
        while rows := cur.fetchmany(CHUNK):
            yield rows
    finally:
        cur.close()


def priced_edges(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], after_id: int, upto_id: int
) -> Iterator[list[tuple[str, str, float]]]:
    """``(from, to, weight)`` of the transfers on ``nets`` with ids in ``(after_id, upto_id]``: only what the graph
    needs crosses into Python, moving a column costs more than the arithmetic on it."""
    cur = _priced(
        conn,
        settings,
        nets,
        "t.from_address, t.to_address, {W}",
        "t.id > ? AND t.id <= ?",
        [after_id, upto_id],
        # "|| ''" keeps SQLite from scanning the network index instead of the id range of an incremental load.
        network_expr="t.network || ''",
    )
    return _chunks(cur)


def edge_sums(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], addresses: Sequence[str], direction: str
) -> list[tuple[str, str, float]]:
    """``(from, to, total weight)`` of every counterpart of the given addresses: one grouped query per traced hop,
    as many rows as counterparts, however many transfers a hub has."""
    column = "t.to_address" if direction == "incoming" else "t.from_address"
    rows = _all(
        _priced(
            conn,
            settings,
            nets,
            "t.from_address, t.to_address, SUM({W})",
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


def family_networks(conn: Connection, family: str) -> list[str]:
    return [n for n in networks(conn) if chain_family(n) == family]


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
