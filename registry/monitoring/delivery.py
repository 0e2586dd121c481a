"""Pushing alerts to banks' webhooks, signed per the Standard Webhooks specification.

Each delivery is one alert, ``POST``ed as JSON with ``webhook-id`` (``msg_<alert id>``: the same on every retry and
replay, so a bank drops a repeat it already handled), ``webhook-timestamp`` (seconds, fresh on every attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, computed by the ``standardwebhooks``
package; two signatures, space-separated, while a rotated-out secret is still in its overlap period).

One sender per endpoint, holding a lease on it (``registry.db.lease``, name ``webhook:<endpoint id>``), sends the
endpoint's due alerts in id order, one at a time, with a timeout; every outcome is written before the next alert is
sent, so a sender killed mid-delivery leaves that alert pending and the next sender (after the lease expires) sends
it again with the same ``webhook-id``. Senders of different endpoints are independent threads
(``registry.monitoring.worker``): a slow or dead endpoint holds only its own sender.

Failures. A transport error, a timeout, a redirect (never followed: it would send the registry somewhere the bank
did not register) or any status but the few that judge the message itself pauses the whole endpoint — exponential
backoff with jitter on its consecutive failures — so a bank that is down is not hammered and its alerts stay in
order. A 400, 409, 413, 415 or 422 judges one message: that alert backs off on its own and the others go on. An
alert not delivered by its deadline (``REGISTRY_MONITORING_RETRY_SECONDS`` after it was written or replayed) is a
dead letter; the bank replays it with ``POST /v1/alerts/replay``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import secrets as pysecrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from registry.db.engine import session_scope
from registry.db.lease import acquire, release, renew
from registry.db.types import utcnow
from registry.monitoring import queries
from registry.monitoring.diff import reasons, result
from registry.monitoring.settings import MonitoringSettings
from registry.monitoring.tables import Alert, WebhookEndpoint
from registry.monitoring.urls import resolves_privately

log = logging.getLogger("registry.monitoring")

EVENT_TYPE = "wallet.risk_changed"
MESSAGE_FAILURES = frozenset({400, 409, 413, 415, 422})
"""Statuses that refuse one message (its body), not the endpoint: only that alert backs off."""
USER_AGENT = "wallet-risk-registry-webhooks/1"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64: the form the Standard Webhooks libraries read."""
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


def fingerprint(secret: str) -> str:
    """What the audit log and the API show of a secret: enough to tell two apart, nothing to sign with."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_data(a: Alert) -> dict[str, Any]:
    """An alert as a bank reads it, in a webhook's ``data`` and in ``GET /v1/alerts``."""
    prev = (a.prev_score, a.prev_level, a.prev_action, a.prev_direct)
    cur = (a.risk_score, a.risk_level, a.action, a.direct)
    return {
        "id": a.id,
        "address": a.address,
        "chain": a.chain,
        "ref": a.ref,
        "registry_version": str(a.registry_version),
        "previous": result(prev),
        "current": result(cur),
        "reasons": reasons(prev, cur),
        "created_at": iso(a.created_at),
    }


def payload(a: Alert) -> bytes:
    """The body of the webhook: the same bytes on every attempt (only the timestamp header and signature change)."""
    return orjson.dumps({"type": EVENT_TYPE, "timestamp": iso(a.created_at), "data": alert_data(a)})


def message_id(alert_id: int) -> str:
    return f"msg_{alert_id}"


def sign(secrets: Sequence[str], msg_id: str, at: datetime, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,…`` per active secret, space-separated."""
    text = body.decode()
    return " ".join(Webhook(s).sign(msg_id, at, text) for s in secrets)


def active_secrets(ep: WebhookEndpoint, now: datetime) -> list[str]:
    out = [ep.secret]
    if ep.previous_secret and ep.previous_until is not None and ep.previous_until > now:
        out.append(ep.previous_secret)
    return out


def backoff(failures: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Exponential with "equal jitter": between half and all of ``base * 2**(failures-1)`` (capped), so that the
    retries of many alerts spread out and a wait is never near zero."""
    step = min(cap, base * 2.0 ** max(0, min(failures - 1, 40)))
    return step / 2 + rand() * step / 2


@dataclass
class Attempt:
    ok: bool
    endpoint_down: bool  # pause the endpoint (not just this message)
    error: str | None


def post(client: httpx.Client, url: str, secrets: Sequence[str], alert: Alert, now: datetime) -> Attempt:
    assert alert.id is not None
    body = payload(alert)
    msg_id = message_id(alert.id)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(secrets, msg_id, now, body),
    }
    try:
        r = client.post(url, content=body, headers=headers)
    except httpx.TimeoutException as e:
        return Attempt(False, True, f"timeout: {type(e).__name__}")
    except httpx.HTTPError as e:
        return Attempt(False, True, f"{type(e).__name__}: {e}"[:500])
    if 200 <= r.status_code < 300:
        return Attempt(True, False, None)
    return Attempt(False, r.status_code not in MESSAGE_FAILURES, f"HTTP {r.status_code}")


@dataclass
class SendReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    busy: bool = False


def make_client(ms: MonitoringSettings) -> httpx.Client:
    """No redirects (a 3xx is a failure), no proxy from the environment (the worker's egress is the network's
    business, and a proxy variable meant for something else must not carry banks' alerts)."""
    return httpx.Client(timeout=ms.monitoring_delivery_timeout_seconds, follow_redirects=False, trust_env=False)


def send_endpoint(
    engine: Engine,
    ms: MonitoringSettings,
    endpoint_id: int,
    holder: str,
    client: httpx.Client,
    *,
    clock: Callable[[], datetime] = utcnow,
    rand: Callable[[], float] = random.random,
) -> SendReport:
    """Send the endpoint's due alerts until none is due, the endpoint fails, or another sender holds it."""
    lease = f"webhook:{endpoint_id}"
    lease_seconds = ms.monitoring_lease_seconds
    if not acquire(engine, lease, holder, lease_seconds):
        return SendReport(busy=True)
    report = SendReport()
    renewed = time.monotonic()
    try:
        while True:
            now = clock()
            with session_scope(engine) as s:
                ep = queries.endpoint_by_id(s, endpoint_id)
                if ep is None or (ep.paused_until is not None and ep.paused_until > now):
                    break
                batch = queries.due_alerts(s, ep.bank, now, ms.monitoring_delivery_batch)
                url, keys, failures = ep.url, active_secrets(ep, now), ep.failures
            if not batch:
                break
            if not ms.monitoring_allow_private_urls:
                bad = resolves_privately(url)
                if bad is not None:
                    _pause(engine, ms, endpoint_id, failures, f"{url} resolves to {bad}, a private address", rand, now)
                    report.failed += 1
                    break
            for alert in batch:
                assert alert.id is not None
                now = clock()
                if alert.deadline_at <= now:
                    with session_scope(engine) as s:
                        queries.alert_failed(s, alert.id, now, alert.last_error or "not delivered in time", True)
                    report.dead += 1
                    continue
                if time.monotonic() - renewed > lease_seconds / 3:
                    if not renew(engine, lease, holder, lease_seconds):
                        log.warning("lost the lease of %s; another sender goes on", lease)
                        return report
                    renewed = time.monotonic()
                attempt = post(client, url, keys, alert, now)
                done = clock()
                if attempt.ok:
                    with session_scope(engine) as s:
                        queries.alert_delivered(s, alert.id, done)
                        if failures:
                            queries.endpoint_succeeded(s, endpoint_id, done)
                    failures = 0
                    report.delivered += 1
                    continue
                report.failed += 1
                error = attempt.error or "failed"
                if attempt.endpoint_down:
                    wait = backoff(
                        failures + 1, ms.monitoring_backoff_base_seconds, ms.monitoring_backoff_max_seconds, rand
                    )
                else:
                    wait = backoff(
                        alert.attempts + 1, ms.monitoring_backoff_base_seconds, ms.monitoring_backoff_max_seconds, rand
                    )
                retry_at = done + timedelta(seconds=wait)
                dead = retry_at >= alert.deadline_at
                report.dead += dead
                with session_scope(engine) as s:
                    queries.alert_failed(s, alert.id, retry_at, error, dead)
                    if attempt.endpoint_down:
                        queries.endpoint_failed(s, endpoint_id, retry_at, error)
                log.info(
                    "webhook delivery failed",
                    extra={"endpoint": endpoint_id, "alert": alert.id, "error": error, "retry_in": round(wait, 2)},
                )
                if attempt.endpoint_down:
                    return report
            if len(batch) < ms.monitoring_delivery_batch:
                break
    finally:
        release(engine, lease, holder)
    return report


def _pause(
    engine: Engine,
    ms: MonitoringSettings,
    endpoint_id: int,
    failures: int,
    error: str,
    rand: Callable[[], float],
    now: datetime,
) -> None:
    wait = backoff(failures + 1, ms.monitoring_backoff_base_seconds, ms.monitoring_backoff_max_seconds, rand)
    with session_scope(engine) as s:
        queries.endpoint_failed(s, endpoint_id, now + timedelta(seconds=wait), error)
    log.warning("webhook endpoint %s refused: %s", endpoint_id, error)
