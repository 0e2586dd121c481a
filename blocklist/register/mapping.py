"""The curated firm → domain mapping: the register lists no websites, so supervisors say which names a licensed
firm operates.

A mapped name of an active firm is passed through and never blocked, and mapping it closes the entries of that
name and of names above and under it. A mapping that would take blocked names out of the ISPs' feed is therefore
a decision like a delisting: one supervisor asks, a second person confirms (``registry.decisions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlmodel import Session

from blocklist.domains.normalize import normalize_domain
from blocklist.feeds.service import sync_feed
from blocklist.licensed.service import ACTIVE, clear_for_licence, entries_cleared_by
from blocklist.register import queries
from blocklist.tables import DomainStatus, LicensedDomain, LicensedFirm
from registry.audit.service import record
from registry.auth.service import Principal
from registry.db.transitions import add_unique
from registry.db.types import utcnow
from registry.decisions import service as decisions
from registry.decisions.tables import DecisionRequest
from registry.errors import Conflict, NotFound

MAP_DOMAIN = "licensed_domain.map"


@dataclass(frozen=True)
class MappingOutcome:
    """What mapping a name to a licensed firm did: ``mapped`` at once, or ``pending`` a second person because it
    would take blocked names out of the ISPs' feed (``unblocks``). Shaped like ``LicensedMapping``, which is
    validated from it."""

    domain: str
    status: Literal["mapped", "pending"]
    unblocks: list[str]
    request: DecisionRequest | None = None

    @property
    def request_id(self) -> int | None:
        return self.request.id if self.request else None


def add_licensed_domain(session: Session, firm_id: int, raw: str, who: Principal, note: str = "") -> MappingOutcome:
    """Curated: the register lists no websites. A mapping that unblocks nothing applies at once; one that would take
    a blocked name (the name, a parent, or a name under it) out of the feed waits for a second person."""
    firm = queries.firm(session, firm_id)
    if firm is None:
        raise NotFound(f"licensed firm {firm_id} does not exist")
    host = normalize_domain(raw).host
    other = queries.mapping(session, host)
    if other is not None:
        raise Conflict(f"{host} is already mapped to licensed firm {other.firm_id}")
    unblocks = _unblocked_by(session, firm, host)
    if unblocks:
        payload = {"firm_id": firm_id, "domain": host, "note": note, "unblocks": unblocks}
        why = f"map {host} to {firm.name}; unblocks {', '.join(unblocks)}"
        req = decisions.open_request(session, MAP_DOMAIN, host, why[:1000], who, payload)
        session.commit()
        return MappingOutcome(host, "pending", unblocks, req)
    _apply_mapping(session, firm, host, who, note)
    session.commit()
    return MappingOutcome(host, "mapped", [])


def confirm_licensed_domain(session: Session, raw: str, who: Principal, note: str | None) -> MappingOutcome:
    """The second person confirms a mapping that unblocks names; it is applied as it stands now."""
    host = normalize_domain(raw).host
    pending = decisions.pending_for(session, MAP_DOMAIN, host)
    if pending is None or pending.id is None:
        raise Conflict(f"no mapping of {host} to a licensed firm is waiting for confirmation")
    req = decisions.confirm(session, pending.id, who, note)
    firm = queries.firm(session, int(req.payload["firm_id"]))
    if firm is None:
        raise NotFound(f"licensed firm {req.payload['firm_id']} does not exist")
    if queries.mapping(session, host) is not None:
        raise Conflict(f"{host} is already mapped to a licensed firm")
    unblocks = _unblocked_by(session, firm, host)
    _apply_mapping(session, firm, host, who, str(req.payload.get("note") or ""))
    session.commit()
    return MappingOutcome(host, "mapped", unblocks, req)


def remove_licensed_domain(session: Session, raw: str, who: Principal, reason: str) -> str:
    """Unmap a name (an operator at the command line, audited under the named supervisor); the caller commits."""
    host = normalize_domain(raw).host
    row = queries.mapping(session, host)
    if row is None:
        raise NotFound(f"{host} is not mapped to a licensed firm")
    session.delete(row)
    session.flush()
    record(
        session,
        who.actor,
        action="licensed_domain.remove",
        entity_type="licensed_domain",
        entity_id=host,
        before={"firm_id": row.firm_id, "domain": host},
        after={"reason": reason},
    )
    sync_feed(session, [host])
    return host


def _unblocked_by(session: Session, firm: LicensedFirm, host: str) -> list[str]:
    if firm.status != ACTIVE:
        return []
    return sorted(e.domain for e in entries_cleared_by(session, [host]) if e.status == DomainStatus.active.value)


def _apply_mapping(session: Session, firm: LicensedFirm, host: str, who: Principal, note: str) -> None:
    actor = who.actor
    row = LicensedDomain(
        firm_id=firm.id or 0,
        domain=host,
        note=note,
        created_by=f"{actor.kind}:{actor.id}"[:64],
        created_at=utcnow(),
    )
    add_unique(session, row, f"{host} is already mapped to a licensed firm")
    record(
        session,
        actor,
        action="licensed_domain.add",
        entity_type="licensed_domain",
        entity_id=host,
        before=None,
        after={"firm_id": firm.id, "domain": host, "note": note},
    )
    touched = {host}
    if firm.status == ACTIVE:
        touched |= clear_for_licence(session, firm, [host], actor, "domain mapped to a licensed firm")
    sync_feed(session, touched)
