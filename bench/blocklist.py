"""Blocklist speed with 100,000 blocked domains.

- render time of each feed format, beside the cheapest possible rendering of the same list (one join of the
  names into bytes) measured in the same run;
- ``If-None-Match`` polls answered 304 over real HTTP (key checked), 32 connections, beside a bare Starlette
  plaintext endpoint under the same uvicorn settings: target >= 80 % of its requests/s. Any response other than
  2xx/3xx (the 304s are 3xx), any socket error and any error in the server's log fails the benchmark.
``BENCH_QUICK=1`` runs it small and short.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
import time
from typing import Any

import httpx
from sqlalchemy import insert

from bench.common import (
    PEPPER,
    knob,
    line,
    run_wrk,
    scratch_sqlite,
    start_plaintext_baseline,
    start_registry_server,
)
from blocklist.feeds.cache import publish
from blocklist.feeds.render import FORMATS, render
from blocklist.feeds.service import load_feed
from blocklist.feeds.signing import Signer, parse_private_key
from blocklist.register.seed import ensure_seed
from blocklist.tables import BlocklistDomain, FeedEntry
from registry.audit.service import CLI
from registry.auth.service import create_key
from registry.db import state
from registry.db.engine import make_engine, session_scope
from registry.db.migrate import upgrade
from registry.db.types import utcnow

N_DOMAINS = int(knob("DOMAINS", 100_000, 10_000))
SECONDS = knob("SECONDS", 10, 3)
ROUNDS = 3
SIGNING_KEY = "6a" * 32


def _domains(n: int) -> list[str]:
    rng = random.Random(5)
    tlds = ["com", "kz", "net", "io", "org", "co.uk", "xn--p1ai"]
    out: set[str] = set()
    while len(out) < n:
        label = "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(6, 14)))
        out.add(f"{label}-swap.{rng.choice(tlds)}")
    return sorted(out)


def _fill(db_url: str, domains: list[str]) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    ensure_seed(engine)
    now = utcnow()
    with session_scope(engine) as s:
        serial = state.bump(s, state.BLOCKLIST)
        s.execute(
            insert(BlocklistDomain),
            [
                {
                    "domain": d,
                    "registrable": d,
                    "origin": "investigator",
                    "legal_basis": "bench",
                    "evidence": {},
                    "status": "active",
                    "submitted_by": "bench",
                    "created_at": now,
                    "serial_added": serial,
                }
                for d in domains
            ],
        )
        s.execute(insert(FeedEntry), [{"domain": d, "action": "block", "serial": serial} for d in domains])
    engine.dispose()


def _best(fn: object, repeat: int = 3) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


NO_RATE_LIMIT = {"REGISTRY_RATE_LIMIT_PER_SECOND": "1000000000", "REGISTRY_RATE_LIMIT_BURST": "1000000000"}


async def _asgi_per_request(app: Any, path: str, query: bytes, headers: list[tuple[bytes, bytes]], n: int) -> float:
    """Seconds per request of an ASGI app called directly: the app's own cost, without sockets or HTTP parsing."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    took = (time.perf_counter() - started) / n
    assert set(statuses) <= {200, 304}, set(statuses)
    return took


def _in_process(db_url: str, isp_key: str) -> None:
    """The 304 through the whole app (auth, middleware, observability) against a bare Starlette plaintext app,
    both called in-process: less at the mercy of other processes on a shared machine than the wrk figures."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from blocklist.routes import FEEDS
    from registry.app import create_app
    from registry.settings import Settings

    async def plain(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    bare = Starlette(routes=[Route("/", plain)])
    os.environ["REGISTRY_SIGNING_KEY"] = SIGNING_KEY
    engine = make_engine(db_url)
    # The one benchmark key would hit the per-key rate limit; lifted, as for an ISP polling within its contract.
    app = create_app(
        Settings(database_url=db_url, key_pepper=PEPPER, rate_limit_per_second=1e9, rate_limit_burst=1e9), engine
    )

    async def measure() -> tuple[list[float], list[float]]:
        async with app.router.lifespan_context(app):  # seed, render, poller: as at server start
            etag = app.state.ctx[FEEDS].current.etags["rpz"].encode()
            headers = [(b"authorization", f"Bearer {isp_key}".encode()), (b"if-none-match", etag)]
            ours, base = [], []
            for _ in range(ROUNDS):
                ours.append(await _asgi_per_request(app, "/v1/blocklist", b"format=rpz", headers, 3000))
                base.append(await _asgi_per_request(bare, "/", b"", [], 3000))
            return ours, base

    ours, base = asyncio.run(measure())
    engine.dispose()
    line(
        "304 in-process, whole app (per request)",
        f"{min(ours) * 1e6:.0f} us",
        f"{min(base) * 1e6:.0f} us",
        min(ours) / min(base),
        "",
    )


def main() -> None:
    domains = _domains(N_DOMAINS)
    db_url = scratch_sqlite()
    _fill(db_url, domains)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        t = time.perf_counter()
        feed = load_feed(conn)
        load_s = time.perf_counter() - t
    engine.dispose()
    print(
        f"  {len(feed.blocked):,} blocked + {len(feed.passthru)} licensed domains; "
        f"feed loaded in {load_s * 1000:.0f} ms"
    )
    base = _best(lambda: ("\n".join(feed.blocked) + "\n").encode())
    for fmt in FORMATS:
        took = _best(lambda fmt=fmt: render(fmt, feed))
        size = len(render(fmt, feed))
        line(
            f"render {fmt} ({size / 1e6:.1f} MB)",
            f"{took * 1000:.1f} ms",
            f"{base * 1000:.1f} ms join",
            took / base,
            "",
        )
    signer = Signer(parse_private_key(SIGNING_KEY))
    whole = _best(lambda: publish(feed, signer), repeat=1)
    print(f"  all formats + sha256 + signed manifest (what a worker does per serial): {whole * 1000:.0f} ms")

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        isp_key, _ = create_key(s, "isp", "Bench ISP", PEPPER.encode(), CLI)
    engine.dispose()
    row = "blocklist 304 on If-None-Match"
    with (
        start_registry_server(db_url, {"REGISTRY_SIGNING_KEY": SIGNING_KEY, **NO_RATE_LIMIT}, row=row) as srv,
        start_plaintext_baseline(row) as base_url,
    ):
        url = f"{srv}/v1/blocklist?format=rpz"
        auth = {"Authorization": f"Bearer {isp_key}"}
        first = httpx.get(url, headers=auth, timeout=60)
        first.raise_for_status()
        etag = first.headers["etag"]
        check = httpx.get(url, headers={**auth, "If-None-Match": etag}, timeout=10)
        assert check.status_code == 304, check.status_code
        poll = {**auth, "If-None-Match": etag}
        run_wrk(url, poll, connections=32, seconds=2, row=f"{row} (warm-up)")
        run_wrk(base_url, poll, connections=32, seconds=2, row="plaintext baseline (warm-up)")
        # The baseline gets the same requests (key, If-None-Match), which it ignores. The machine is shared:
        # alternate short rounds and keep each side's best, so a burst of someone else's
        # load does not land on one side only.
        ours, baseline = [], []
        for _ in range(ROUNDS):
            ours.append(run_wrk(url, poll, connections=32, seconds=SECONDS / ROUNDS, row=row))
            baseline.append(run_wrk(base_url, poll, connections=32, seconds=SECONDS / ROUNDS, row="plaintext baseline"))
    _in_process(db_url, isp_key)
    best = max(ours, key=lambda r: r.rps)
    best_base = max(baseline, key=lambda r: r.rps)
    line(
        "304 on If-None-Match (rpz, 32 conns)",
        f"{best.rps:,.0f} req/s p99 {best.p99_ms:.1f}ms",
        f"{best_base.rps:,.0f} req/s",
        best.rps / best_base.rps,
        ">=0.80",
    )
    print(
        "  rounds (ours / baseline req/s): "
        + ", ".join(f"{a.rps:,.0f} / {b.rps:,.0f}" for a, b in zip(ours, baseline, strict=True))
    )
    print("  wrk: no responses outside 2xx/3xx (the 304s), no socket errors; no errors in the server log")


if __name__ == "__main__":
    main()
