"""The licensed check: a domain of an active licensed firm, or any name under it, never enters the feed.

The checks are queries whose callers (submission, approval, the domain check) decide what a hit means; the two
transitions (a licence granted, a licence ended) change entries and leave ``sync_feed`` to the caller, which
knows every domain a register refresh touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from blocklist.domains.lookalike import Brand
from blocklist.domains.normalize import NormalizedDomain, normalize_domain, parents
from blocklist.tables import BlocklistDomain, DomainStatus, LicensedDomain, LicensedFirm
from registry.audit.service import Actor, record
from registry.db.types import utcnow
from registry.errors import Conflict

ACTIVE = "active"


@dataclass(frozen=True)
class LicenceHit:
    domain: str
    firm: str
    licence_number: str | None
    regulator: str

    def describe(self) -> str:
        licence = self.licence_number or "no number"
        return f"{self.firm} ({self.regulator.upper()} licence {licence}, domain {self.domain})"

    def public(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "firm": self.firm,
            "licence_number": self.licence_number,
            "regulator": self.regulator,
        }


def _hits(rows: Any) -> list[LicenceHit]:
    return [LicenceHit(d, n, lic, reg) for d, n, lic, reg in rows]


def _licensed_select() -> Any:
    return select(LicensedDomain.domain, LicensedFirm.name, LicensedFirm.licence_number, LicensedFirm.regulator).join(
        LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id)
    )


def covering_licences(session: Session, host: str) -> list[LicenceHit]:
    """Active licences on the host itself or on a parent of it (one query)."""
    q = _licensed_select().where(col(LicensedDomain.domain).in_(parents(host)), col(LicensedFirm.status) == ACTIVE)
    return _hits(session.execute(q).all())


def licences_below(session: Session, host: str) -> list[LicenceHit]:
    """Active licensed names under the host: blocking the host would block them too."""
    # Domains are LDH punycode, so they hold no LIKE wildcard characters (normalisation refuses % and _).
    q = _licensed_select().where(col(LicensedDomain.domain).like(f"%.{host}"), col(LicensedFirm.status) == ACTIVE)
    return _hits(session.execute(q).all())


def refuse_if_licensed(session: Session, nd: NormalizedDomain) -> None:
    hits = covering_licences(session, nd.host) or licences_below(session, nd.host)
    if hits:
        h = hits[0]
        raise Conflict(
            f"{nd.host} {_relation(nd.host, h.domain)} {h.describe()}: licensed firms are never blocked",
            code="licensed_domain",
            details={"licence": h.public()},
        )


def _relation(host: str, licensed: str) -> str:
    if host == licensed:
        return "is a licensed domain of"
    if host.endswith("." + licensed):
        return "is under the licensed domain of"
    return "covers a licensed domain of"


def brands(session: Session) -> list[Brand]:
    q = _licensed_select().where(col(LicensedFirm.status) == ACTIVE)
    out = []
    for domain, firm, licence, _reg in session.execute(q).all():
        out.append(Brand(label=_label(domain), domain=domain, firm=firm, licence=licence))
    return out


def _label(domain: str) -> str:
    return normalize_domain(domain).label


def entries_cleared_by(session: Session, domains: list[str]) -> list[BlocklistDomain]:
    """The open entries a licence for ``domains`` closes: the names themselves, every name under them, and every
    parent above them (blocking a parent would block the licensed name with it in the formats that have no
    pass-through: hosts, Squid, plain lists)."""
    if not domains:
        return []
    above = sorted({p for d in domains for p in parents(d)})
    conds = [col(BlocklistDomain.domain).in_(above)] + [col(BlocklistDomain.domain).like(f"%.{d}") for d in domains]
    q = select(BlocklistDomain).where(
        or_(*conds), col(BlocklistDomain.status).in_([DomainStatus.active.value, DomainStatus.pending.value])
    )
    return list(session.execute(q.order_by(col(BlocklistDomain.id))).scalars().all())


def clear_for_licence(session: Session, firm: LicensedFirm, domains: list[str], actor: Actor, why: str) -> set[str]:
    """A firm became licensed (or got a domain mapped): its names, and names above or under them, leave the feed;
    pending entries for them close.

    Returns the blocklist domains touched, for ``sync_feed``.
    """
    entries = entries_cleared_by(session, domains)
    now = utcnow()
    reason = f"{why}: {firm.name} holds {firm.regulator.upper()} licence {firm.licence_number or '(no number)'}"
    touched: set[str] = set()
    for e in entries:
        before = {"status": e.status}
        e.status = DomainStatus.delisted.value if e.status == DomainStatus.active.value else DomainStatus.rejected.value
        e.decision_reason = reason[:1000]
        e.approved_by = f"{actor.kind}:{actor.id}"[:64]
        e.decided_at = now
        session.add(e)
        record(
            session,
            actor,
            f"blocklist_domain.{e.status}",
            "blocklist_domain",
            str(e.id),
            before,
            {"status": e.status, "domain": e.domain, "reason": e.decision_reason},
        )
        touched.add(e.domain)
    return touched


def send_to_review(
    session: Session, firm: LicensedFirm, domains: list[str], actor: Actor, why: str, created: datetime
) -> list[BlocklistDomain]:
    """A licence ended: the firm's names go to a supervisor as pending entries, not into the feed."""
    if not domains:
        return []
    open_ = set(
        session.execute(
            select(BlocklistDomain.domain).where(
                col(BlocklistDomain.domain).in_(domains),
                col(BlocklistDomain.status).in_([DomainStatus.active.value, DomainStatus.pending.value]),
            )
        ).scalars()
    )
    out = []
    for d in domains:
        if d in open_:
            continue
        e = BlocklistDomain(
            domain=d,
            registrable=normalize_domain(d).registrable,
            origin="register",
            legal_basis=f"{why}: {firm.name}, licence {firm.licence_number or '(no number)'}, "
            f"is now {firm.status_text or firm.status}"[:500],
            evidence={"register": firm.details_url or firm.regulator, "licence_status": firm.status},
            status=DomainStatus.pending.value,
            submitted_by=f"{actor.kind}:{actor.id}"[:64],
            created_at=created,
        )
        session.add(e)
        session.flush()
        record(
            session,
            actor,
            "blocklist_domain.review",
            "blocklist_domain",
            str(e.id),
            None,
            {"domain": d, "status": e.status, "legal_basis": e.legal_basis},
        )
        out.append(e)
    return out
