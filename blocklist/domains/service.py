"""Exchanger domains: submission by investigators, four-eyes decisions by supervisors, the check.

Each change writes its audit event and, when it moves a name in or out of the feed, the feed rows and the serial
in the same transaction, and commits before the response: an investigator or supervisor who got a 2xx knows the
change is durable, and the ISPs' next poll sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlmodel import Session, col

from blocklist.domains import queries
from blocklist.domains.lookalike import Lookalike, find_lookalikes
from blocklist.domains.normalize import normalize_domain, parents
from blocklist.feeds.service import sync_feed
from blocklist.licensed.service import brands, covering_licences, refuse_if_licensed
from blocklist.models import CheckResult, Composed, DomainCreate, DomainPublic, EntityPublic, LookalikePublic
from blocklist.tables import BlocklistDomain, DomainStatus
from registry.audit.service import record
from registry.auth.persons import require_second_person
from registry.auth.service import Principal, display_names, named
from registry.auth.tables import Role
from registry.cases import queries as cases_queries
from registry.cases.service import case_for
from registry.db.transitions import add_unique, transition
from registry.db.types import utcnow
from registry.decisions import service as decisions
from registry.decisions.tables import DecisionRequest
from registry.entities.tables import Entity
from registry.errors import Conflict, Forbidden, InvalidInput, NotFound


def _audit_view(e: BlocklistDomain) -> dict[str, object]:
    return {
        "domain": e.domain,
        "status": e.status,
        "case_id": e.case_id,
        "entity_id": e.entity_id,
        "legal_basis": e.legal_basis,
        "decision_reason": e.decision_reason,
    }


def _lookalikes(items: Sequence[Lookalike]) -> list[LookalikePublic]:
    return [LookalikePublic.model_validate(x, from_attributes=True) for x in items]


def _entities(session: Session, ids: set[int]) -> dict[int, EntityPublic]:
    """Entities with their wallet addresses for a page of entries: two queries, whatever the page size."""
    if not ids:
        return {}
    addresses: dict[int, list[object]] = {}
    for a in queries.entity_addresses(session, ids):
        addresses.setdefault(a.entity_id, []).append(a)
    return {
        e.id: EntityPublic.model_validate(Composed(e, addresses=addresses.get(e.id, [])), from_attributes=True)
        for e in queries.entities(session, ids)
        if e.id is not None
    }


def _public(
    e: BlocklistDomain, entity: EntityPublic | None, names: Mapping[str, str], lookalikes: Sequence[Lookalike] = ()
) -> DomainPublic:
    """The entry with each person also by their name as written (``names``: ``auth.service.display_names``)."""
    composed = Composed(e, entity=entity, lookalikes=_lookalikes(lookalikes))
    return named(DomainPublic.model_validate(composed, from_attributes=True), names)


def _public_one(session: Session, e: BlocklistDomain, lookalikes: Sequence[Lookalike] = ()) -> DomainPublic:
    entity = _entities(session, {e.entity_id} if e.entity_id else set()).get(e.entity_id or 0)
    return _public(e, entity, display_names(session, [e.submitted_holder, e.decided_holder]), lookalikes)


def submit(session: Session, case_id: int, body: DomainCreate, who: Principal) -> DomainPublic:
    """Pending until a supervisor approves; refused outright when the domain belongs to a licensed firm."""
    nd = normalize_domain(body.domain)
    case_for(session, case_id, who)
    refuse_if_licensed(session, nd)
    dup = queries.open_entry_of(session, nd.host)
    if dup is not None:
        raise Conflict(f"{nd.host} is already {dup[1]} as domain entry {dup[0]}", details={"id": dup[0]})
    entity_id = body.entity_id
    if entity_id is not None and not queries.entity_exists(session, entity_id):
        raise NotFound(f"entity {entity_id} does not exist")
    if entity_id is None and body.entity_name:
        ent = Entity(name=body.entity_name.strip(), kind="exchanger", created_at=utcnow())
        session.add(ent)
        session.flush()
        record(
            session,
            who.actor,
            action="entity.create",
            entity_type="entity",
            entity_id=str(ent.id),
            before=None,
            after={"name": ent.name, "kind": ent.kind},
        )
        entity_id = ent.id
    e = BlocklistDomain(
        case_id=case_id,
        entity_id=entity_id,
        domain=nd.host,
        registrable=nd.registrable,
        origin="investigator",
        legal_basis=body.legal_basis.strip(),
        evidence=body.evidence.model_dump(),
        status=DomainStatus.pending.value,
        submitted_by=who.ref,
        submitted_holder=who.holder,
        created_at=utcnow(),
    )
    # A concurrent submission of the same name loses here: the partial unique index on open entries decides.
    add_unique(session, e, f"{nd.host} is already pending or active")
    record(
        session,
        who.actor,
        action="blocklist_domain.submit",
        entity_type="blocklist_domain",
        entity_id=str(e.id),
        before=None,
        after=_audit_view(e),
    )
    out = _public_one(session, e, find_lookalikes(nd, brands(session)))
    session.commit()
    return out


def _get(session: Session, domain_id: int) -> BlocklistDomain:
    e = queries.entry(session, domain_id)
    if e is None:
        raise NotFound(f"domain entry {domain_id} does not exist")
    return e


def _visible(session: Session, e: BlocklistDomain, who: Principal) -> None:
    """An entry of a case is case data: investigators see only the entries of their own cases."""
    if e.case_id is not None and who.role != Role.supervisor:
        case_for(session, e.case_id, who)


def get(session: Session, domain_id: int, who: Principal) -> DomainPublic:
    e = _get(session, domain_id)
    try:
        _visible(session, e, who)
    except (Forbidden, NotFound):
        raise NotFound(f"domain entry {domain_id} does not exist") from None
    return _public_one(session, e, find_lookalikes(normalize_domain(e.domain), brands(session)))


def list_domains(session: Session, status: str | None, after_id: int, limit: int, who: Principal) -> list[DomainPublic]:
    """The review queue (``status=pending``) and the rest, oldest first, paged by id. An investigator sees the
    entries of their own cases and those no case owns (sent to review by the register)."""
    if status is not None and status not in {x.value for x in DomainStatus}:
        raise InvalidInput(f"unknown status {status!r}; statuses: {', '.join(x.value for x in DomainStatus)}")
    cases = None if who.role == Role.supervisor else cases_queries.member_case_ids(session, who.holder or "")
    rows = queries.entries(session, status, after_id, limit, cases)
    entities = _entities(session, {e.entity_id for e in rows if e.entity_id is not None})
    names = display_names(session, [h for e in rows for h in (e.submitted_holder, e.decided_holder)])
    return [_public(e, entities.get(e.entity_id or 0), names) for e in rows]


def _decide(
    session: Session,
    domain_id: int,
    who: Principal,
    reason: str | None,
    frm: str,
    to: str,
    *,
    maker: str | None = None,
) -> BlocklistDomain:
    """Move an entry from ``frm`` to ``to``: four eyes by person against ``maker`` (the submitter unless given),
    then a conditional UPDATE so that exactly one of concurrent decisions wins.

    The person is what counts, never the key: the key that submitted an entry names the same person, so the shared
    rule refuses it too."""
    e = _get(session, domain_id)
    session.refresh(e)
    if e.status != frm:
        raise Conflict(f"domain entry {domain_id} is {e.status}; only a {frm} entry can become {to}")
    if maker is None:
        maker = e.submitted_holder
    person = require_second_person(maker, who.holder, f"making domain entry {domain_id} {to}")
    before = _audit_view(e)
    changed = transition(
        session,
        BlocklistDomain,
        [col(BlocklistDomain.id) == domain_id, col(BlocklistDomain.status) == frm],
        {
            "status": to,
            "approved_by": who.ref,
            "decided_holder": person,
            "decision_reason": (reason or "").strip()[:1000] or None,
            "decided_at": utcnow(),
        },
    )
    session.refresh(e)
    if not changed:
        raise Conflict(f"domain entry {domain_id} is {e.status}; only a {frm} entry can become {to}")
    record(
        session,
        who.actor,
        action=f"blocklist_domain.{to}",
        entity_type="blocklist_domain",
        entity_id=str(e.id),
        before=before,
        after=_audit_view(e),
    )
    return e


def approve(session: Session, domain_id: int, who: Principal, reason: str | None) -> DomainPublic:
    e = _get(session, domain_id)
    # A licence may have been granted since the submission: check again at the moment it would enter the feed.
    refuse_if_licensed(session, normalize_domain(e.domain))
    e = _decide(session, domain_id, who, reason, DomainStatus.pending.value, DomainStatus.active.value)
    sync_feed(session, [e.domain])
    out = _public_one(session, e)
    session.commit()
    return out


def reject(session: Session, domain_id: int, who: Principal, reason: str) -> DomainPublic:
    e = _decide(session, domain_id, who, reason, DomainStatus.pending.value, DomainStatus.rejected.value)
    out = _public_one(session, e)
    session.commit()
    return out


DELIST = "domain.delist"


def request_delist(session: Session, domain_id: int, who: Principal, reason: str) -> DecisionRequest:
    """Taking a domain out of the ISPs' feed needs a second person: this only asks for it."""
    e = _get(session, domain_id)
    if e.status != DomainStatus.active.value:
        raise Conflict(f"domain entry {domain_id} is {e.status}; only an active entry can be delisted")
    req = decisions.open_request(session, DELIST, str(domain_id), reason, who, {"domain": e.domain})
    session.commit()
    return req


def confirm_delist(session: Session, domain_id: int, who: Principal, note: str | None) -> DomainPublic:
    pending = decisions.pending_for(session, DELIST, str(domain_id))
    if pending is None or pending.id is None:
        raise Conflict(f"no delisting of domain entry {domain_id} is pending; ask for one with POST …/delist first")
    req = decisions.confirm(session, pending.id, who, note)
    reason = f"{req.reason} (asked by {req.requested_holder}, confirmed by {req.decided_holder})"
    e = _decide(
        session,
        domain_id,
        who,
        reason,
        DomainStatus.active.value,
        DomainStatus.delisted.value,
        maker=req.requested_holder,
    )
    sync_feed(session, [e.domain])
    out = _public_one(session, e)
    session.commit()
    return out


def check(session: Session, raw: str) -> CheckResult:
    """licensed > blocked > lookalike > unknown, with every reason that applies."""
    nd = normalize_domain(raw)
    reasons: list[str] = []
    base = {"input": raw[:300], "domain": nd.host, "registrable": nd.registrable, "unicode": nd.unicode_host}
    lic = covering_licences(session, nd.host)
    if lic:
        h = lic[0]
        reasons.append(f"{'is' if h.domain == nd.host else 'is under'} {h.domain}, licensed to {h.describe()}")
        return CheckResult(**base, verdict="licensed", reasons=reasons, licence=h.public())
    feed = queries.blocked_in_feed(session, parents(nd.host))
    looks = find_lookalikes(nd, brands(session))
    if feed:
        hit = max(feed, key=len)
        reasons.append(f"{'listed' if hit == nd.host else f'under the listed {hit}'} as an unlicensed exchanger")
        reasons += [x.reason for x in looks]
        return CheckResult(**base, verdict="blocked", reasons=reasons, blocked_as=hit, lookalikes=_lookalikes(looks))
    if looks:
        reasons += [x.reason for x in looks]
        reasons.append("lookalikes are reported to investigators, never blocked automatically")
        return CheckResult(**base, verdict="lookalike", reasons=reasons, lookalikes=_lookalikes(looks))
    return CheckResult(**base, verdict="unknown", reasons=["neither licensed, listed, nor like a licensed brand"])
