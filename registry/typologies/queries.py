"""All SQL of the typologies feature: the transfer columns the indicators need, the known exchangers and licensed
addresses, storing what a rescoring found (in bulk), and what the snapshot, the candidates and the reports read.

The transfer load reads integer and float columns only (the address dictionary's ids, ``registry.transfers``)
through the raw DB-API cursor into typed numpy arrays: a million transfers must become arrays, not a million ORM
objects or two million address strings. Prices, dust and self-transfers follow the scoring's rules
(``registry.scoring.valuation``), so an indicator's "value" is the value the exposure was computed on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from chains.addresses import chain_family
from registry.cases.tables import Listing, ListingStatus
from registry.db.types import UtcDateTime, as_utc_datetime
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.settings import ScoringSettings
from registry.scoring.valuation import UNKNOWN_DECIMALS, unit_prices
from registry.typologies.indicators import Transfers

_NOW = bindparam("now", type_=UtcDateTime())
"""Times bound through the column type: SQLite keeps them as UTC text without a zone, PostgreSQL as timestamptz."""

CHUNK = 200_000
"""Rows per fetch: a million row tuples at once would double the load's peak memory."""


@dataclass(frozen=True)
class Loaded:
    """The transfer columns as arrays over node ids, which are the address dictionary's ids (``address`` table,
    filled by the transfer store's writer; the rescoring gives any row written around it its ids first)."""

    transfers: Transfers


def networks(conn: Connection) -> list[str]:
    return [str(n) for n in conn.execute(text("SELECT DISTINCT network FROM transfer_asset")).scalars()]


def _decimals(settings: ScoringSettings) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for key, p in settings.scoring_assets.items():
        network, asset = key.split(":", 1)
        network = network.lower()
        stored = asset.lower() if chain_family(network) == "evm" or asset.lower() == "native" else asset
        out[(network, stored)] = p.decimals
    return out


def _epoch(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return "CAST(EXTRACT(EPOCH FROM block_time) AS DOUBLE PRECISION)"
    return "(julianday(block_time) - 2440587.5) * 86400.0"


_ROW = np.dtype([("src", "i8"), ("dst", "i8"), ("asset", "i8"), ("value", "f8"), ("time", "f8")])


def load_transfers(conn: Connection, settings: ScoringSettings) -> Loaded:
    """Every transfer as typed columns (no string per row): sender and receiver ids, the reference value at the
    scoring's prices, the amount in the asset's own unit and the time; self-transfers, dust and unpriced tokens
    dropped as the scoring drops them."""
    n = address_bound(conn)
    assets = [
        (int(i), str(net), str(a)) for i, net, a in conn.execute(text("SELECT id, network, asset FROM transfer_asset"))
    ]
    top = max((i for i, _, _ in assets), default=0) + 1
    price = np.zeros(top)
    unit = np.full(top, 10.0**UNKNOWN_DECIMALS)
    prices = unit_prices(((net, a) for _, net, a in assets), settings)
    decimals = _decimals(settings)
    for i, net, a in assets:
        price[i] = prices[(net, a)]
        unit[i] = 10.0 ** decimals.get((net, a), UNKNOWN_DECIMALS)
    sql = (
        f"SELECT from_id, to_id, asset_id, value, {_epoch(conn)} FROM transfer "
        "WHERE from_id IS NOT NULL AND to_id IS NOT NULL AND asset_id IS NOT NULL AND from_id <> to_id"
    )
    raw: Any = conn.connection.dbapi_connection
    cur = raw.cursor()
    try:
        cur.execute(sql)
        parts = []
        while rows := cur.fetchmany(CHUNK):
            parts.append(np.array(rows, dtype=_ROW))
    finally:
        cur.close()
    cols = np.concatenate(parts) if parts else np.zeros(0, dtype=_ROW)
    asset = cols["asset"]
    w = cols["value"] * price[asset]
    keep = (w >= settings.scoring_dust_value) & (w > 0)
    transfers = Transfers(
        n,
        cols["src"][keep].astype(np.int64),
        cols["dst"][keep].astype(np.int64),
        w[keep],
        cols["time"][keep].astype(np.float64),
        (cols["value"] / unit[asset])[keep],
    )
    return Loaded(transfers)


def address_bound(conn: Connection) -> int:
    """One more than the highest address id: the indicator arrays' length."""
    return int(conn.execute(text("SELECT COALESCE(max(id), 0) FROM address")).scalar_one()) + 1


def ids_of(conn: Connection, keys: set[str]) -> list[int]:
    """Dictionary ids of ``family:address`` keys (those no transfer names have none)."""
    by_family: dict[str, list[str]] = {}
    for key in keys:
        family, _, address = key.partition(":")
        by_family.setdefault(family, []).append(address)
    out: list[int] = []
    for family, addresses in by_family.items():
        for i in range(0, len(addresses), 500):
            part = addresses[i : i + 500]
            marks = ", ".join(f":a{j}" for j in range(len(part)))
            rows = conn.execute(
                text(f"SELECT id FROM address WHERE family = :f AND address IN ({marks})"),
                {"f": family, **{f"a{j}": a for j, a in enumerate(part)}},
            )
            out.extend(int(r[0]) for r in rows)
    return out


def keys_of(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """``id -> (family, address)`` for the given dictionary ids."""
    out: dict[int, tuple[str, str]] = {}
    for i in range(0, len(ids), 500):
        part = list(ids[i : i + 500])
        marks = ", ".join(f":i{j}" for j in range(len(part)))
        rows = conn.execute(
            text(f"SELECT id, family, address FROM address WHERE id IN ({marks})"),
            {f"i{j}": x for j, x in enumerate(part)},
        )
        out.update((int(n), (str(f), str(a))) for n, f, a in rows)
    return out


def exchanger_keys(conn: Connection, now: datetime) -> set[str]:
    """``family:address`` of known unlicensed exchangers: live ``unlicensed_exchanger`` listings and the addresses
    of entities of kind ``exchanger`` that are not licensed services."""
    rows = conn.execute(
        select(Listing.family, Listing.address, Listing.valid_until).where(  # type: ignore[call-overload]
            col(Listing.status) == ListingStatus.active.value, col(Listing.category) == "unlicensed_exchanger"
        )
    ).all()
    out = set()
    for family, address, until in rows:
        until_dt = as_utc_datetime(until)
        if until_dt is None or until_dt > now:
            out.add(f"{family}:{address}")
    entity_rows = conn.execute(
        select(EntityAddress.chain, EntityAddress.address)  # type: ignore[call-overload]
        .join(Entity, col(Entity.id) == col(EntityAddress.entity_id))
        .where(col(Entity.kind) == "exchanger", col(Entity.licensed_service).is_(False))
    ).all()
    out.update(f"{chain_family(c)}:{a}" for c, a in entity_rows)
    return out


def licensed_keys(conn: Connection) -> set[str]:
    """``family:address`` of every address a licensed service owns."""
    rows = conn.execute(
        select(EntityAddress.chain, EntityAddress.address)  # type: ignore[call-overload]
        .join(Entity, col(Entity.id) == col(EntityAddress.entity_id))
        .where(col(Entity.licensed_service).is_(True))
    ).all()
    return {f"{chain_family(c)}:{a}" for c, a in rows}


FlagRow = tuple[str, str, str, str]
"""``(family, address, red_flags JSON, indicators JSON)``."""
MatchRow = tuple[str, str, str, int]
"""``(family, address, typology, version)``."""


def _bulk(session: Session, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, one ``executemany`` on SQLite: several times faster than ORM inserts of 10^5 rows."""
    if not rows:
        return
    conn = session.connection()
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        return
    marks = ", ".join(["?"] * (columns.count(",") + 1))
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cur.close()


def store(session: Session, run_id: int, flags: Sequence[FlagRow], matches: Sequence[MatchRow], now: datetime) -> None:
    """Replace the current red flags and matches, and carry the observation history forward, in the caller's
    transaction (the rescoring's, which bumps the registry counter: the snapshot sees it all at once)."""
    session.execute(text("DELETE FROM address_typology"))
    session.execute(text("DELETE FROM typology_match"))
    _bulk(session, "address_typology", "family, address, red_flags, indicators, run_id", [(*r, run_id) for r in flags])
    _bulk(session, "typology_match", "family, address, typology, version", matches)
    same = "m.typology = o.typology AND m.family = o.family AND m.address = o.address"
    params = {"now": now}
    # Still matched: the open interval goes on. No longer matched: it closes at the last rescoring that saw it.
    session.execute(
        text(
            "UPDATE typology_observation SET last_flagged_at = :now WHERE is_open AND EXISTS "
            f"(SELECT 1 FROM typology_match m WHERE {same.replace('o.', 'typology_observation.')})"
        ).bindparams(_NOW),
        params,
    )
    session.execute(
        text(
            "UPDATE typology_observation SET is_open = false WHERE is_open AND NOT EXISTS "
            f"(SELECT 1 FROM typology_match m WHERE {same.replace('o.', 'typology_observation.')})"
        )
    )
    session.execute(
        text(
            "INSERT INTO typology_observation "
            "(typology, version, family, address, first_flagged_at, last_flagged_at, is_open) "
            "SELECT m.typology, m.version, m.family, m.address, :now, :now, true FROM typology_match m "
            f"WHERE NOT EXISTS (SELECT 1 FROM typology_observation o WHERE o.is_open AND {same})"
        ).bindparams(_NOW),
        params,
    )


def load_flags(conn: Connection) -> list[tuple[str, str, str]]:
    """``(family, address, red_flags JSON)`` of every flagged address: what the snapshot loads."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute("SELECT family, address, red_flags FROM address_typology")
        return list(cur.fetchall())
    finally:
        cur.close()


def flagged(session: Session, family: str, addresses: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``address -> (red_flags JSON, indicators JSON)`` for those of ``addresses`` that are flagged."""
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(addresses), 500):
        chunk = list(addresses[i : i + 500])
        rows = session.execute(
            text(
                "SELECT address, red_flags, indicators FROM address_typology WHERE family = :f AND address IN "
                f"({', '.join(f':a{j}' for j in range(len(chunk)))})"
            ),
            {"f": family, **{f"a{j}": a for j, a in enumerate(chunk)}},
        ).all()
        out.update({str(a): (str(r), str(i_)) for a, r, i_ in rows})
    return out


def observed_between(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Distinct addresses per typology flagged by some rescoring in ``[start, end)``."""
    rows = session.execute(
        text(
            "SELECT typology, COUNT(DISTINCT family || ':' || address) FROM typology_observation "
            "WHERE first_flagged_at < :end AND last_flagged_at >= :start GROUP BY typology"
        ).bindparams(bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime())),
        {"start": start, "end": end},
    ).all()
    return {str(t): int(n) for t, n in rows}
