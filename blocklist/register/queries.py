"""SQL of the licence register as we keep it: firms, their curated domains, and the fetch log."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from blocklist.tables import LicensedDomain, LicensedFirm, RegisterFetch

APPLIED = ("applied", "unchanged")
"""Outcomes of a fetch that was read and kept (``unchanged``: read, and nothing differed)."""


def count_firms(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(LicensedFirm)).scalar() or 0)


def count_register_firms(session: Session, regulator: str) -> int:
    """Firms this regulator's register has listed (not only the shipped seed)."""
    q = (
        select(func.count())
        .select_from(LicensedFirm)
        .where(col(LicensedFirm.regulator) == regulator, col(LicensedFirm.source) == "register")
    )
    return int(session.execute(q).scalar() or 0)


def register_firm_keys(session: Session, regulator: str) -> list[str]:
    q = select(LicensedFirm.firm_key).where(
        col(LicensedFirm.regulator) == regulator, col(LicensedFirm.source) == "register"
    )
    return list(session.execute(q).scalars())


def firms_by_key(session: Session, regulator: str) -> dict[str, LicensedFirm]:
    q = select(LicensedFirm).where(col(LicensedFirm.regulator) == regulator)
    return {f.firm_key: f for f in session.execute(q).scalars()}


def firm(session: Session, firm_id: int) -> LicensedFirm | None:
    return session.get(LicensedFirm, firm_id)


def firms_by_name(session: Session) -> list[LicensedFirm]:
    return list(session.execute(select(LicensedFirm).order_by(col(LicensedFirm.name))).scalars().all())


def domains_of(session: Session, firm_ids: list[int]) -> dict[int, list[str]]:
    """The curated domains of these firms: firm id → domains."""
    out: dict[int, list[str]] = {}
    q = select(LicensedDomain.firm_id, LicensedDomain.domain).where(col(LicensedDomain.firm_id).in_(firm_ids))
    for fid, d in session.execute(q).all():
        out.setdefault(fid, []).append(d)
    return out


def all_domains(session: Session) -> dict[int, list[str]]:
    """Every curated domain, sorted: firm id → domains."""
    out: dict[int, list[str]] = {}
    for fid, d in session.execute(
        select(LicensedDomain.firm_id, LicensedDomain.domain).order_by(LicensedDomain.domain)
    ):
        out.setdefault(fid, []).append(d)
    return out


def mapping(session: Session, host: str) -> LicensedDomain | None:
    """The curated mapping of this name to a firm, if any."""
    return session.execute(select(LicensedDomain).where(col(LicensedDomain.domain) == host)).scalar()


def fetch(session: Session, fetch_id: int) -> RegisterFetch | None:
    return session.get(RegisterFetch, fetch_id)


def last_fetch(session: Session) -> RegisterFetch | None:
    return session.execute(select(RegisterFetch).order_by(col(RegisterFetch.id).desc()).limit(1)).scalar()


def last_applied_fetch(session: Session) -> RegisterFetch | None:
    q = (
        select(RegisterFetch)
        .where(col(RegisterFetch.outcome).in_(APPLIED))
        .order_by(col(RegisterFetch.id).desc())
        .limit(1)
    )
    return session.execute(q).scalar()
