"""The one local HTTP server of the chain tests: strict replays of recorded exchanges (TronGrid, Esplora), and a
programmable front for a live node (the faulty node in front of anvil).

``ReplayServer`` is the HTTP plumbing: it logs every request (``requests``, for assertions on pagination, retries
and back-off) and hands it to a handler. ``Recording`` is the handler for APIs that cannot run here: a directory
of recorded exchanges (``manifest.json`` plus one body file per request, see ``tests/chains/bodies/README.md``).
It answers a request only when it is one that was recorded — same method and path, the same query parameters
with the same values, the same JSON body, and the headers the recording names (an API key) — with the recorded
status and body file, byte for byte. Anything else gets a 400 whose body names the mismatch (``query parameter
order_by: missing, recorded 'block_timestamp,asc'``), and the mismatch is kept in ``mismatches`` so a fixture can
fail the test even when the client swallowed the 400.

``Faults`` injects, before any matching, what real services do now and then: 429 with Retry-After, 5xx, a stall
longer than the client's timeout, a malformed body. Faults are not recorded; the request behind them is.

A recording is made by running the tests with ``REGISTRY_TEST_RECORD_REPLAYS=1``: ``Recording.recorder`` forwards each
request to an upstream (a handler, or the URL of the real service) and writes what it answered.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[str, str, dict[str, str], bytes], Reply]
"""``(method, path, query, body) -> (status, headers, body)``: the simple form, for programmable fronts."""
JSON = {"Content-Type": "application/json"}
TEXT = {"Content-Type": "text/plain"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # as sent: order kept, repeated names and blank values too
    headers: dict[str, str]
    body: bytes

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    def header(self, name: str) -> str | None:
        low = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == low), None)

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def describe(self) -> str:
        q = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.method} {self.path}{'?' + q if q else ''}" + (f" {self.body[:200]!r}" if self.body else "")


Responder = Callable[[Request], Reply]


class ReplayServer:
    """A threaded HTTP server on a free loopback port; ``handler`` gets ``(method, path, query, body)``, or give
    ``respond`` to get the whole ``Request`` (headers and repeated parameters included)."""

    def __init__(self, handler: Handler | None = None, *, respond: Responder | None = None) -> None:
        if (handler is None) == (respond is None):
            raise TypeError("give a handler or respond, not both")
        if respond is None:
            assert handler is not None
            plain = handler

            def respond(req: Request) -> Reply:
                return plain(req.method, req.path, req.query_dict, req.body)

        self.respond: Responder = respond
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []
        outer = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = tuple(parse_qsl(parts.query, keep_blank_values=True))
                req = Request(self.command, parts.path, query, dict(self.headers.items()), body)
                outer.requests.append((req.method, req.path, req.query_dict, req.headers))
                status, headers, payload = outer.respond(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Faults:
    """Per-path rules: the first ``n`` matching requests get the fault, then the service behaves."""

    rules: list[tuple[str, str, int]] = field(default_factory=list)  # (path prefix, kind, remaining)
    stall_seconds: float = 1.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, prefix: str, kind: str, times: int = 1) -> None:
        self.rules.append((prefix, kind, times))

    def take(self, path: str) -> str | None:
        with self.lock:
            for i, (prefix, kind, n) in enumerate(self.rules):
                if path.startswith(prefix) and n != 0:
                    self.rules[i] = (prefix, kind, n - 1)
                    return kind
        return None

    def reply(self, path: str) -> Reply | None:
        kind = self.take(path)
        if kind is None:
            return None
        if kind == "429":
            return 429, {"Retry-After": "0", **JSON}, b'{"Error":"request rate exceeded"}'
        if kind == "503":
            return 503, {}, b"Service Unavailable"
        if kind == "stall":
            time.sleep(self.stall_seconds)
            return None
        if kind == "malformed":
            return 200, JSON, b'{"block": [{"blockID": '
        raise AssertionError(kind)


def resource_name(req: Request, content_type: str, status: int) -> str:
    """The body file of a request, named after it the way ethereum-etl names its test resources: the path with
    ``/`` as ``_``, then ``__`` and the parameters (query, or a JSON body's top-level fields) as ``k=v`` joined by
    ``_``; ``.<status>`` when not 200; ``.json`` or ``.txt``. Names past 180 characters end in a hash instead."""
    stem = req.path.strip("/").replace("/", "_") or "root"
    params = list(req.query)
    try:
        body = req.json() if req.body and "json" in (req.header("Content-Type") or "json") else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        params += [(k, orjson.dumps(v).decode().strip('"')) for k, v in body.items()]
    name = stem + ("__" + "_".join(f"{k}={v}" for k, v in params) if params else "")
    name = re.sub(r"[^A-Za-z0-9=,._+-]", "-", name)
    if len(name) > 180:
        name = name[:160] + "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    if status != 200:
        name += f".{status}"
    return name + (".json" if "json" in content_type else ".txt")


@dataclass
class Exchange:
    method: str
    path: str
    query: list[tuple[str, str]]
    json_body: Any  # the JSON request body, None for none
    status: int
    headers: dict[str, str]
    body_file: str

    def key(self) -> tuple[Any, ...]:
        return (
            self.method,
            self.path,
            tuple(sorted(self.query)),
            orjson.dumps(self.json_body, option=orjson.OPT_SORT_KEYS),
        )

    def manifest(self) -> dict[str, Any]:
        request: dict[str, Any] = {"method": self.method, "path": self.path, "query": [list(kv) for kv in self.query]}
        if self.json_body is not None:
            request["json"] = self.json_body
        return {
            "request": request,
            "response": {"status": self.status, "headers": self.headers, "body": self.body_file},
        }


def _differences(ex: Exchange, req: Request, got_json: Any) -> list[str]:
    out = []
    recorded = dict(ex.query)
    sent: dict[str, list[str]] = {}
    for k, v in req.query:
        sent.setdefault(k, []).append(v)
    for k, v in recorded.items():
        if k not in sent:
            out.append(f"query parameter {k}: missing, recorded {v!r}")
        elif sent[k] != [v]:
            out.append(f"query parameter {k}: sent {', '.join(map(repr, sent[k]))}, recorded {v!r}")
    for k in sent:
        if k not in recorded:
            out.append(f"query parameter {k}: sent {', '.join(map(repr, sent[k]))}, not in the recording")
    if got_json != ex.json_body:
        sent_json, recorded_json = orjson.dumps(got_json).decode(), orjson.dumps(ex.json_body).decode()
        out.append(f"JSON body: sent {sent_json[:200]}, recorded {recorded_json[:200]}")
    return out


_RECORDED_THIS_RUN: set[Path] = set()


class Recording:
    """Recorded exchanges of one service in one state (a *scene*), served strictly; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        *,
        faults: Faults | None = None,
        headers: dict[str, str] | None = None,
        upstream: Responder | None = None,
    ) -> None:
        self.dir = directory
        self.match_headers: dict[str, str] = dict(headers or {})
        self.exchanges: dict[tuple[Any, ...], Exchange] = {}
        self.mismatches: list[str] = []
        self.faults = faults or Faults()
        self.upstream = upstream
        manifest = directory / "manifest.json"
        if upstream is None and not manifest.exists():
            raise FileNotFoundError(
                f"no recording in {directory}: record it with REGISTRY_TEST_RECORD_REPLAYS=1 "
                "(tests/chains/bodies/README.md)"
            )
        if manifest.exists():
            raw = orjson.loads(manifest.read_bytes())
            self.match_headers = dict(raw.get("headers") or {})
            for e in raw["exchanges"]:
                rq, rs = e["request"], e["response"]
                ex = Exchange(
                    rq["method"],
                    rq["path"],
                    [(k, v) for k, v in rq.get("query", [])],
                    rq.get("json"),
                    int(rs["status"]),
                    dict(rs.get("headers") or {}),
                    rs["body"],
                )
                self.exchanges[ex.key()] = ex

    @classmethod
    def recorder(
        cls,
        directory: Path,
        upstream: Responder | Handler,
        *,
        faults: Faults | None = None,
        headers: dict[str, str] | None = None,
    ) -> Recording:
        """Record what ``upstream`` answers (a handler, or ``forward_to(url)`` for the real service) into
        ``directory``; ``save()`` writes the manifest. The first recorder of a directory in a process empties it,
        later ones (other tests using the same scene) add to it."""
        if directory not in _RECORDED_THIS_RUN:
            _RECORDED_THIS_RUN.add(directory)
            if directory.exists():
                for old in directory.iterdir():
                    old.unlink()
        return cls(directory, faults=faults, headers=headers, upstream=_as_responder(upstream))

    def respond(self, req: Request) -> Reply:
        fault = self.faults.reply(req.path)
        if fault is not None:
            return fault
        if self.upstream is not None:
            return self._record(req)
        return self._replay(req)

    def _replay(self, req: Request) -> Reply:
        try:
            got_json = req.json() if req.body else None
        except orjson.JSONDecodeError:
            got_json = req.body.decode(errors="replace")
        problems = [
            f"header {k}: {'missing' if req.header(k) is None else repr(req.header(k))}, recorded {v!r}"
            for k, v in self.match_headers.items()
            if req.header(k) != v
        ]
        candidates = [ex for ex in self.exchanges.values() if ex.method == req.method and ex.path == req.path]
        if not candidates:
            paths = sorted({f"{ex.method} {ex.path}" for ex in self.exchanges.values()})
            problems.append(f"no exchange recorded for {req.method} {req.path} (recorded: {len(paths)} paths)")
        else:
            diffs = sorted((_differences(ex, req, got_json) for ex in candidates), key=len)
            if diffs[0]:
                problems += diffs[0]
                if len(candidates) > 1:
                    problems.append(f"(nearest of {len(candidates)} recorded {req.method} {req.path} exchanges)")
        if problems:
            message = f"not a recorded request: {req.describe()}: " + "; ".join(problems)
            self.mismatches.append(message)
            return 400, JSON, orjson.dumps({"Error": message})
        ex = next(ex for ex in candidates if not _differences(ex, req, got_json))
        return ex.status, ex.headers, (self.dir / ex.body_file).read_bytes()

    def _record(self, req: Request) -> Reply:
        assert self.upstream is not None
        for k, v in self.match_headers.items():
            assert req.header(k) == v, f"recording {req.describe()}: header {k} is {req.header(k)!r}, not {v!r}"
        status, headers, payload = self.upstream(req)
        content_type = headers.get("Content-Type", "application/json")
        ex = Exchange(
            req.method,
            req.path,
            list(req.query),
            req.json() if req.body else None,
            status,
            {"Content-Type": content_type},
            resource_name(req, content_type, status),
        )
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / ex.body_file
        if ex.key() in self.exchanges:
            assert path.read_bytes() == payload, f"{req.describe()} answered two different bodies while recording"
        else:
            path.write_bytes(payload)
            self.exchanges[ex.key()] = ex
        return status, ex.headers, payload

    def save(self) -> None:
        """Write ``manifest.json`` (recording mode only): the exchanges in a stable order."""
        exchanges = sorted(self.exchanges.values(), key=lambda e: (e.path, e.body_file))
        doc = {"headers": self.match_headers, "exchanges": [e.manifest() for e in exchanges]}
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "manifest.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def _as_responder(upstream: Responder | Handler) -> Responder:
    try:
        import inspect

        n = len(inspect.signature(upstream).parameters)
    except (TypeError, ValueError):
        n = 1
    if n == 1:
        return upstream  # type: ignore[return-value]
    plain: Handler = upstream  # type: ignore[assignment]
    return lambda req: plain(req.method, req.path, req.query_dict, req.body)


def forward_to(base_url: str, timeout: float = 30) -> Responder:
    """An upstream for ``Recording.recorder``: the real service (its API key travels in the request's headers)."""
    import requests

    session = requests.Session()

    def forward(req: Request) -> Reply:
        keep = {k: v for k, v in req.headers.items() if k.lower() not in {"host", "content-length", "connection"}}
        r = session.request(
            req.method, base_url.rstrip("/") + req.path, params=list(req.query), data=req.body or None,
            headers=keep, timeout=timeout,
        )  # fmt: skip
        return r.status_code, {"Content-Type": r.headers.get("Content-Type", "application/json")}, r.content

    return forward
