"""Request ids, structured JSON logs and Prometheus metrics.

One pure ASGI middleware does all three per request (a request id, a latency observation, an error log line)
so the screening hot path pays for one wrapper, not three. Log records are JSON, carry the request id, and pass
through a filter that blanks anything shaped like an API key or a bearer token, whatever the caller logged.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.db.engine import control_engine, in_request, read_only

if TYPE_CHECKING:
    from registry.screening.log import ScreeningLogWriter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

HTTP_REQUESTS = Counter("registry_http_requests_total", "HTTP requests", ["route", "method", "status"])
HTTP_LATENCY = Histogram(
    "registry_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SCREENINGS = Counter("registry_screenings_total", "addresses screened, by resulting risk level", ["level"])
SCREENINGS_BY_LEVEL = {level: SCREENINGS.labels(level) for level in ("low", "medium", "high", "severe")}
"""Children resolved once: ``labels()`` per screening showed up in the profile."""

_REQUEST_ID_OK = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SECRETS = re.compile(r"(rk_[A-Za-z0-9_-]{10,})|((?i:bearer)\s+\S+)")


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if _SECRETS.search(msg):
            record.msg = _SECRETS.sub("[redacted]", msg)
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    _SKIP = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id.get(),
        }
        for k, v in record.__dict__.items():
            if k not in self._SKIP and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _SECRETS.sub("[redacted]", orjson.dumps(out, default=str).decode())


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "apscheduler"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Requests are logged by RequestObserver (errors, slow ones, or all with REGISTRY_ACCESS_LOG); uvicorn's own
    # access log would write a line per request, which costs more than a cached 304 answer.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    access.disabled = True
    logging.getLogger("apscheduler").setLevel("WARNING")


log = logging.getLogger("registry.http")


class RequestObserver:
    def __init__(self, app: ASGIApp, slow_seconds: float = 1.0, access_log: bool = False) -> None:
        self.app = app
        self.slow = slow_seconds
        self.access_log = access_log
        # Request ids: a random process prefix and a counter; uuid4 per request costs a getrandom() syscall.
        self._prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count(1)
        # labels() takes a lock and hashes its arguments; the children are cached per label set instead.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def _metrics(self, path: str, method: str, status: int) -> tuple[Any, Any]:
        key = (path, method, str(status))
        pair = self._children.get(key)
        if pair is None:
            pair = self._children[key] = (HTTP_REQUESTS.labels(*key), HTTP_LATENCY.labels(path))
        return pair

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate = value.decode("latin-1")
                rid = candidate if _REQUEST_ID_OK.fullmatch(candidate) else ""
                break
        rid = rid or f"{self._prefix}{next(self._counter):016x}"
        token = request_id.set(rid)
        db_token = in_request.set(True)  # this request's transactions keep the API's short limits (db/engine.py)
        status = 500
        started = time.perf_counter()
        rid_header = (b"x-request-id", rid.encode())

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            count, latency = self._metrics(path, scope["method"], status)
            count.inc()
            latency.observe(elapsed)
            if self.access_log or status >= 500 or elapsed > self.slow:
                log.info(
                    "request",
                    extra={"method": scope["method"], "route": path, "status": status, "ms": round(elapsed * 1000, 2)},
                )
            in_request.reset(db_token)
            request_id.reset(token)


class DatabaseCollector(Collector):
    """Gauges read from the database at scrape time, so every worker reports the same truth.

    Read on the control engine (two-second limits, connections of its own): a scrape during an incident must
    answer, with fewer gauges if need be, rather than wait for the request pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = control_engine(engine)

    def collect(self) -> Iterable[Metric]:
        versions = GaugeMetricFamily(
            "registry_state", "version counters (registry, blocklist serial, …)", labels=["name"]
        )
        jobs = GaugeMetricFamily(
            "registry_job_runs", "job runs recorded, by job and outcome", labels=["job", "outcome"]
        )
        lag = GaugeMetricFamily(
            "registry_sync_lag_seconds", "seconds since the last successful sync run, per network", labels=["network"]
        )
        cursor = GaugeMetricFamily("registry_sync_next_block", "next block the full sync fetches", labels=["network"])
        try:
            with read_only(self.engine).connect() as c:
                for name, value in c.execute(text("SELECT name, value FROM registry_state")):
                    versions.add_metric([str(name)], float(value))
                for job, outcome, n in c.execute(
                    text("SELECT job_id, outcome, count(*) FROM job_run GROUP BY job_id, outcome")
                ):
                    jobs.add_metric([str(job), str(outcome)], float(n))
                now = datetime.now(UTC)
                try:
                    for network, finished in c.execute(
                        text("SELECT network, max(finished_at) FROM sync_run WHERE status = 'ok' GROUP BY network")
                    ):
                        if finished is not None:
                            f = finished if isinstance(finished, datetime) else datetime.fromisoformat(str(finished))
                            f = f.replace(tzinfo=UTC) if f.tzinfo is None else f
                            lag.add_metric([str(network)], (now - f).total_seconds())
                    for network, nxt in c.execute(text("SELECT network, next_block FROM sync_cursor")):
                        cursor.add_metric([str(network)], float(nxt))
                except Exception:  # sync tables absent: nothing to report
                    pass
        except Exception:
            log.warning("metrics: database unreachable")
            return []
        return [versions, jobs, lag, cursor]


class ScreeningLogCollector(Collector):
    """This worker's screening log buffer: how full it is, how old its oldest row, what was written and refused.

    Per worker (the buffer is per process). Alarm on ``registry_screening_log_refused_rows_total`` increasing and on
    the depth staying above the high-water mark: the database is not keeping up with the screenings."""

    def __init__(self, writer: ScreeningLogWriter) -> None:
        self.writer = writer

    def collect(self) -> Iterable[Metric]:
        w = self.writer
        yield GaugeMetricFamily(
            "registry_screening_log_buffer_rows", "screening log rows waiting to be written", w.depth
        )
        yield GaugeMetricFamily(
            "registry_screening_log_buffer_capacity", "most rows buffered before screenings are refused", w.capacity
        )
        yield GaugeMetricFamily(
            "registry_screening_log_buffer_high_water", "buffered rows past which /readyz is not ready", w.high_water
        )
        yield GaugeMetricFamily(
            "registry_screening_log_oldest_row_seconds", "age of the oldest unwritten row", w.oldest_age()
        )
        yield CounterMetricFamily("registry_screening_log_written_rows", "screening log rows written", w.written)
        refused_rows = CounterMetricFamily(
            "registry_screening_log_refused_rows",
            "screenings refused (503): lag (the database writes slower than screenings arrive) or capacity (it is "
            "not writing and the buffer is full)",
            labels=["reason"],
        )
        refused_requests = CounterMetricFamily(
            "registry_screening_log_refused_requests", "requests refused by the screening log", labels=["reason"]
        )
        for reason, n in w.refused_rows.items():
            refused_rows.add_metric([reason], n)
        for reason, n in w.refused_requests.items():
            refused_requests.add_metric([reason], n)
        yield refused_rows
        yield refused_requests
        yield CounterMetricFamily(
            "registry_screening_log_write_failures", "failed writes (rows kept and retried)", w.write_failures
        )
