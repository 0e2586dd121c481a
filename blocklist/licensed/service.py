"""The licensed check: a domain of an active licensed firm, or any name under it, never enters the feed.

The checks answer which licences a name touches; their callers (submission, approval, the domain check) decide what
a hit means. The two transitions (a licence granted, a licence ended) change entries and leave ``sync_feed`` to the
caller, which knows every domain a register refresh or a mapping touched. They are run for the register job and
for a supervisor's mapping alike, so they take the audit ``Actor`` the caller records under.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from blocklist.domains.lookalike import Brand
from blocklist.domains.normalize import NormalizedDomain, normalize_domain
from blocklist.licensed import queries
from blocklist.licensed.queries import LicenceRow
from blocklist.tables import BlocklistDomain, DomainStatus, LicensedFirm
from registry.audit.service import Actor, record
from registry.db.types import utcnow
from registry.errors import Conflict

ACTIVE = queries.ACTIVE
"""The register status of a licence in force: only such a firm's names are passed through and never blocked."""


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
        """What a 409 ``licensed_domain`` and the domain check show of the licence: no more than the register."""
        return asdict(self)


def _hits(rows: list[LicenceRow]) -> list[LicenceHit]:
    return [LicenceHit(d, n, lic, reg) for d, n, lic, reg in rows]


def covering_licences(session: Session, host: str) -> list[LicenceHit]:
    """Active licences on the host itself or on a parent of it."""
    return _hits(queries.licences_on_or_above(session, host))


def licences_below(session: Session, host: str) -> list[LicenceHit]:
    """Active licensed names under the host: blocking the host would block them too."""
    return _hits(queries.licences_under(session, host))


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
    """The licensed domains lookalikes are measured against."""
    return [
        Brand(label=normalize_domain(domain).label, domain=domain, firm=firm, licence_number=licence)
        for domain, firm, licence, _regulator in queries.active_licences(session)
    ]


def entries_cleared_by(session: Session, domains: list[str]) -> list[BlocklistDomain]:
    """The open entries a licence for ``domains`` closes: the names themselves, every name under them, and every
    parent above them (blocking a parent would block the licensed name with it in the formats that have no
    pass-through: hosts, Squid, plain lists)."""
    if not domains:
        return []
    return queries.open_entries_around(session, domains)


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
            action=f"blocklist_domain.{e.status}",
            entity_type="blocklist_domain",
            entity_id=str(e.id),
            before=before,
            after={"status": e.status, "domain": e.domain, "reason": e.decision_reason},
        )
        touched.add(e.domain)
    return touched


def send_to_review(
    session: Session, firm: LicensedFirm, domains: list[str], actor: Actor, why: str, created: datetime
) -> list[BlocklistDomain]:
    """A licence ended: the firm's names go to a supervisor as pending entries, not into the feed."""
    if not domains:
        return []
    open_ = queries.open_domains_among(session, domains)
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
            action="blocklist_domain.review",
            entity_type="blocklist_domain",
            entity_id=str(e.id),
            before=None,
            after={"domain": d, "status": e.status, "legal_basis": e.legal_basis},
        )
        out.append(e)
    return out
