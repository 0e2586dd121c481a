"""The SQL of investigations: counterparties aggregated by the database, entities of the addresses shown.

The money trail itself (one grouped query per hop) and the transfers behind a path are read through the scoring's
queries (``registry.scoring.queries``), so their prices, dust threshold and rules are the scoring's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlmodel import col

from chains.addresses import chain_family
from chains.types import UNKNOWN_TIME
from registry.db.types import as_utc_datetime
from registry.entities.tables import Entity, EntityAddress

KNOWN_FROM = UNKNOWN_TIME + timedelta(days=1)

CHUNK_DIGITS = 12
CHUNKS = 7
"""SQLite has no integer wider than 64 bits and wei amounts pass 2**63 at 9.2 ETH, so an exact sum is taken in
12-digit slices of the amount text (7 slices cover the 80 digits the column holds), each summed as an integer
(safe up to 9 million transfers per group) and put together in Python. PostgreSQL sums ``numeric``."""


@dataclass(frozen=True, slots=True)
class AssetSum:
    """One counterparty's transfers in one direction and asset, as the database summed them."""

    network: str
    asset: str
    transfers: int
    raw: int  # exact sum in base units
    value: float  # reference value (priced as the scoring prices)


@dataclass(frozen=True, slots=True)
class CounterpartyRow:
    address: str
    direction: str  # in | out
    value: float
    transfers: int
    first_seen: datetime | None
    last_seen: datetime | None
    assets: list[AssetSum]


SORTS = {
    "value": ("p.value",),
    "count": ("p.n",),
    "first_seen": ("p.first IS NULL", "p.first"),
    "last_seen": ("p.last IS NULL", "p.last"),
}
"""Sort keys of the grouped counterparties; unknown times (null) last in either order."""


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def counterparty_page(
    conn: Connection,
    nets: Sequence[str],
    address: str,
    directions: Sequence[str],
    prices: dict[tuple[str, str], float],
    unknown_price: float,
    *,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[int, list[CounterpartyRow]]:
    """One page of the counterparties of ``address`` on ``nets`` and how many there are, in one statement.

    The database groups every transfer by counterparty, direction, network and asset (``g``), prices and sums
    those per counterparty and direction (``p``), sorts and cuts the page (``r``) and returns only the page's
    rows, one per asset: a hub with ten thousand counterparties sends fifty back, not ten thousand.
    Self-transfers (not a counterparty) and zero amounts (address-poisoning spam moves nothing) are left out; dust
    and unpriced tokens stay in (an investigator sees everything that moved; ``value`` says what it weighs).
    Each branch is one index range: ``ix_transfer_from`` / ``ix_transfer_to`` on (network, address).
    """
    mark = _mark(conn)
    pg = conn.dialect.name == "postgresql"
    nets_in = ", ".join([mark] * len(nets))
    # Times before the day after the sentinel are unknown ones (``chains.types.UNKNOWN_TIME``), however the text
    # form of the sentinel is spelled on SQLite.
    unknown: Any = KNOWN_FROM if pg else KNOWN_FROM.strftime("%Y-%m-%d")
    branches, params = [], []
    for direction in directions:
        mine, other = ("from_address", "to_address") if direction == "out" else ("to_address", "from_address")
        branches.append(
            f"SELECT t.{other} AS cp, '{direction}' AS dir, t.network, t.asset, t.amount, t.value, "
            f"CASE WHEN t.block_time < {mark} THEN NULL ELSE t.block_time END AS bt "
            f"FROM transfer t WHERE t.network IN ({nets_in}) AND t.{mine} = {mark} AND t.{other} <> {mark} "
            "AND t.amount <> '0'"
        )
        params += [unknown, *nets, address, address]
    exact = (
        ["SUM(CAST(x.amount AS numeric))::text AS s0"]
        if pg
        else [f"SUM(CAST(substr(x.amount, {-CHUNK_DIGITS * (k + 1)}, {CHUNK_DIGITS}) AS INTEGER)) AS s{k}"
              for k in range(CHUNKS)]
    )  # fmt: skip
    table = [(n, a, price) for (n, a), price in prices.items() if n in nets]
    price = " ".join(f"WHEN g.network = {mark} AND g.asset = {mark} THEN {mark}" for _ in table)
    price = f"CASE {price} ELSE {mark} END" if table else mark
    params += [*(x for row in table for x in row), unknown_price]
    key = ", ".join(f"{k} {'DESC' if descending and 'NULL' not in k else 'ASC'}" for k in SORTS[sort])
    params += [limit, offset]
    sums = ", ".join(f"w.s{k}" for k in range(len(exact)))
    sql = (
        "WITH g AS MATERIALIZED ("
        f"SELECT x.cp, x.dir, x.network, x.asset, COUNT(*) AS n, SUM(x.value) AS base, MIN(x.bt) AS first, "
        f"MAX(x.bt) AS last, {', '.join(exact)} "
        f"FROM ({' UNION ALL '.join(branches)}) x GROUP BY x.cp, x.dir, x.network, x.asset), "
        f"w AS MATERIALIZED (SELECT g.*, g.base * ({price}) AS value FROM g), "
        "p AS MATERIALIZED (SELECT w.cp, w.dir, SUM(w.value) AS value, SUM(w.n) AS n, MIN(w.first) AS first, "
        "MAX(w.last) AS last FROM w GROUP BY w.cp, w.dir), "
        f"r AS (SELECT p.*, ROW_NUMBER() OVER (ORDER BY {key}, p.cp, p.dir) AS rk FROM p "
        f"ORDER BY rk LIMIT {mark} OFFSET {mark}) "
        f"SELECT c.total, r.cp, r.dir, r.value, r.n, r.first, r.last, w.network, w.asset, w.n, w.value, {sums} "
        "FROM (SELECT COUNT(*) AS total FROM p) c LEFT JOIN r ON 1 = 1 "
        "LEFT JOIN w ON w.cp = r.cp AND w.dir = r.dir "
        "ORDER BY r.rk, w.value DESC, w.network, w.asset"
    )
    raw: Any = conn.connection.dbapi_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
    finally:
        cur.close()
    total = int(rows[0][0]) if rows else 0
    page: dict[tuple[str, str], CounterpartyRow] = {}
    for _, cp, d, value, n, first, last, network, asset, an, avalue, *parts in rows:
        if cp is None:
            continue
        row = page.get((cp, d))
        if row is None:
            row = page[(cp, d)] = CounterpartyRow(
                str(cp), str(d), float(value or 0.0), int(n), as_utc_datetime(first), as_utc_datetime(last), []
            )
        raw_sum = int(parts[0]) if pg else sum(int(x or 0) * 10 ** (CHUNK_DIGITS * k) for k, x in enumerate(parts))
        row.assets.append(AssetSum(str(network), str(asset), int(an), raw_sum, float(avalue or 0.0)))
    return total, list(page.values())


@dataclass(frozen=True, slots=True)
class EntityRow:
    address: str
    id: int
    name: str
    kind: str
    licensed: bool


def entities_of(conn: Connection, family: str, addresses: Sequence[str], chunk: int = 500) -> dict[str, EntityRow]:
    """The entity behind each address that has one, in the address space ``family``."""
    found: dict[str, EntityRow] = {}
    wanted = sorted(set(addresses))
    for i in range(0, len(wanted), chunk):
        rows = conn.execute(
            select(  # type: ignore[call-overload]
                EntityAddress.chain, EntityAddress.address, Entity.id, Entity.name, Entity.kind, Entity.licensed_service
            )
            .join(Entity, col(Entity.id) == col(EntityAddress.entity_id))
            .where(col(EntityAddress.address).in_(wanted[i : i + chunk]))
        ).all()
        for chain, address, eid, name, kind, licensed in rows:
            # Stored by family since entities link addresses so; a network name (eth) from before is read alike.
            if chain_family(str(chain)) == family:
                found[str(address)] = EntityRow(str(address), int(eid), str(name), str(kind), bool(licensed))
    return found
