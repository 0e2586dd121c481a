"""What the console's pages show and do, through the other features' services: the console decides nothing itself.

Every change goes through the same service function as the API route that makes it (``registry.cases.service``,
``blocklist.domains.service``, ``registry.decisions.service``), as the signed-in person's key: the same checks,
the same four-eyes rule, the same audit events. A selection of listings approved at once is that many decisions,
each in its own transaction, each audited, each refused on its own when it is the decider's own submission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from blocklist.domains import queries as domain_queries
from blocklist.domains import service as domains
from blocklist.models import CheckResult, DomainCreate, DomainPublic, LicensedList
from blocklist.register import listing as register
from chains.addresses import AddressError, normalize
from registry.audit.tables import AuditEvent
from registry.auth.persons import normalize_holder
from registry.auth.service import display_names, with_names
from registry.auth.tables import Role
from registry.cases import queries as case_queries
from registry.cases import service as cases
from registry.cases.models import CaseCreate, CaseMemberPublic, CasePublic, ListingCreate, ListingPublic
from registry.cases.tables import Listing
from registry.console import queries
from registry.console.sessions import ConsoleUser
from registry.db.engine import session_scope
from registry.decisions import service as decisions
from registry.decisions.models import DecisionRequestPublic
from registry.decisions.tables import DecisionRequest
from registry.errors import InvalidAddress, InvalidDomain, InvalidInput, NotFound, RegistryError
from registry.evidence import service as evidence
from registry.http.deps import AppContext
from registry.investigations import service as investigations
from registry.investigations.models import Counterparties, Trace
from registry.ops import service as ops
from registry.ops.models import JobState
from registry.scoring import explain
from registry.scoring.models import AddressView
from registry.scoring.rescore import policy_from
from registry.scoring.settings import ScoringSettings
from registry.taxonomy.categories import CATEGORIES, CONFIDENCE_LEVELS

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """A form's fields through the API's own request model, so the console accepts exactly what the API does;
    pydantic's complaints become one 422 naming every field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"]), "reason": err["type"], "message": err["msg"]}
            for err in e.errors()
        ]
        text = "; ".join(f"{x['field']}: {x['message']}" for x in errors)
        raise InvalidInput(text, details={"errors": errors}) from None


def home(user: ConsoleUser) -> str:
    """The first page after sign-in: what this role works on."""
    if user.is_(Role.supervisor):
        return "/console/queue"
    if user.is_(Role.investigator):
        return "/console/cases"
    return "/console/jobs"


CATEGORY_NAMES = list(CATEGORIES)


def category_legend() -> dict[str, dict[str, str]]:
    """Each category's severity (the graph colours a listed node by its most severe category); its label is put
    in by the page, in the page's language."""
    return {name: {"severity": c.severity.value} for name, c in CATEGORIES.items()}


CONFIDENCES = [(c.value, c.name) for c in CONFIDENCE_LEVELS]


# --- cases -------------------------------------------------------------------------------------------------------


def list_cases(session: Session, user: ConsoleUser, q: str | None) -> list[CasePublic]:
    """An investigator's own cases; a supervisor's: every case (as ``GET /v1/cases``)."""
    member = None if user.is_(Role.supervisor) else (user.principal.holder or "")
    rows = case_queries.list_cases(session, member, q or None, 0, 500)
    return [CasePublic.model_validate(c) for c in reversed(rows)]


def create_case(session: Session, user: ConsoleUser, data: Mapping[str, Any]) -> int:
    case = cases.create_case(session, validated(CaseCreate, data), user.principal)
    return case.id or 0


@dataclass
class CaseView:
    case: CasePublic
    members: list[CaseMemberPublic]
    listings: list[ListingPublic]
    domains: list[DomainPublic]
    member: bool
    """The signed-in person is a member (may submit under the case)."""

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for x in self.listings:
            out[x.status] = out.get(x.status, 0) + 1
        return out


def case_view(session: Session, user: ConsoleUser, case_id: int) -> CaseView:
    case = cases.case_for(session, case_id, user.principal)
    members = cases.public_members(session, case_queries.members_of(session, case_id))
    listings = cases.public_listings(session, case_queries.listings_of_case(session, case_id))
    rows = [e for e in domain_queries.entries(session, None, 0, 1000, {case_id}) if e.case_id == case_id]
    entries = with_names(session, rows, DomainPublic)
    holder = user.principal.holder
    return CaseView(
        case=CasePublic.model_validate(case),
        members=members,
        listings=listings,
        domains=entries,
        member=holder is not None and any(m.person == holder for m in members),
    )


def add_member(session: Session, user: ConsoleUser, case_id: int, holder: str) -> None:
    if not holder.strip():
        raise InvalidInput("name the investigator to add", details={"field": "holder"})
    cases.add_member(session, case_id, holder, user.principal)


def submit_listing(session: Session, user: ConsoleUser, case_id: int, data: Mapping[str, Any]) -> int:
    fields = {k: v for k, v in data.items() if v not in ("", None) or k in ("address", "legal_basis")}
    listing = cases.submit_listing(session, case_id, validated(ListingCreate, fields), user.principal)
    return listing.id or 0


def import_csv(engine: Engine, user: ConsoleUser, case_id: int, body: bytes, max_rows: int) -> int:
    """All or nothing, as the API's import: an ``invalid_csv`` error lists each bad row with its line."""
    with session_scope(engine) as session:
        return len(cases.import_csv(session, case_id, body, user.principal, max_rows))


def submit_domain(session: Session, user: ConsoleUser, case_id: int, data: Mapping[str, Any]) -> DomainPublic:
    evidence = {
        "urls": [u for u in str(data.get("urls", "")).split() if u],
        "note": str(data.get("note", "")),
    }
    body: dict[str, Any] = {"domain": data.get("domain", ""), "legal_basis": data.get("legal_basis", "")}
    body["evidence"] = evidence
    if data.get("entity_name"):
        body["entity_name"] = data["entity_name"]
    return domains.submit(session, case_id, validated(DomainCreate, body), user.principal)


def check_domain(session: Session, text: str) -> CheckResult | None:
    """The licensed / blocked / lookalike check of what is typed so far; ``None`` while it is not a domain yet."""
    text = text.strip()
    if not text:
        return None
    try:
        return domains.check(session, text[:2048])
    except (InvalidDomain, InvalidInput):
        return None


def request_delisting(session: Session, user: ConsoleUser, listing_id: int, reason: str) -> None:
    cases.request_delist(session, listing_id, user.principal, reason)


# --- supervisor: the queue of listings ----------------------------------------------------------------------------


@dataclass
class QueueItem:
    listing: ListingPublic
    case: CasePublic | None
    mine: bool
    """Submitted by the signed-in person: a second person must decide (four eyes)."""


def _is_mine(user: ConsoleUser, submitted_by: str, submitted_holder: str | None) -> bool:
    return submitted_by == user.principal.ref or (
        submitted_holder is not None and normalize_holder(submitted_holder) == user.principal.holder
    )


def queue(session: Session, user: ConsoleUser, after_id: int = 0, limit: int = 200) -> list[QueueItem]:
    rows = case_queries.pending_listings(session, limit, after_id)
    case_ids = {r.case_id for r in rows if r.case_id is not None}
    found = {cid: case_queries.case_by_id(session, cid) for cid in case_ids}
    return [
        QueueItem(
            listing=x,
            case=CasePublic.model_validate(found[r.case_id]) if r.case_id and found.get(r.case_id) else None,
            mine=_is_mine(user, r.submitted_by, r.submitted_holder),
        )
        for r, x in zip(rows, cases.public_listings(session, rows), strict=True)
    ]


@dataclass
class Outcome:
    """What became of one decision of a selection."""

    target: int
    ok: bool
    what: str  # approve | reject | confirm | cancel | delist
    code: str = ""
    message: str = ""
    status: int = 200


def decide_listings(
    ctx: AppContext, user: ConsoleUser, ids: list[int], decision: str, reason: str | None
) -> list[Outcome]:
    """Each listing its own decision: its own transaction and audit event, refused on its own (four eyes, already
    decided) without stopping the others."""
    if decision not in ("approve", "reject"):
        raise InvalidInput("choose approve or reject", details={"field": "decision"})
    if not ids:
        raise InvalidInput("select at least one listing", details={"field": "ids"})
    if decision == "reject" and not reason:
        raise InvalidInput("a rejection needs a reason", details={"field": "reason"})
    out: list[Outcome] = []
    approved = False
    for lid in ids:
        try:
            with session_scope(ctx.engine) as session:
                if decision == "approve":
                    cases.approve(session, lid, user.principal, reason or None)
                    approved = True
                else:
                    cases.reject(session, lid, user.principal, reason or "")
            out.append(Outcome(lid, True, decision))
        except RegistryError as e:
            out.append(Outcome(lid, False, decision, e.code, e.message, e.status))
    if approved:
        ctx.snapshot.nudge()  # banks see it at once in this worker, within a poll in the others
    return out


# --- supervisor: decisions waiting for a second person ----------------------------------------------------------


@dataclass
class RequestItem:
    request: DecisionRequestPublic
    mine: bool
    listing: ListingPublic | None = None
    domain: str | None = None


def pending_requests(session: Session, user: ConsoleUser) -> list[RequestItem]:
    out = []
    rows = decisions.list_requests(session, "pending", 0, 500)
    for r, public in zip(rows, decisions.public_requests(session, rows), strict=True):
        item = RequestItem(public, mine=normalize_holder(r.requested_holder) == user.principal.holder)
        if r.kind == cases.DELIST and r.target.isdigit():
            item.listing = _listing(session, int(r.target))
        elif r.kind == "domain.delist" and r.target.isdigit():
            entry = domain_queries.entry(session, int(r.target))
            item.domain = entry.domain if entry else None
        else:
            item.domain = r.target
        out.append(item)
    return out


def _listing(session: Session, listing_id: int) -> ListingPublic | None:
    row = session.get(Listing, listing_id)
    return cases.public_listing(session, row) if row is not None else None


def decide_request(ctx: AppContext, user: ConsoleUser, request_id: int, decision: str, text: str) -> Outcome:
    """Confirm (the second person carries the decision out, through the owning feature) or cancel a request."""
    try:
        with session_scope(ctx.engine) as session:
            r = session.get(DecisionRequest, request_id)
            if r is None:
                raise NotFound(f"no decision request with id {request_id}")
            if decision == "cancel":
                if not text:
                    raise InvalidInput("cancelling needs a reason", details={"field": "reason"})
                decisions.cancel(session, request_id, user.principal, text)
            elif decision == "confirm" and r.kind == cases.DELIST:
                cases.confirm_delist(session, int(r.target), user.principal, text or None)
            elif decision == "confirm" and r.kind == "domain.delist":
                domains.confirm_delist(session, int(r.target), user.principal, text or None)
            else:
                raise InvalidInput(
                    f"a {r.kind} request is confirmed where it was made (the licensed register's command)",
                    details={"field": "decision"},
                )
        if decision == "confirm":
            ctx.snapshot.nudge()
        return Outcome(request_id, True, decision)
    except RegistryError as e:
        return Outcome(request_id, False, decision, e.code, e.message, e.status)


# --- domains, the register, jobs ---------------------------------------------------------------------------------


def list_domains(session: Session, user: ConsoleUser, status: str | None) -> list[DomainPublic]:
    return list(reversed(domains.list_domains(session, status or None, 0, 500, user.principal)))


def decide_domain(ctx: AppContext, user: ConsoleUser, domain_id: int, decision: str, reason: str) -> Outcome:
    try:
        with session_scope(ctx.engine) as session:
            if decision == "approve":
                domains.approve(session, domain_id, user.principal, reason or None)
            elif decision == "reject":
                if not reason:
                    raise InvalidInput("a rejection needs a reason", details={"field": "reason"})
                domains.reject(session, domain_id, user.principal, reason)
            elif decision == "delist":
                if not reason:
                    raise InvalidInput("asking to delist needs a reason", details={"field": "reason"})
                domains.request_delist(session, domain_id, user.principal, reason)
            else:
                raise InvalidInput("choose approve, reject or delist", details={"field": "decision"})
        return Outcome(domain_id, True, decision)
    except RegistryError as e:
        return Outcome(domain_id, False, decision, e.code, e.message, e.status)


def register_state(session: Session) -> LicensedList:
    return register.list_licensed(session)


def jobs(ctx: AppContext, session: Session) -> list[JobState]:
    """Every scheduled job with its last run and its next one: ``GET /v1/jobs``'s own list."""
    return ops.jobs_overview(ctx=ctx, session=session)


# --- the audit log -----------------------------------------------------------------------------------------------


@dataclass
class AuditFilters:
    since: date | None = None
    until: date | None = None
    person: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    before_id: int | None = None

    @property
    def query(self) -> dict[str, str]:
        """The filters as query parameters (for the next page's link)."""
        out = {
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "person": self.person or "",
            "action": self.action or "",
            "object": f"{self.entity_type}:{self.entity_id}" if self.entity_id else (self.entity_type or ""),
        }
        return {k: v for k, v in out.items() if v}


@dataclass
class AuditRow:
    event: AuditEvent
    person: str
    """Who, by name: the key's holder, the person at the command line, or the system."""


@dataclass
class AuditPage:
    rows: list[AuditRow] = field(default_factory=list)
    next_before: int | None = None


def parse_audit_filters(params: Mapping[str, str]) -> AuditFilters:
    """Dates (``YYYY-MM-DD``, UTC, ``until`` inclusive), a person's name, an action prefix (``listing.`` or
    ``listing.approve``), an object (``listing`` or ``listing:42``)."""

    def day(name: str) -> date | None:
        raw = params.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput(f"{name}: not a date (YYYY-MM-DD)", details={"field": name}) from None

    obj = params.get("object", "").strip()
    etype, _, eid = obj.partition(":")
    before = params.get("before", "").strip()
    return AuditFilters(
        since=day("since"),
        until=day("until"),
        person=normalize_holder(params.get("person", "")[:200]),
        action=params.get("action", "").strip()[:64] or None,
        entity_type=etype.strip()[:32] or None,
        entity_id=eid.strip()[:300] or None,
        before_id=int(before) if before.isdigit() and len(before) < 11 else None,
    )


def audit_page(session: Session, f: AuditFilters, limit: int = 100) -> AuditPage:
    rows = queries.audit_events(
        session,
        since=datetime.combine(f.since, time(), UTC) if f.since else None,
        until=datetime.combine(f.until + timedelta(days=1), time(), UTC) if f.until else None,
        person=f.person,
        person_keys=queries.key_ids_of(session, f.person) if f.person else [],
        action=f.action,
        entity_type=f.entity_type,
        entity_id=f.entity_id,
        before_id=f.before_id,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    holders = queries.key_holders(session, {int(r.actor_id) for r in rows if r.actor_kind == "key"})
    names = display_names(session, [*holders.values(), *(r.actor_id for r in rows if r.actor_kind == "cli")])
    out = [AuditRow(r, _actor_name(r, holders, names)) for r in rows]
    return AuditPage(out, rows[-1].id if more and rows else None)


def _actor_name(ev: AuditEvent, holders: Mapping[int, str | None], names: Mapping[str, str]) -> str:
    """The audit stores keys and normalised persons; the page shows the persons' names as written (``names``)."""
    if ev.actor_kind == "key":
        holder = holders.get(int(ev.actor_id))
        return names.get(holder, holder) if holder else f"{ev.actor_org} ({ev.actor_role})"
    if ev.actor_kind == "cli":
        return names.get(str(ev.actor_id), str(ev.actor_id))
    return ev.actor_id if ev.actor_kind == "system" else f"{ev.actor_kind}:{ev.actor_id}"


# --- addresses ---------------------------------------------------------------------------------------------------


def normalized_address(chain: str | None, address: str) -> tuple[str, str, str]:
    """``(chain, family, address)`` as the registry stores it; 422 naming why not."""
    try:
        n = normalize(address.strip(), chain or None)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"field": "address", "reason": e.reason}) from None
    return n.chain, n.family, n.address


@dataclass
class AddressPage:
    view: AddressView
    counterparties: Counterparties
    trace: Trace | None
    direction: str
    hops: int


def address_page(
    ctx: AppContext, scoring: ScoringSettings, user: ConsoleUser, chain: str, address: str, *, direction: str, hops: int
) -> AddressPage:
    """The address as the API shows it to this person (an investigator sees case references of their cases only),
    with the rule behind its level, its counterparties and a trace (forward or backward)."""
    who = investigations.subject(chain, address)
    full = explain.address_view(
        ctx.engine, ctx.snapshot.current, who.chain, who.family, who.address, scoring, ctx.settings.policy_version
    )
    full = explain.with_explanation(full, policy_from(scoring))
    if user.is_(Role.investigator):
        with session_scope(ctx.engine) as s:
            mine = case_queries.member_case_ids(s, user.principal.holder or "")
        full = explain.restrict_to_cases(full, mine)
    parties = counterparties(ctx, scoring, chain, address, direction="both", limit=50, after=None)
    trace = trace_of(ctx, scoring, chain, address, direction=direction, hops=hops)
    return AddressPage(full, parties, trace, direction, hops)


def counterparties(
    ctx: AppContext,
    scoring: ScoringSettings,
    chain: str,
    address: str,
    *,
    direction: str,
    limit: int,
    after: str | None,
) -> Counterparties:
    return investigations.counterparties(
        ctx.engine,
        ctx.snapshot.current,
        scoring,
        investigations.subject(chain, address),
        direction=direction,
        sort="value",
        order="desc",
        limit=limit,
        after=after,
    )


def trace_of(
    ctx: AppContext, scoring: ScoringSettings, chain: str, address: str, *, direction: str, hops: int
) -> Trace:
    return investigations.trace_address(
        ctx.engine,
        ctx.snapshot.current,
        scoring,
        investigations.subject(chain, address),
        direction="backward" if direction == "backward" else "forward",
        hops=hops,
        min_share=0.01,
        limit=200,
    )


def evidence_pack(
    session: Session, ctx: AppContext, scoring: ScoringSettings, user: ConsoleUser, chain: str, address: str, fmt: str
) -> evidence.Rendered:
    """The address's evidence pack, as the API makes it (and audited as taken by this person)."""
    if fmt not in evidence.FORMATS:
        raise InvalidInput(f"format: one of {', '.join(evidence.FORMATS)}", details={"field": "format"})
    who = investigations.subject(chain, address)
    return evidence.generate(
        session,
        ctx.engine,
        ctx.snapshot.current,
        scoring,
        ctx.settings.policy_version,
        user.principal,
        who.chain,
        who.family,
        who.address,
        "pdf" if fmt == "pdf" else "csv" if fmt == "csv" else "json",
    )
