"""Monitoring: what the routes, the worker's loops, the command line and the reports call.

Alerts are derived from the registry version. Every change banks can see (approval, delisting, expiry, import,
rescoring) bumps the ``registry`` counter in its own transaction (``registry.db.state``); the alert loop sees the
counter move, reads every non-clean screening result of the new version (``registry.monitoring.results``: the
snapshot's rules on the snapshot's tables, four values per address), diffs them against the results it saw at the
last processed version (``monitoring_state``) and writes, in one transaction, the changed addresses (the changes
feed), the alerts of every bank watching one of them, the new state and a cursor row for the version. So:

- nothing is missed: a change is in the snapshot of every later version, and the state moves only with a cursor
  row; a worker killed at any point repeats the whole diff from the last committed version;
- nothing is alerted twice: the cursor's primary key refuses a second processing of a version, and alerts are
  unique on (bank, address, version);
- nothing waits on delivery: an approval commits without knowing monitoring exists.

Several versions that arrive between two polls are diffed as one (the bank hears the net change once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from registry.audit.service import Actor, record
from registry.auth.service import Principal
from registry.db.engine import read_only, session_scope
from registry.db.types import utcnow
from registry.errors import Conflict, Gone, InvalidInput, NotFound, PayloadTooLarge
from registry.monitoring import queries
from registry.monitoring.delivery import alert_data, fingerprint, new_secret
from registry.monitoring.diff import Interner, Sig, diff
from registry.monitoring.results import load_signatures
from registry.monitoring.settings import MonitoringSettings
from registry.monitoring.tables import AddressChange, Alert, AlertStatus, WatchedAddress, WebhookEndpoint
from registry.monitoring.urls import check_url
from registry.monitoring.watchlist import Item, Parsed

# --- for the reports (registry.reports) ------------------------------------------------------------------------


def alerts_sent_between(session: Session, start: datetime, end: datetime) -> int:
    """Alerts that reached their bank in ``[start, end)``: delivered to its webhook or read through the pull API,
    whichever came first (an alert both pushed and pulled counts once, when it first arrived)."""
    return queries.sent_between(session, start, end)


# --- the alert computation ---------------------------------------------------------------------------------------


@dataclass
class Baseline:
    """The results the loop saw at ``version``, in memory, so the next diff need not read them back."""

    version: int
    sigs: dict[str, Sig]
    intern: Interner = field(default_factory=Interner)


@dataclass(frozen=True)
class Processed:
    version: int | None  # None: nothing to do (the version had not moved)
    changed: int = 0
    alerts: int = 0
    seconds: float = 0.0
    read_seconds: float = 0.0
    baseline: bool = False  # the first processed version: results recorded, nothing to compare with

    def __str__(self) -> str:
        if self.version is None:
            return "registry version unchanged"
        if self.baseline:
            return f"baseline at version {self.version}"
        return f"version {self.version}: {self.changed} changed, {self.alerts} alert(s) in {self.seconds:.2f}s"


def process_version(
    engine: Engine,
    ms: MonitoringSettings,
    cache: Baseline | None = None,
    *,
    build: Callable[[Engine, Interner], tuple[int, dict[str, Sig]]] = load_signatures,
) -> tuple[Processed, Baseline | None]:
    """Alert on what changed since the last processed version, if the registry version moved.

    The caller holds the ``monitoring:alerts`` lease (``registry.monitoring.worker``); if two ran anyway, the
    cursor's primary key lets one commit and rolls the other back (``Conflict``)."""
    with read_only(engine).connect() as conn:
        current, last = queries.versions(conn)
    if last is not None and current <= last:
        return Processed(None), cache
    started = time.perf_counter()
    intern = cache.intern if cache is not None else Interner()
    version, new = build(engine, intern)
    built = time.perf_counter() - started
    if last is not None and version <= last:
        return Processed(None), cache
    now = utcnow()
    if last is None:
        try:
            with session_scope(engine) as s:
                queries.insert_state(s, new)
                queries.insert_cursor(s, version, now, 0, 0, time.perf_counter() - started)
        except IntegrityError:
            raise Conflict("another worker set the monitoring baseline at the same time") from None
        return Processed(version, seconds=time.perf_counter() - started, read_seconds=built, baseline=True), (
            Baseline(version, new, intern)
        )
    old = cache.sigs if cache is not None and cache.version == last else _load_state(engine, intern)
    changes = diff(old, new)
    deadline = now + timedelta(seconds=ms.monitoring_retry_seconds)
    try:
        with session_scope(engine) as s:
            queries.insert_changes(s, version, changes)
            queries.apply_state(s, changes)
            alerts = queries.insert_alerts(s, version, now, deadline) if any(c.alerting for c in changes) else 0
            seconds = time.perf_counter() - started
            queries.insert_cursor(s, version, now, len(changes), alerts, seconds)
    except IntegrityError:
        raise Conflict(f"registry version {version} was processed by another worker") from None
    return (
        Processed(version, len(changes), alerts, seconds, built),
        Baseline(version, new, intern),
    )


def _load_state(engine: Engine, intern: Interner) -> dict[str, Sig]:
    with read_only(engine).connect() as conn:
        return {
            f"{family}:{address}": intern((int(score), level, action, direct))
            for family, address, score, level, action, direct in queries.load_state(conn)
        }


def housekeeping(engine: Engine, ms: MonitoringSettings) -> dict[str, int]:
    """Dead-letter what passed its deadline undelivered; forget changes older than the feed keeps."""
    now = utcnow()
    with session_scope(engine) as s:
        dead = queries.sweep_dead(s, now)
    with session_scope(engine) as s:
        pruned = queries.prune_changes(s, now - timedelta(days=ms.monitoring_changes_retention_days))
    return {"dead_lettered": dead, "changes_pruned": pruned}


# --- watchlists --------------------------------------------------------------------------------------------------


def _refuse(parsed: Parsed, what: str, max_items: int) -> None:
    if parsed.too_many is not None:
        raise PayloadTooLarge(
            f"{parsed.too_many} {what} in one call; the limit is {max_items} "
            "(REGISTRY_MONITORING_MAX_ITEMS): split them",
            details={"max_batch": max_items, "received": parsed.too_many},
        )
    if parsed.total_errors:
        first = parsed.errors[0]
        where = first.get("field") or (f"line {first['line']}" if "line" in first else "the body")
        raise InvalidInput(
            f"{parsed.total_errors} bad item(s), nothing was changed; first: {where}: "
            f"{first.get('message') or first.get('reason')}",
            details={
                "errors": parsed.errors,
                "total": parsed.total_errors,
                "truncated": parsed.total_errors > len(parsed.errors),
            },
        )


def add_watched(session: Session, who: Principal, parsed: Parsed, max_items: int) -> dict[str, int]:
    """All or nothing; an address already watched keeps its place and takes the new ref (the last one given when
    the same address comes twice). Audited as one event with the counts, never the addresses."""
    _refuse(parsed, "addresses", max_items)
    unique: dict[tuple[str, str], Item] = {}
    for item in parsed.items:
        unique[(item.family, item.address)] = item
    before = queries.count_watched(session, who.org)
    queries.upsert_watched(session, who.org, [(i.family, i.address, i.chain, i.ref) for i in unique.values()], utcnow())
    after = queries.count_watched(session, who.org)
    counts = {
        "received": len(parsed.items),
        "added": after - before,
        "already_watched": len(unique) - (after - before),
        "watched": after,
    }
    record(session, who.actor, action="watchlist.add", entity_type="watchlist", entity_id=who.org, after=counts)
    return counts


def remove_watched(session: Session, who: Principal, parsed: Parsed, max_items: int) -> dict[str, int]:
    _refuse(parsed, "addresses", max_items)
    keys = {(i.family, i.address) for i in parsed.items}
    removed = queries.delete_watched(session, who.org, keys)
    counts = {"received": len(parsed.items), "removed": removed, "watched": queries.count_watched(session, who.org)}
    record(session, who.actor, action="watchlist.remove", entity_type="watchlist", entity_id=who.org, after=counts)
    return counts


def remove_watched_id(session: Session, who: Principal, watch_id: int) -> None:
    if not queries.delete_watched_id(session, who.org, watch_id):
        raise NotFound(f"no watched address {watch_id} in your watchlist")
    record(
        session,
        who.actor,
        action="watchlist.remove",
        entity_type="watchlist",
        entity_id=who.org,
        after={"removed": 1, "watched": queries.count_watched(session, who.org)},
    )


def list_watched(session: Session, who: Principal, after_id: int, limit: int) -> list[WatchedAddress]:
    return queries.list_watched(session, who.org, after_id, limit)


def export_watched(engine: Engine, bank: str, page: int = 10_000) -> Iterator[list[WatchedAddress]]:
    """The bank's watchlist in pages (keyset), each read in its own short transaction: an export of millions of
    rows neither holds a transaction open nor the whole list in memory."""
    after = 0
    while True:
        with session_scope(engine) as s:
            rows = queries.list_watched(s, bank, after, page)
        if not rows:
            return
        yield rows
        after = int(rows[-1].id or 0)


# --- webhook endpoints -------------------------------------------------------------------------------------------


def _endpoint_audit(ep: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": ep.url,
        "secret": fingerprint(ep.secret),
        "previous_secret": fingerprint(ep.previous_secret) if ep.previous_secret else None,
    }


def set_endpoint(
    session: Session, who: Principal, url: str, ms: MonitoringSettings
) -> tuple[WebhookEndpoint, str | None]:
    """A bank registers or moves its own webhook (one per bank). Returns the endpoint and, when it is new, its
    signing secret (shown once; ``rotate`` makes another). Audited with the URL and the secret's fingerprint.

    The bank itself decides where its alerts go: it is the bank's data about its own customers, and a second
    person at the agency would add a delay without knowing the bank's network better than the bank does."""
    clean = check_url(url, allow_private=ms.monitoring_allow_private_urls, allow_http=ms.monitoring_allow_plain_http)
    now = utcnow()
    ep = queries.endpoint_of(session, who.org)
    if ep is None:
        secret = new_secret()
        ep = WebhookEndpoint(bank=who.org, url=clean, secret=secret, created_at=now, updated_at=now)
        session.add(ep)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("your bank's webhook was registered at the same moment; read it and retry") from None
        record(
            session,
            who.actor,
            action="webhook.create",
            entity_type="webhook_endpoint",
            entity_id=str(ep.id),
            after=_endpoint_audit(ep),
        )
        return ep, secret
    before = _endpoint_audit(ep)
    ep.url, ep.updated_at, ep.failures, ep.paused_until, ep.last_error = clean, now, 0, None, None
    session.add(ep)
    session.flush()
    record(
        session,
        who.actor,
        action="webhook.update",
        entity_type="webhook_endpoint",
        entity_id=str(ep.id),
        before=before,
        after=_endpoint_audit(ep),
    )
    return ep, None


def get_endpoint(session: Session, who: Principal) -> WebhookEndpoint:
    ep = queries.endpoint_of(session, who.org)
    if ep is None:
        raise NotFound('your bank has no webhook: POST /v1/webhooks {"url": …} registers one')
    return ep


def rotate_secret(session: Session, who: Principal, ms: MonitoringSettings) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; the old one keeps signing beside it for
    ``REGISTRY_MONITORING_SECRET_OVERLAP_SECONDS`` (both signatures sent), so the bank can switch without losing
    a delivery."""
    ep = get_endpoint(session, who)
    before = _endpoint_audit(ep)
    now = utcnow()
    secret = new_secret()
    ep.previous_secret, ep.previous_until = ep.secret, now + timedelta(seconds=ms.monitoring_secret_overlap_seconds)
    ep.secret, ep.updated_at = secret, now
    session.add(ep)
    session.flush()
    record(
        session,
        who.actor,
        action="webhook.rotate",
        entity_type="webhook_endpoint",
        entity_id=str(ep.id),
        before=before,
        after=_endpoint_audit(ep),
    )
    return ep, secret


def delete_endpoint(session: Session, who: Principal) -> int:
    """Remove the bank's webhook; alerts waiting to be pushed (and dead letters) are left for the pull API."""
    ep = get_endpoint(session, who)
    before = _endpoint_audit(ep)
    moved = queries.endpoint_gone(session, who.org)
    session.delete(ep)
    record(
        session,
        who.actor,
        action="webhook.delete",
        entity_type="webhook_endpoint",
        entity_id=str(ep.id),
        before=before,
        after={"alerts_left_for_pull": moved},
    )
    return moved


def endpoint_counts(session: Session, who: Principal) -> dict[str, int]:
    return queries.bank_alert_counts(session, who.org)


# --- alerts ------------------------------------------------------------------------------------------------------


def pull_alerts(session: Session, who: Principal, after: int, limit: int, status: str | None) -> list[Alert]:
    """The bank's alerts after ``after`` in id order; those read for the first time are marked pulled (the reports
    count an alert as sent when it first reached the bank, by webhook or here)."""
    rows = queries.list_alerts(session, who.org, after, limit, status)
    queries.mark_pulled(session, [a.id for a in rows if a.id is not None and a.pulled_at is None], utcnow())
    return rows


def public_alert(a: Alert) -> dict[str, Any]:
    return {
        **alert_data(a),
        "status": a.status,
        "attempts": a.attempts,
        "delivered_at": a.delivered_at,
        "last_error": a.last_error,
    }


def replay(session: Session, bank: str, actor: Actor, ids: Sequence[int] | None, ms: MonitoringSettings) -> int:
    """Dead letters back to the queue (all of the bank's, or those named), each with a fresh deadline; the same
    ``webhook-id`` as before, so a bank that did get one after all drops the repeat. The bank replays its own
    (``POST /v1/alerts/replay``); an operator may for it (``registry monitoring replay``)."""
    now = utcnow()
    n = queries.replay(session, bank, ids, now, now + timedelta(seconds=ms.monitoring_retry_seconds))
    record(
        session,
        actor,
        action="webhook.replay",
        entity_type="webhook_endpoint",
        entity_id=bank,
        after={"replayed": n, "ids": list(ids) if ids is not None else "all dead letters"},
    )
    return n


# --- the changes feed --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangesPage:
    since: int
    version: int
    changes: list[AddressChange]
    next_after: int | None


def changes_since(session: Session, since: int, after: int, limit: int) -> ChangesPage:
    """Addresses whose result changed after registry version ``since``, up to the last processed version, in the
    order they changed (an address may come more than once: apply them in order)."""
    last = queries.last_processed(session)
    if last is None:
        return ChangesPage(since, 0, [], None)
    floor = queries.changes_floor(session)
    if floor is not None and since < floor:
        raise Gone(
            f"changes since version {since} are no longer kept (from version {floor} on): screen your copy again "
            "(POST /v1/screen/batch) and continue from the registry_version the results name",
            details={"oldest": floor, "since": since},
        )
    rows = queries.list_changes(session, since, last, after, limit)
    more = len(rows) == limit
    return ChangesPage(since, last, rows, int(rows[-1].id or 0) if more and rows else None)


# --- the agency's view: counts only ------------------------------------------------------------------------------


def summary(session: Session) -> dict[str, Any]:
    """Per bank: how many addresses it watches and how its alerts fared; never which addresses."""
    watched = queries.watched_counts(session)
    alerts = queries.alert_counts(session)
    banks = sorted(set(watched) | set(alerts))
    return {
        "banks": [
            {
                "bank": b,
                "watched": watched.get(b, 0),
                "alerts": sum(alerts.get(b, {}).values()),
                "pending": alerts.get(b, {}).get(AlertStatus.pending.value, 0),
                "delivered": alerts.get(b, {}).get(AlertStatus.delivered.value, 0),
                "dead": alerts.get(b, {}).get(AlertStatus.dead.value, 0),
                "pull": alerts.get(b, {}).get(AlertStatus.pull.value, 0),
            }
            for b in banks
        ],
        "watched": sum(watched.values()),
        "last_processed_version": queries.last_processed(session),
    }
