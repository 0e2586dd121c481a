"""All SQL of the scoring feature: loading the graph and the seeds in columns, storing scores, the lease.

Loading goes through the raw DB-API cursor and whole columns (``zip(*rows)``, ``map`` over a dict): a million
transfers must not become a million ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from chains.addresses import chain_family
from registry.cases.tables import Case, Listing, ListingStatus
from registry.db import state
from registry.db.types import utcnow
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.settings import ScoringSettings
from registry.scoring.tables import AddressScore, ScoringLease, ScoringRun
from registry.scoring.valuation import configured_prices, unknown_unit_price
from registry.transfers.tables import TransferRow

LEASE = "rescore"


def _as_dt(v: Any) -> datetime | None:
    from registry.screening.snapshot import _as_dt as parse

    return parse(v)


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


def priced_edges(
    conn: Connection, settings: ScoringSettings, nets: Sequence[str], after_id: int, upto_id: int
) -> list[tuple[str, str, float]]:
    """``(from, to, weight)`` of the transfers on ``nets`` with ids in ``(after_id, upto_id]``.

    The database prices each transfer and drops self-transfers, dust and unpriced tokens (a join against the price
    table), so only what the graph needs crosses into Python: moving a column costs more than the arithmetic on it.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    unknown = unknown_unit_price(settings)
    table = [(n, a, p) for (n, a), p in configured_prices(settings).items() if n in nets] or [("", "", 0.0)]
    join = "LEFT JOIN" if unknown > 0 else "JOIN"
    weight = f"t.value * COALESCE(p.unit, {mark})" if unknown > 0 else "t.value * p.unit"
    maybe_unknown = [unknown] if unknown > 0 else []
    raw: Any = conn.connection.dbapi_connection
    cur = raw.cursor()
    cur.execute(
        f"WITH price (network, asset, unit) AS (VALUES {', '.join([f'({mark}, {mark}, {mark})'] * len(table))}) "
        f"SELECT t.from_address, t.to_address, {weight} FROM transfer t {join} price p "
        f"ON p.network = t.network AND p.asset = t.asset "
        # "|| ''" keeps SQLite from scanning the network index instead of the id range of an incremental load.
        f"WHERE t.id > {mark} AND t.id <= {mark} AND t.network || '' IN ({', '.join([mark] * len(nets))}) "
        f"AND t.from_address <> t.to_address AND {weight} >= {mark} AND {weight} > 0",
        [
            *(x for row in table for x in row),
            *maybe_unknown,
            after_id,
            upto_id,
            *nets,
            *maybe_unknown,
            settings.scoring_dust_value,
            *maybe_unknown,
        ],
    )
    rows: list[tuple[str, str, float]] = cur.fetchall()
    cur.close()
    return rows


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
        until_dt = _as_dt(until)
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


def acquire_lease(session: Session, holder: str, seconds: float) -> bool:
    now = utcnow()
    res = session.execute(
        update(ScoringLease)
        .where(col(ScoringLease.name) == LEASE)
        .where(col(ScoringLease.holder).is_(None) | (col(ScoringLease.expires_at) < now))
        .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=seconds))
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, holder: str) -> None:
    session.execute(
        update(ScoringLease)
        .where(col(ScoringLease.name) == LEASE, col(ScoringLease.holder) == holder)
        .values(holder=None, acquired_at=None, expires_at=None)
    )


def lease_holder(session: Session) -> ScoringLease | None:
    return session.get(ScoringLease, LEASE)


def last_run(session: Session, *, done_only: bool = True) -> ScoringRun | None:
    q = select(ScoringRun).order_by(col(ScoringRun.id).desc()).limit(1)
    if done_only:
        q = q.where(col(ScoringRun.status) == "done")
    return session.execute(q).scalars().first()


def transfers_touching(
    conn: Connection, nets: Sequence[str], addresses: Sequence[str], direction: str
) -> list[tuple[Any, ...]]:
    """Every transfer into (incoming) or out of (outgoing) the given addresses: one query per traced hop."""
    t: Any = TransferRow.__table__.c  # type: ignore[attr-defined]
    column = t.to_address if direction == "incoming" else t.from_address
    q = (
        select(t.network, t.tx_id, t.idx, t.from_address, t.to_address, t.asset, t.amount, t.value, t.block_time)
        .where(t.network.in_(bindparam("nets", expanding=True)))
        .where(column.in_(bindparam("addrs", expanding=True)))
    )
    return [tuple(r) for r in conn.execute(q, {"nets": list(nets), "addrs": list(addresses)})]


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
