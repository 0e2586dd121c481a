"""Applying a register fetch: reject what looks wrong, record what changed, move domains in and out of the feed.

A fetch is applied only when it looks like the register: not empty, not mostly unreadable rows or unrecognised
statuses, and not losing more than half the firms seen before. Otherwise it is recorded as rejected and the last
good copy stays in force.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from blocklist.domains.normalize import normalize_domain
from blocklist.feeds.store import sync_feed
from blocklist.licensed import ACTIVE, clear_for_licence, entries_cleared_by, send_to_review
from blocklist.models import LicensedFirmPublic, LicensedList, RegisterFetchPublic
from blocklist.register.model import FetchResult, FirmRecord
from blocklist.register.sources import LicenceRegister, load_seed
from blocklist.tables import DomainStatus, LicensedDomain, LicensedFirm, LicensedFirmChange, RegisterFetch
from registry.audit.service import Actor, record
from registry.auth.service import Principal
from registry.db.engine import session_scope
from registry.db.types import utcnow
from registry.decisions import service as decisions
from registry.decisions.tables import DecisionRequest
from registry.errors import Conflict, NotFound, RegistryError

log = logging.getLogger("blocklist.register")
SYSTEM = Actor("system", "blocklist:refresh-register", "registry", "system")
_TRACKED = (
    "name",
    "licence_number",
    "status",
    "status_text",
    "issued_on",
    "inactive_since",
    "activities",
    "section",
    "bin",
    "details_url",
)


@dataclass
class RefreshOutcome:
    fetch_id: int
    outcome: str  # applied | unchanged | rejected | failed
    firms: int
    changed: int
    message: str


def _firm_view(f: LicensedFirm) -> dict[str, Any]:
    return {k: getattr(f, k) for k in ("regulator", "firm_key", *_TRACKED)}


def ensure_seed(engine: Engine) -> bool:
    """Load the shipped firms and domains into an empty register table (first start, offline)."""
    with session_scope(engine) as s:
        if s.execute(select(func.count()).select_from(LicensedFirm)).scalar():
            return False
    try:
        with session_scope(engine) as s:
            if s.execute(select(func.count()).select_from(LicensedFirm)).scalar():
                return False
            _apply_seed(s, load_seed(), SYSTEM)
        return True
    except IntegrityError:  # another worker seeded at the same moment
        return False


def _apply_seed(session: Session, firms: list[FirmRecord], actor: Actor) -> None:
    now = utcnow()
    touched: list[str] = []
    for rec in firms:
        firm = LicensedFirm(
            regulator="afsa",
            firm_key=rec.firm_key,
            source="seed",
            created_at=now,
            updated_at=now,
            **{k: getattr(rec, k) for k in _TRACKED},
        )
        session.add(firm)
        session.flush()
        assert firm.id is not None
        record(session, actor, "licensed_firm.seed", "licensed_firm", str(firm.id), None, _firm_view(firm))
        for d in rec.domains:
            host = normalize_domain(d).host
            session.add(
                LicensedDomain(firm_id=firm.id, domain=host, note="shipped seed", created_by="seed", created_at=now)
            )
            record(
                session,
                actor,
                "licensed_domain.add",
                "licensed_domain",
                host,
                None,
                {"firm_id": firm.id, "domain": host},
            )
            touched.append(host)
    session.flush()
    sync_feed(session, touched)


def validate_fetch(
    result: FetchResult,
    known_from_register: int,
    min_keep_ratio: float,
    licence_pattern: re.Pattern[str] | None = None,
) -> str | None:
    """Why the fetch must not be applied, or None."""
    if result.rows_seen == 0 or not result.firms:
        return "the register returned no firms (empty table)"
    if result.rows_skipped * 2 > result.rows_seen:
        return (
            f"{result.rows_skipped} of {result.rows_seen} rows could not be read (missing names or licence "
            "numbers): the layout may have changed"
        )
    unknown = sum(1 for f in result.firms if f.status == "unknown")
    if unknown * 2 > len(result.firms):
        return (
            f"{unknown} of {len(result.firms)} licence statuses are not recognised: the register's wording or "
            "layout may have changed"
        )
    if licence_pattern is not None:
        odd = [f.licence_number for f in result.firms if not licence_pattern.fullmatch(f.licence_number or "")]
        if len(odd) * 2 > len(result.firms):
            return (
                f"{len(odd)} of {len(result.firms)} licence numbers do not look like licence numbers "
                f"(e.g. {odd[0]!r}): the columns may have moved"
            )
    keys = {f.firm_key for f in result.firms}
    if known_from_register and len(keys) < known_from_register * min_keep_ratio:
        return (
            f"the register lists {len(keys)} firms where {known_from_register} were listed before: "
            f"a loss of more than {int((1 - min_keep_ratio) * 100)} % is not applied"
        )
    return None


def refresh_register(
    engine: Engine, source: LicenceRegister, min_keep_ratio: float = 0.5, actor: Actor = SYSTEM
) -> RefreshOutcome:
    ensure_seed(engine)
    with session_scope(engine) as s:
        fetch = RegisterFetch(regulator=source.regulator, started_at=utcnow())
        s.add(fetch)
        s.flush()
        fetch_id = fetch.id
    assert fetch_id is not None
    try:
        result = source.fetch()
    except RegistryError as e:
        return _finish(engine, fetch_id, "failed", 0, 0, e.message)
    except Exception as e:  # a parser bug must be reported like an outage, never applied
        log.exception("register fetch crashed")
        return _finish(engine, fetch_id, "failed", 0, 0, f"unexpected {type(e).__name__} while reading the register")
    with session_scope(engine) as s:
        known = (
            s.execute(
                select(func.count())
                .select_from(LicensedFirm)
                .where(col(LicensedFirm.regulator) == source.regulator, col(LicensedFirm.source) == "register")
            ).scalar()
            or 0
        )
    problem = validate_fetch(result, int(known), min_keep_ratio, source.licence_pattern)
    if problem:
        log.warning("register fetch rejected: %s", problem)
        return _finish(engine, fetch_id, "rejected", len(result.firms), 0, problem)
    with session_scope(engine) as s:
        changed = apply_fetch(s, source.regulator, result.firms, fetch_id, actor)
        listed = {f.firm_key for f in result.firms}
        missing = [
            k
            for k in s.execute(
                select(LicensedFirm.firm_key).where(
                    col(LicensedFirm.regulator) == source.regulator, col(LicensedFirm.source) == "register"
                )
            ).scalars()
            if k not in listed
        ]
        # A firm that drops out of the listing keeps its last known status: pages come and go, a licence
        # decision shows up as a status. It is reported so an operator can look.
        notes = [f"{len(missing)} firm(s) known from the register are not listed now: {', '.join(missing[:10])}"]
        message = "; ".join((notes if missing else []) + result.warnings)[:2000]
        f = s.get(RegisterFetch, fetch_id)
        assert f is not None
        f.finished_at, f.outcome, f.firms, f.changed, f.message = (
            utcnow(),
            "applied" if changed else "unchanged",
            len(result.firms),
            changed,
            message,
        )
        s.add(f)
    return RefreshOutcome(fetch_id, "applied" if changed else "unchanged", len(result.firms), changed, message)


def _finish(engine: Engine, fetch_id: int, outcome: str, firms: int, changed: int, message: str) -> RefreshOutcome:
    with session_scope(engine) as s:
        f = s.get(RegisterFetch, fetch_id)
        assert f is not None
        f.finished_at, f.outcome, f.firms, f.changed, f.message = (
            utcnow(),
            outcome,
            firms,
            changed,
            message[:2000],
        )
        s.add(f)
    return RefreshOutcome(fetch_id, outcome, firms, changed, message)


def apply_fetch(session: Session, regulator: str, records: list[FirmRecord], fetch_id: int | None, actor: Actor) -> int:
    """Upsert firms by licence number; licence granted → its names leave the feed; licence ended → review."""
    existing = {
        f.firm_key: f
        for f in session.execute(select(LicensedFirm).where(col(LicensedFirm.regulator) == regulator)).scalars()
    }
    by_key: dict[str, FirmRecord] = {}
    for rec in records:  # a firm listed in two sections: the active listing wins
        old = by_key.get(rec.firm_key)
        if old is None or (old.status != ACTIVE and rec.status == ACTIVE):
            by_key[rec.firm_key] = rec
    now = utcnow()
    changed = 0
    granted: list[tuple[LicensedFirm, str]] = []
    ended: list[LicensedFirm] = []
    for key, rec in by_key.items():
        firm = existing.get(key)
        values = {k: getattr(rec, k) for k in _TRACKED}
        if firm is None:
            firm = LicensedFirm(
                regulator=regulator, firm_key=key, source="register", created_at=now, updated_at=now, **values
            )
            session.add(firm)
            session.flush()
            assert firm.id is not None
            session.add(LicensedFirmChange(firm_id=firm.id, fetch_id=fetch_id, kind="created", changes=values, at=now))
            record(session, actor, "licensed_firm.create", "licensed_firm", str(firm.id), None, _firm_view(firm))
            changed += 1
            if firm.status == ACTIVE:
                granted.append((firm, "licensed in the register"))
            continue
        diff = {k: [getattr(firm, k), v] for k, v in values.items() if v not in (None, "") and getattr(firm, k) != v}
        if not diff and firm.source == "register":
            continue
        before = _firm_view(firm)
        was_active = firm.status == ACTIVE
        for k, (_, v) in diff.items():
            setattr(firm, k, v)
        firm.source = "register"
        firm.updated_at = now
        session.add(firm)
        if diff:
            session.add(LicensedFirmChange(firm_id=firm.id, fetch_id=fetch_id, kind="changed", changes=diff, at=now))
            record(
                session,
                actor,
                "licensed_firm.update",
                "licensed_firm",
                str(firm.id),
                before,
                _firm_view(firm),
            )
            changed += 1
        if not was_active and firm.status == ACTIVE:
            granted.append((firm, "licence now active in the register"))
        elif was_active and firm.status != ACTIVE:
            ended.append(firm)
    session.flush()
    firm_ids = [f.id for f, _ in granted] + [f.id for f in ended]
    domains_of: dict[int, list[str]] = {}
    if firm_ids:
        for fid, d in session.execute(
            select(LicensedDomain.firm_id, LicensedDomain.domain).where(col(LicensedDomain.firm_id).in_(firm_ids))
        ).all():
            domains_of.setdefault(fid, []).append(d)
    touched: set[str] = set()
    for firm, why in granted:
        ds = domains_of.get(firm.id or 0, [])
        touched |= clear_for_licence(session, firm, ds, actor, why)
        touched |= set(ds)
    for firm in ended:
        ds = domains_of.get(firm.id or 0, [])
        send_to_review(session, firm, ds, actor, "licence ended in the register", now)
        touched |= set(ds)
    sync_feed(session, touched)
    return changed


MAP_DOMAIN = "licensed_domain.map"


@dataclass(frozen=True)
class MappingOutcome:
    """What mapping a name to a licensed firm did: ``mapped`` at once, or ``pending`` a second person because it
    would take blocked names out of the ISPs' feed (``unblocks``)."""

    domain: str
    status: str  # mapped | pending
    unblocks: list[str]
    request: DecisionRequest | None = None


def add_licensed_domain(session: Session, firm_id: int, raw: str, who: Principal, note: str = "") -> MappingOutcome:
    """Curated: the register lists no websites. A mapping that unblocks nothing applies at once; one that would take
    a blocked name (the name, a parent, or a name under it) out of the feed waits for a second person."""
    firm = session.get(LicensedFirm, firm_id)
    if firm is None:
        raise NotFound(f"licensed firm {firm_id} does not exist")
    host = normalize_domain(raw).host
    other = session.execute(select(LicensedDomain).where(col(LicensedDomain.domain) == host)).scalar()
    if other is not None:
        raise Conflict(f"{host} is already mapped to licensed firm {other.firm_id}")
    unblocks = _unblocked_by(session, firm, host)
    if unblocks:
        payload = {"firm_id": firm_id, "domain": host, "note": note, "unblocks": unblocks}
        why = f"map {host} to {firm.name}; unblocks {', '.join(unblocks)}"
        req = decisions.open_request(session, MAP_DOMAIN, host, why[:1000], who, payload)
        session.commit()
        return MappingOutcome(host, "pending", unblocks, req)
    _apply_mapping(session, firm, host, who.actor, note)
    session.commit()
    return MappingOutcome(host, "mapped", [])


def confirm_licensed_domain(session: Session, raw: str, who: Principal, note: str | None) -> MappingOutcome:
    """The second person confirms a mapping that unblocks names; it is applied as it stands now."""
    host = normalize_domain(raw).host
    pending = decisions.pending_for(session, MAP_DOMAIN, host)
    if pending is None or pending.id is None:
        raise Conflict(f"no mapping of {host} to a licensed firm is waiting for confirmation")
    req = decisions.confirm(session, pending.id, who, note)
    firm = session.get(LicensedFirm, int(req.payload["firm_id"]))
    if firm is None:
        raise NotFound(f"licensed firm {req.payload['firm_id']} does not exist")
    if session.execute(select(LicensedDomain).where(col(LicensedDomain.domain) == host)).scalar() is not None:
        raise Conflict(f"{host} is already mapped to a licensed firm")
    unblocks = _unblocked_by(session, firm, host)
    _apply_mapping(session, firm, host, who.actor, str(req.payload.get("note") or ""))
    session.commit()
    return MappingOutcome(host, "mapped", unblocks, req)


def _unblocked_by(session: Session, firm: LicensedFirm, host: str) -> list[str]:
    if firm.status != ACTIVE:
        return []
    return sorted(e.domain for e in entries_cleared_by(session, [host]) if e.status == DomainStatus.active.value)


def _apply_mapping(session: Session, firm: LicensedFirm, host: str, actor: Actor, note: str) -> None:
    session.add(
        LicensedDomain(
            firm_id=firm.id or 0,
            domain=host,
            note=note,
            created_by=f"{actor.kind}:{actor.id}"[:64],
            created_at=utcnow(),
        )
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(f"{host} is already mapped to a licensed firm") from None
    record(
        session,
        actor,
        "licensed_domain.add",
        "licensed_domain",
        host,
        None,
        {"firm_id": firm.id, "domain": host, "note": note},
    )
    touched = {host}
    if firm.status == ACTIVE:
        touched |= clear_for_licence(session, firm, [host], actor, "domain mapped to a licensed firm")
    sync_feed(session, touched)


def remove_licensed_domain(session: Session, raw: str, actor: Actor, reason: str) -> str:
    host = normalize_domain(raw).host
    row = session.execute(select(LicensedDomain).where(col(LicensedDomain.domain) == host)).scalar()
    if row is None:
        raise NotFound(f"{host} is not mapped to a licensed firm")
    session.delete(row)
    session.flush()
    record(
        session,
        actor,
        "licensed_domain.remove",
        "licensed_domain",
        host,
        {"firm_id": row.firm_id, "domain": host},
        {"reason": reason},
    )
    sync_feed(session, [host])
    return host


def _fetch_public(f: RegisterFetch | None) -> RegisterFetchPublic | None:
    if f is None or f.id is None:
        return None
    return RegisterFetchPublic(
        id=f.id,
        regulator=f.regulator,
        started_at=f.started_at,
        finished_at=f.finished_at,
        outcome=f.outcome,
        firms=f.firms,
        changed=f.changed,
        message=f.message,
    )


def list_licensed(session: Session) -> LicensedList:
    firms = session.execute(select(LicensedFirm).order_by(col(LicensedFirm.name))).scalars().all()
    domains: dict[int, list[str]] = {}
    for fid, d in session.execute(
        select(LicensedDomain.firm_id, LicensedDomain.domain).order_by(LicensedDomain.domain)
    ):
        domains.setdefault(fid, []).append(d)
    last = session.execute(select(RegisterFetch).order_by(col(RegisterFetch.id).desc()).limit(1)).scalar()
    applied = session.execute(
        select(RegisterFetch)
        .where(col(RegisterFetch.outcome).in_(["applied", "unchanged"]))
        .order_by(col(RegisterFetch.id).desc())
        .limit(1)
    ).scalar()
    return LicensedList(
        firms=[
            LicensedFirmPublic(
                id=f.id or 0,
                regulator=f.regulator,
                name=f.name,
                licence_number=f.licence_number,
                status=f.status,
                status_text=f.status_text,
                issued_on=f.issued_on,
                inactive_since=f.inactive_since,
                activities=f.activities,
                section=f.section,
                details_url=f.details_url,
                domains=domains.get(f.id or 0, []),
                updated_at=f.updated_at,
            )
            for f in firms
        ],
        last_fetch=_fetch_public(last),
        last_applied=_fetch_public(applied),
    )
