"""Period statistics from durable facts, their hash, and the stored drafts.

``statistics`` reads every figure of a period and of the period before it in one consistent snapshot (PostgreSQL
REPEATABLE READ; on SQLite a deferred read transaction, which holds no write lock while the report is read).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import jsonschema
import orjson
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from blocklist.feeds.signing import Signer
from chains.addresses import chain_family
from registry.audit.service import consistent_reader
from registry.db import state
from registry.db.engine import session_scope
from registry.errors import NotFound
from registry.monitoring import service as monitoring
from registry.reports import cis, queries
from registry.reports.i18n import Lang
from registry.reports.models import (
    LISTING_EVENTS,
    BankScreenings,
    Breakdown,
    DraftPublic,
    Figures,
    FlowGroup,
    ListingFigures,
    ListingGroup,
    PeriodInfo,
    ScreeningFigures,
    Statistics,
    document,
    timestamp,
)
from registry.reports.periods import Period
from registry.reports.periods import parse as parse_period
from registry.reports.render import Format, Rendered, render
from registry.reports.settings import get_report_settings
from registry.reports.tables import ReportDraft
from registry.scoring.settings import ScoringSettings, get_scoring_settings
from registry.scoring.valuation import configured_prices, unknown_unit_price
from registry.typologies import service as typologies

VALUE_UNIT = "USD"
"""The unit of the scoring's reference prices (``REGISTRY_SCORING_ASSETS``)."""
RISK_LEVELS = ("low", "medium", "high", "severe")
ACTIONS = ("allow", "review", "block")


def period_info(p: Period) -> PeriodInfo:
    return PeriodInfo(label=p.label, kind=p.kind, start=p.start, end=p.end, due=p.due)


def _breakdown(groups: list[ListingGroup]) -> Breakdown:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for g in groups:
        by["category"][g.category] += g.count
        by["chain"][g.chain] += g.count
        by["source"][g.source] += g.count
        by["confidence"][str(g.confidence)] += g.count

    def ordered(c: Counter[str]) -> dict[str, int]:
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    return Breakdown(
        total=sum(g.count for g in groups),
        by_category=ordered(by["category"]),
        by_chain=ordered(by["chain"]),
        by_source=ordered(by["source"]),
        by_confidence=dict(sorted(by["confidence"].items(), key=lambda kv: -int(kv[0]))),
    )


def _listings(session: Session, p: Period) -> ListingFigures:
    groups = [
        ListingGroup(
            event=r.event, category=r.category, chain=r.chain, source=r.source, confidence=r.confidence, count=r.count
        )
        for r in queries.listing_events(session, p.start_at, p.end_at)
    ]
    groups.sort(key=lambda g: (LISTING_EVENTS.index(g.event), g.category, g.chain, g.source, -g.confidence))
    per_event = {e: _breakdown([g for g in groups if g.event == e]) for e in LISTING_EVENTS}
    return ListingFigures(**per_event, groups=groups)


def _screenings(session: Session, p: Period) -> ScreeningFigures:
    rows = queries.screenings(session, p.start_at, p.end_at)
    by_level: Counter[str] = Counter(dict.fromkeys(RISK_LEVELS, 0))
    by_action: Counter[str] = Counter(dict.fromkeys(ACTIONS, 0))
    cross: dict[str, Counter[str]] = {lv: Counter(dict.fromkeys(ACTIONS, 0)) for lv in RISK_LEVELS}
    banks: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        by_level[r.level] += r.count
        by_action[r.action] += r.count
        cross.setdefault(r.level, Counter())[r.action] += r.count
        banks[r.org][r.action] += r.count
    return ScreeningFigures(
        total=sum(r.count for r in rows),
        by_level=dict(by_level),
        by_action=dict(by_action),
        by_level_action={lv: dict(c) for lv, c in cross.items()},
        by_bank=sorted(
            (BankScreenings(org=org, total=sum(c.values()), by_action=dict(c)) for org, c in banks.items()),
            key=lambda b: (-b.total, b.org),
        ),
    )


def _flows(session: Session, p: Period, scoring: ScoringSettings) -> list[FlowGroup]:
    prices = configured_prices(scoring)
    unknown = unknown_unit_price(scoring)
    out: list[FlowGroup] = []
    for network in sorted(queries.transfer_networks(session)):
        family = chain_family(network)
        unit = {asset: price for (n, asset), price in prices.items() if n == network}
        for r in queries.flows(
            session, p.start_at, p.end_at, network=network, family=family, unit_prices=unit, unknown_price=unknown
        ):
            out.append(
                FlowGroup(
                    category=r.category,
                    chain=network,
                    direction="to_listed" if r.direction == "to_listed" else "from_listed",
                    counterparty="domestic_licensed" if r.domestic else "other",
                    transfers=r.transfers,
                    value=round(r.value, 2),
                )
            )
    out.sort(key=lambda f: (f.category, f.chain, f.direction, f.counterparty))
    return out


def _alerts_sent(session: Session, p: Period) -> int:
    """Monitoring alerts that reached their bank in the period (the monitoring feature counts them)."""
    return monitoring.alerts_sent_between(session, p.start_at, p.end_at)


def _typologies(session: Session, p: Period) -> dict[str, int]:
    """Addresses flagged per typology of the catalogue (0 for those none matched), from the typologies feature."""
    return dict(sorted(typologies.observed_between(session, p.start_at, p.end_at).items()))


def figures(session: Session, p: Period, *, scoring: ScoringSettings) -> Figures:
    """Every figure of period ``p``."""
    domains = queries.action_counts(session, p.start_at, p.end_at, [queries.DOMAIN_BLOCKED, queries.DOMAIN_UNBLOCKED])
    cases = queries.action_counts(session, p.start_at, p.end_at, [queries.CASE_OPENED])
    firms_added, firms_withdrawn = queries.licence_changes(session, p.start_at, p.end_at)
    return Figures(
        listings=_listings(session, p),
        domains_blocked=domains[queries.DOMAIN_BLOCKED],
        domains_unblocked=domains[queries.DOMAIN_UNBLOCKED],
        licensed_firms_added=firms_added,
        licensed_firms_withdrawn=firms_withdrawn,
        cases_opened=cases[queries.CASE_OPENED],
        screenings=_screenings(session, p),
        alerts_sent=_alerts_sent(session, p),
        flows=_flows(session, p, scoring),
        typologies=_typologies(session, p),
    )


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes ``sha256`` covers: the document without ``sha256``, compact JSON, keys sorted, UTF-8."""
    return orjson.dumps({k: v for k, v in doc.items() if k != "sha256"}, option=orjson.OPT_SORT_KEYS)


def statistics_in(
    session: Session,
    p: Period,
    *,
    policy_version: str,
    scoring: ScoringSettings | None = None,
    now: datetime | None = None,
) -> Statistics:
    """The statistics document of ``p`` (and of the period before it), read in ``session``."""
    scoring = scoring or get_scoring_settings()
    version = state.read_all(session).get(state.REGISTRY, 0)
    current = figures(session, p, scoring=scoring)
    previous = figures(session, p.previous(), scoring=scoring)
    generated = (now or datetime.now(UTC)).astimezone(UTC)
    notes = []
    if not p.closed(generated.date()):
        notes.append(f"the period has not ended: its figures run until {generated:%Y-%m-%d %H:%M} UTC")
    doc: dict[str, Any] = {
        "period": period_info(p).model_dump(mode="json"),
        "previous_period": period_info(p.previous()).model_dump(mode="json"),
        "generated_at": timestamp(generated),
        "registry_version": str(version),
        "policy_version": policy_version,
        "value_unit": VALUE_UNIT,
        "notes": notes,
        "current": current.model_dump(mode="json"),
        "previous": previous.model_dump(mode="json"),
    }
    doc["sha256"] = hashlib.sha256(canonical(doc)).hexdigest()
    return Statistics.model_validate(doc)


def verify_hash(doc: dict[str, Any]) -> bool:
    return hashlib.sha256(canonical(doc)).hexdigest() == doc.get("sha256")


def statistics(engine: Engine, p: Period, *, policy_version: str, now: datetime | None = None) -> Statistics:
    """The statistics of ``p`` read in one snapshot of ``engine`` (what the API and the command line call)."""
    with session_scope(consistent_reader(engine)) as session:
        return statistics_in(session, p, policy_version=policy_version, now=now)


# --- drafts --------------------------------------------------------------------------------------------------------


def store_draft(session: Session, stats: Statistics) -> bool:
    """Keep ``stats`` as the draft of its half-year; ``False`` when one is stored already (the first one stays:
    a draft is what was prepared when the period closed, not the latest reading)."""
    label = stats.period.label
    if session.exec(select(ReportDraft.id).where(ReportDraft.period == label)).first() is not None:
        return False
    row = ReportDraft(
        period=label,
        period_start=stats.period.start,
        period_end=stats.period.end,
        generated_at=stats.generated_at,
        sha256=stats.sha256,
        statistics=document(stats),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another worker stored it between our look and our insert
        return False
    return True


def stored_draft(session: Session, p: Period) -> Statistics:
    row = session.exec(select(ReportDraft).where(ReportDraft.period == p.label)).first()
    if row is None:
        raise NotFound(f"no draft of {p.label} is stored; drafts are prepared when a half-year closes")
    return Statistics.model_validate(row.statistics)


def drafts(session: Session) -> list[DraftPublic]:
    rows = session.exec(select(ReportDraft).order_by(col(ReportDraft.period_start).desc())).all()
    return [
        DraftPublic(
            period=r.period,
            start=r.period_start,
            end=r.period_end,
            due=parse_period(r.period).due,
            generated_at=r.generated_at,
            sha256=r.sha256,
        )
        for r in rows
    ]


# --- the CIS export ------------------------------------------------------------------------------------------------


def cis_export(engine: Engine, p: Period, *, policy_version: str, min_cell: int, signer: Signer) -> dict[str, Any]:
    """The signed CIS dataset of ``p``, checked against its published schema before it leaves (a dataset that
    does not validate is a bug here, never something to send)."""
    stats = statistics(engine, p, policy_version=policy_version)
    dataset = cis.sign(cis.build(stats, min_cell=min_cell), signer)
    jsonschema.validate(dataset, cis.schema(), format_checker=jsonschema.FormatChecker())
    return dataset


def report(
    engine: Engine, p: Period, *, fmt: Format, lang: Lang, draft: bool, policy_version: str
) -> tuple[Statistics, Rendered]:
    """The report of ``p`` in ``fmt``: from the figures read now, or from the draft stored when the period closed."""
    stats = period_statistics(engine, p, draft=draft, policy_version=policy_version)
    return stats, render(stats, fmt, lang, draft=draft)


def period_statistics(engine: Engine, p: Period, *, draft: bool, policy_version: str) -> Statistics:
    """The figures of ``p`` read now, or those of its stored draft."""
    if draft:
        with session_scope(engine) as session:
            return stored_draft(session, p)
    return statistics(engine, p, policy_version=policy_version)


def signed_cis_export(engine: Engine, p: Period, *, policy_version: str) -> dict[str, Any]:
    """``cis_export`` with the configured threshold and the blocklist manifest's signing key."""
    from blocklist.feeds.signing import load_signer
    from blocklist.settings import get_blocklist_settings

    return cis_export(
        engine,
        p,
        policy_version=policy_version,
        min_cell=get_report_settings().cis_min_cell,
        signer=load_signer(get_blocklist_settings()),
    )


def cis_public_key() -> dict[str, str]:
    """The key that verifies CIS exports, in the blocklist's public-key form."""
    from blocklist.feeds.signing import load_signer
    from blocklist.settings import get_blocklist_settings

    s = load_signer(get_blocklist_settings())
    return {"algorithm": "Ed25519", "key_id": s.key_id, "public_key_hex": s.public_raw.hex(), "pem": s.public_pem}
