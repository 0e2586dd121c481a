"""The two loops monitoring runs in ``registry worker`` (or in ``registry serve --scheduler``): the alert loop and
the delivery dispatcher, each a thread of the kernel's ``Poller`` (the screening snapshot's mechanism).

Why threads beside the scheduler rather than scheduled runs: alerts must follow an approval within about a second,
and a scheduled job every second would write a ``job_run`` row every second (86,400 a day); and a delivery run that
waited for every endpoint would hold the next run — and every other bank — behind one endpoint that takes its full
timeout. So the ``monitoring:housekeeping`` job starts these loops once per process (and sweeps dead letters and
reports what they did), while the work itself stays safe across processes through leases in the database: one alert
loop at a time (lease ``monitoring:alerts``), one sender per endpoint at a time (lease ``webhook:<id>``). The threads
are daemons: stopping the worker never waits for a bank's slow endpoint; what was in flight is sent again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy.engine import Engine

from registry.db.engine import control_engine, read_only
from registry.db.lease import acquire, holder_id, release
from registry.db.poller import Poller
from registry.db.types import utcnow
from registry.errors import Conflict
from registry.monitoring import queries, service
from registry.monitoring.delivery import make_client, send_endpoint
from registry.monitoring.settings import MonitoringSettings

log = logging.getLogger("registry.monitoring")

ALERTS_LEASE = "monitoring:alerts"


class AlertLoop(Poller):
    """Polls the registry version; when it moved past the last processed one, computes that version's alerts
    (``service.process_version``) under the ``monitoring:alerts`` lease and wakes the dispatcher."""

    thread_name = "monitoring-alerts"

    def __init__(self, engine: Engine, ms: MonitoringSettings, holder: str, on_alerts: Callable[[], None]) -> None:
        super().__init__(ms.monitoring_poll_seconds)
        self.engine, self.ms, self.holder = engine, ms, holder
        self.on_alerts = on_alerts
        self.cache: service.Baseline | None = None
        self.totals: Counter[str] = Counter()

    def refresh(self, force: bool = False) -> bool:
        with read_only(control_engine(self.engine)).connect() as conn:
            current, last = queries.versions(conn)
        if last is not None and current <= last:
            return False
        if not acquire(self.engine, ALERTS_LEASE, self.holder, self.ms.monitoring_lease_seconds):
            return False
        try:
            done, self.cache = service.process_version(self.engine, self.ms, self.cache)
        except Conflict as e:
            log.warning("%s", e.message)
            self.cache = None
            return False
        finally:
            release(self.engine, ALERTS_LEASE, self.holder)
        if done.version is None:
            return False
        self.totals["versions"] += 1
        self.totals["alerts"] += done.alerts
        log.info(
            "monitoring: %s",
            done,
            extra={"registry_version": done.version, "changed": done.changed, "alerts": done.alerts},
        )
        if done.alerts:
            self.on_alerts()
        return True


class Dispatcher(Poller):
    """Every poll, finds the endpoints with alerts due and starts a sender thread for each that has none, up to
    ``REGISTRY_MONITORING_DELIVERY_CONCURRENCY`` at once. A sender sends its endpoint's queue and ends."""

    thread_name = "monitoring-delivery"

    def __init__(self, engine: Engine, ms: MonitoringSettings, holder: str) -> None:
        super().__init__(ms.monitoring_poll_seconds)
        self.engine, self.ms, self.holder = engine, ms, holder
        self._senders: dict[int, threading.Thread] = {}
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()

    def refresh(self, force: bool = False) -> bool:
        with read_only(control_engine(self.engine)).connect() as conn:
            due = queries.due_endpoints(conn, utcnow())
        started = False
        with self._lock:
            for endpoint_id in due:
                if endpoint_id in self._senders or len(self._senders) >= self.ms.monitoring_delivery_concurrency:
                    continue
                t = threading.Thread(target=self._send, args=(endpoint_id,), name=f"webhook-{endpoint_id}", daemon=True)
                self._senders[endpoint_id] = t
                t.start()
                started = True
        return started

    def _send(self, endpoint_id: int) -> None:
        try:
            with make_client(self.ms) as client:
                report = send_endpoint(self.engine, self.ms, endpoint_id, self.holder, client)
            with self._lock:
                self.totals["delivered"] += report.delivered
                self.totals["failed"] += report.failed
                self.totals["dead"] += report.dead
        except Exception:
            log.exception("webhook sender of endpoint %s failed; the next poll starts another", endpoint_id)
        finally:
            with self._lock:
                self._senders.pop(endpoint_id, None)

    def busy(self) -> int:
        with self._lock:
            return len(self._senders)


class Runtime:
    """The process's alert loop and dispatcher, started once."""

    def __init__(self, engine: Engine, ms: MonitoringSettings) -> None:
        holder = holder_id()
        self.dispatcher = Dispatcher(engine, ms, holder)
        self.alerts = AlertLoop(engine, ms, holder, self.dispatcher.nudge)

    def start(self) -> None:
        self.alerts.start()
        self.dispatcher.start()
        self.alerts.nudge()
        self.dispatcher.nudge()

    def stop(self) -> None:
        self.alerts.stop()
        self.dispatcher.stop()

    def take_totals(self) -> dict[str, int]:
        """What the loops did since the last call (the housekeeping job's summary)."""
        out = dict(self.alerts.totals) | dict(self.dispatcher.totals)
        self.alerts.totals.clear()
        self.dispatcher.totals.clear()
        return out


_runtimes: dict[str, Runtime] = {}
_lock = threading.Lock()


def ensure_running(engine: Engine, ms: MonitoringSettings) -> Runtime:
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        rt = _runtimes.get(key)
        if rt is None:
            rt = _runtimes[key] = Runtime(engine, ms)
            rt.start()
            log.info("monitoring loops started", extra={"poll_seconds": ms.monitoring_poll_seconds})
        return rt


def stop(engine: Engine) -> None:
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        rt = _runtimes.pop(key, None)
    if rt is not None:
        rt.stop()
