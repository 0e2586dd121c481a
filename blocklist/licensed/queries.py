"""SQL of the licensed check: the curated domains of active licensed firms, and the blocklist entries they close."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, or_
from sqlmodel import Session, col, select

from blocklist.domains.normalize import parents
from blocklist.tables import BlocklistDomain, DomainStatus, LicensedDomain, LicensedFirm

ACTIVE = "active"
OPEN = (DomainStatus.active.value, DomainStatus.pending.value)

LicenceRow = Row[str, str, str | None, str]
"""(domain, firm name, licence number, regulator)"""


def _active_licences() -> Any:
    return (
        select(LicensedDomain.domain, LicensedFirm.name, LicensedFirm.licence_number, LicensedFirm.regulator)
        .join(LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id))
        .where(col(LicensedFirm.status) == ACTIVE)
    )


def licences_on_or_above(session: Session, host: str) -> list[LicenceRow]:
    """Active licences on the host itself or on a parent of it (one query)."""
    return list(session.execute(_active_licences().where(col(LicensedDomain.domain).in_(parents(host)))).all())


def licences_under(session: Session, host: str) -> list[LicenceRow]:
    """Active licensed names under the host."""
    # Domains are LDH punycode, so they hold no LIKE wildcard characters (normalisation refuses % and _).
    return list(session.execute(_active_licences().where(col(LicensedDomain.domain).like(f"%.{host}"))).all())


def active_licences(session: Session) -> list[LicenceRow]:
    return list(session.execute(_active_licences()).all())


def open_entries_around(session: Session, domains: list[str]) -> list[BlocklistDomain]:
    """Open (pending or active) entries of these names, of every name under them and of every parent above them."""
    above = sorted({p for d in domains for p in parents(d)})
    conds = [col(BlocklistDomain.domain).in_(above)] + [col(BlocklistDomain.domain).like(f"%.{d}") for d in domains]
    q = select(BlocklistDomain).where(or_(*conds), col(BlocklistDomain.status).in_(OPEN))
    return list(session.execute(q.order_by(col(BlocklistDomain.id))).scalars().all())


def open_domains_among(session: Session, domains: list[str]) -> set[str]:
    """Which of these names have an open (pending or active) entry."""
    q = select(BlocklistDomain.domain).where(
        col(BlocklistDomain.domain).in_(domains), col(BlocklistDomain.status).in_(OPEN)
    )
    return set(session.execute(q).scalars())
