"""All SQL of the reports: every figure is a GROUP BY in the database over durable facts.

Durable facts, not counters: the audit log for what happened when (a listing approved, a domain blocked, a
licence that ended, a case opened; the log is append-only and never pruned), the listing, entity and transfer
tables for what the events were about, and the screening log together with its daily rollup (which outlives the
log's retention). Only grouped rows cross into Python, never one row per fact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select, union_all
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from registry.audit.tables import AuditEvent
from registry.auth.tables import ApiKey
from registry.cases.tables import Listing
from registry.entities.tables import Entity, EntityAddress
from registry.screening.tables import ScreeningLog, ScreeningRollup
from registry.transfers.tables import TransferRow

_audit = AuditEvent.__table__  # type: ignore[attr-defined]
_listing = Listing.__table__  # type: ignore[attr-defined]
_key = ApiKey.__table__  # type: ignore[attr-defined]
_log = ScreeningLog.__table__  # type: ignore[attr-defined]
_rollup = ScreeningRollup.__table__  # type: ignore[attr-defined]
_transfer = TransferRow.__table__  # type: ignore[attr-defined]
_entity = Entity.__table__  # type: ignore[attr-defined]
_entity_address = EntityAddress.__table__  # type: ignore[attr-defined]

LISTING_ACTIONS: dict[str, str] = {
    "listing.submit": "added",
    "listing.sanctions_add": "added",
    "listing.approve": "approved",
    "listing.reject": "rejected",
    "listing.delist": "delisted",
    "listing.sanctions_remove": "delisted",
    "listing.expire": "expired",
}
"""Audit action → the report's listing event. An official-list listing is live from its import (no approval);
leaving the official list is a delisting."""

DOMAIN_BLOCKED = "blocklist_domain.active"
DOMAIN_UNBLOCKED = "blocklist_domain.delisted"
CASE_OPENED = "case.create"
FIRM_CREATED = "licensed_firm.create"
FIRM_UPDATED = "licensed_firm.update"
ACTIVE_LICENCE = "active"


def _in_period(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


@dataclass(frozen=True)
class ListingRow:
    event: str
    category: str
    chain: str
    source: str
    confidence: int
    count: int


def listing_events(session: Session, start: datetime, end: datetime) -> list[ListingRow]:
    """Listing events of the period from the audit log, with what they were about from the listing itself.

    The join compares the audit's ``entity_id`` (text) with the listing id cast to text, never the other way:
    casting every audit row's entity id to a number would fail on the rows that name a domain."""
    event = case(LISTING_ACTIONS, value=_audit.c.action).label("event")
    q = (
        select(event, _listing.c.category, _listing.c.chain, _listing.c.source, _listing.c.confidence, func.count())
        .select_from(_audit.join(_listing, _audit.c.entity_id == cast(_listing.c.id, String)))
        .where(
            _audit.c.entity_type == "listing",
            _audit.c.action.in_(list(LISTING_ACTIONS)),
            _in_period(_audit.c.at, start, end),
        )
        .group_by(event, _listing.c.category, _listing.c.chain, _listing.c.source, _listing.c.confidence)
    )
    return [ListingRow(str(e), str(c), str(ch), str(s), int(cf), int(n)) for e, c, ch, s, cf, n in session.execute(q)]


def action_counts(session: Session, start: datetime, end: datetime, actions: list[str]) -> dict[str, int]:
    """How many audit events of each of ``actions`` the period holds (0 for those it holds none of)."""
    q = (
        select(_audit.c.action, func.count())
        .where(_audit.c.action.in_(actions), _in_period(_audit.c.at, start, end))
        .group_by(_audit.c.action)
    )
    found = {str(a): int(n) for a, n in session.execute(q)}
    return {a: found.get(a, 0) for a in actions}


def licence_changes(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """``(became active, stopped being active)``: firms whose licence the register showed granted or ended in the
    period, from the audited register refreshes (the shipped seed, loaded on first start, is not a change)."""
    after = func.coalesce(_audit.c.after["status"].as_string(), "")
    before = func.coalesce(_audit.c.before["status"].as_string(), "")
    granted = or_(
        and_(_audit.c.action == FIRM_CREATED, after == ACTIVE_LICENCE),
        and_(_audit.c.action == FIRM_UPDATED, after == ACTIVE_LICENCE, before != ACTIVE_LICENCE),
    )
    ended = and_(_audit.c.action == FIRM_UPDATED, before == ACTIVE_LICENCE, after != ACTIVE_LICENCE)
    q = select(
        func.coalesce(func.sum(case((granted, 1), else_=0)), 0),
        func.coalesce(func.sum(case((ended, 1), else_=0)), 0),
    ).where(_audit.c.action.in_([FIRM_CREATED, FIRM_UPDATED]), _in_period(_audit.c.at, start, end))
    added, withdrawn = session.execute(q).one()
    return int(added), int(withdrawn)


@dataclass(frozen=True)
class ScreeningRow:
    org: str
    level: str
    action: str
    count: int


def screenings(session: Session, start: datetime, end: datetime) -> list[ScreeningRow]:
    """Screenings per bank, risk level and action: the daily rollup of the days retention folded, plus the log rows
    still kept (a screening is in exactly one of the two, ``registry.screening.retention``). The bank is the key's
    organisation (the rollup kept it when it counted the rows)."""
    rolled = select(
        _rollup.c.org.label("org"),
        _rollup.c.risk_level.label("level"),
        _rollup.c.action.label("action"),
        _rollup.c.screenings.label("n"),
    ).where(_rollup.c.day >= start.date(), _rollup.c.day < end.date())
    org = func.coalesce(_key.c.org, "")
    logged = (
        select(
            org.label("org"), _log.c.risk_level.label("level"), _log.c.action.label("action"), func.count().label("n")
        )
        .select_from(_log.outerjoin(_key, _key.c.id == _log.c.key_id))
        .where(_in_period(_log.c.at, start, end))
        .group_by(org, _log.c.risk_level, _log.c.action)
    )
    both = union_all(rolled, logged).subquery()
    q = select(both.c.org, both.c.level, both.c.action, func.sum(both.c.n)).group_by(
        both.c.org, both.c.level, both.c.action
    )
    return [ScreeningRow(str(o), str(lv), str(a), int(n)) for o, lv, a, n in session.execute(q)]


def transfer_networks(session: Session) -> list[str]:
    return [str(n) for n in session.execute(select(_transfer.c.network).distinct()).scalars()]


@dataclass(frozen=True)
class FlowRow:
    category: str
    direction: str  # to_listed | from_listed
    domestic: bool  # the other wallet belongs to an entity marked a licensed service
    transfers: int
    value: float


def _listed_at(when: Any) -> ColumnElement[bool]:
    """The listing counted at ``when``: approved (or imported) by then, not yet past ``valid_until``, and not yet
    delisted or expired (those keep the moment they ended in ``decided_at``)."""
    return and_(
        _listing.c.listed_since.is_not(None),
        _listing.c.listed_since <= when,
        or_(_listing.c.valid_until.is_(None), _listing.c.valid_until > when),
        or_(
            _listing.c.status == "active",
            and_(_listing.c.status.in_(["delisted", "expired"]), _listing.c.decided_at > when),
        ),
    )


def flows(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    network: str,
    family: str,
    unit_prices: Mapping[str, float],
    unknown_price: float,
) -> list[FlowRow]:
    """Transfers on ``network`` in the period to and from wallets listed at the transfer's time, per category and
    whether the other side is a domestic licensed service: count and reference value (``value`` × the price of
    one base unit of the asset, priced in the database).

    One query per direction and network (a handful), so that the join runs from the listings through the
    transfer indexes on ``(network, to_address)`` / ``(network, from_address)``. A transfer to a wallet listed
    twice under one category (two cases) counts once: the inner ``DISTINCT`` is per transfer and category."""
    licensed = (
        select(_entity_address.c.address)
        .select_from(_entity_address.join(_entity, _entity.c.id == _entity_address.c.entity_id))
        .where(_entity.c.licensed_service.is_(True), _entity_address.c.chain == family)
        .subquery()
    )
    out: list[FlowRow] = []
    for direction, listed_side, other_side in (
        ("to_listed", _transfer.c.to_address, _transfer.c.from_address),
        ("from_listed", _transfer.c.from_address, _transfer.c.to_address),
    ):
        domestic = case((licensed.c.address.is_(None), 0), else_=1).label("domestic")
        inner = (
            select(_transfer.c.id, _listing.c.category, _transfer.c.asset, _transfer.c.value, domestic)
            .distinct()
            .select_from(
                _transfer.join(
                    _listing,
                    and_(
                        _listing.c.family == family,
                        _listing.c.address == listed_side,
                        _listed_at(_transfer.c.block_time),
                    ),
                ).outerjoin(licensed, licensed.c.address == other_side)
            )
            .where(
                _transfer.c.network == network,
                _in_period(_transfer.c.block_time, start, end),
                _transfer.c.from_address != _transfer.c.to_address,
            )
            .subquery()
        )
        price: Any = case(dict(unit_prices), value=inner.c.asset, else_=unknown_price) if unit_prices else unknown_price
        q = select(
            inner.c.category, inner.c.domestic, func.count(), func.coalesce(func.sum(inner.c.value * price), 0.0)
        ).group_by(inner.c.category, inner.c.domestic)
        out += [FlowRow(str(c), direction, bool(d), int(n), float(v)) for c, d, n, v in session.execute(q)]
    return out
