"""Follow-the-money benchmark: counterparties and a 3-hop forward trace at 1,000,000 transfers among 300,000
addresses (the scoring benchmark's heavy-tailed graph, as USDT on eth), on SQLite and on PostgreSQL.

Addresses are drawn as the senders of random transfers (busy addresses are drawn more often, as investigators look
at busy wallets more often); the same addresses for every row. Each figure is the product's service function, in
process (what a request runs, without the HTTP framing), beside a baseline measured in the same run on the same
addresses, alternating with it:
- counterparties (``direction=both``, by value, first page of 50): the bare aggregate, two ``GROUP BY`` statements
  over the raw table on the same indexes, no prices, no exact sums, no page, no listings, no entities;
- trace forward (3 hops, ``min_share=0.01``): the bare grouped SQL over exactly the frontiers the trace expanded
  (recorded beforehand), no prices, no dust filter, no propagation, no enrichment.
PostgreSQL runs when ``REGISTRY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``) names a server.
``BENCH_QUICK=1`` (or ``BENCH_INVESTIGATIONS_SCALE=0.1``): 100,000 transfers and fewer addresses.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from bench.common import knob, line
from bench.scoring import CATEGORIES, USDT, make_graph, make_seeds
from registry.db.engine import make_engine, read_only
from registry.db.migrate import upgrade
from registry.investigations import service
from registry.investigations.flow import follow
from registry.scoring import queries as scoring_queries
from registry.scoring.settings import ScoringSettings
from registry.screening.snapshot import SnapshotHolder
from registry.settings import Settings

HOPS = 3
MIN_SHARE = 0.01
START = datetime(2025, 1, 1, tzinfo=UTC)


def _sizes() -> tuple[int, int, int]:
    scale = knob("INVESTIGATIONS_SCALE", 1, 0.1)
    return int(300_000 * scale), int(1_000_000 * scale), int(knob("INVESTIGATIONS_SAMPLES", 200, 40))


def _names(n: int) -> list[str]:
    return [f"0x{i:040x}" for i in range(n)]


def _transfers(n: int, m: int) -> Iterator[tuple[Any, ...]]:
    """``(tx_id, block, time, from, to, amount, value)``: a year of USDT transfers, times spread over it."""
    src, dst, value = make_graph(n, m)
    names = _names(n)
    base = np.rint(value * 1e6).tolist()
    for i, (s, d, b) in enumerate(zip(src.tolist(), dst.tolist(), base, strict=True)):
        yield f"0x{i:064x}", i // 100, START + timedelta(seconds=i * 31), names[s], names[d], str(int(b)), float(b)


def _seed_rows(n: int) -> tuple[list[tuple[str, str]], list[str]]:
    listed, cats, licensed = make_seeds(n)
    names = _names(n)
    return [(names[a], CATEGORIES[c]) for a, c in zip(listed.tolist(), cats.tolist(), strict=True)], [
        names[a] for a in licensed.tolist()
    ]


def _seed_sql(con: Any, n: int, mark: str, true: str) -> None:
    listings, licensed = _seed_rows(n)
    now = START.replace(tzinfo=None).isoformat(sep=" ")
    cur = con.cursor()
    cur.executemany(
        "INSERT INTO listing (chain, family, address, category, confidence, source, legal_basis, evidence_note, "
        f"status, submitted_by, created_at, listed_since) VALUES ('eth', 'evm', {mark}, {mark}, 70, 'fiu', 'bench', "
        f"'', 'active', 'bench', {mark}, {mark})",
        [(a, c, now, now) for a, c in listings],
    )
    for i, a in enumerate(licensed):
        cur.execute(
            "INSERT INTO entity (name, kind, licensed_service, created_at) "
            f"VALUES ({mark}, 'exchange', {true}, {mark})",
            (f"Exchange {i}", now),
        )
        cur.execute("SELECT max(id) FROM entity")
        (eid,) = cur.fetchone()
        cur.execute(f"INSERT INTO entity_address (entity_id, chain, address) VALUES ({mark}, 'evm', {mark})", (eid, a))
    cur.close()


def build_sqlite(path: Path, n: int, m: int) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO transfer (network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, "
        "value) VALUES ('eth', ?, 0, ?, ?, ?, ?, ?, ?, ?)",
        (
            (tx, block, t.replace(tzinfo=None).isoformat(sep=" "), frm, to, USDT, amount, value)
            for tx, block, t, frm, to, amount, value in _transfers(n, m)
        ),
    )
    _seed_sql(con, n, "?", "1")
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return engine


@contextmanager
def postgres(n: int, m: int) -> Iterator[Engine | None]:
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    admin_url = Settings(database_url=url).database_url
    admin = sa_create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"bench_investigations_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    loader = sa_create_engine(url, poolclass=NullPool)  # no request limits on the bulk load
    try:
        upgrade(engine)
        raw: Any = loader.raw_connection()
        try:
            with raw.cursor() as cur:
                cols = "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value"
                with cur.copy(f"COPY transfer ({cols}) FROM STDIN") as copy:
                    for tx, block, t, frm, to, amount, value in _transfers(n, m):
                        copy.write_row(("eth", tx, 0, block, t, frm, to, USDT, amount, value))
            _seed_sql(raw, n, "%s", "true")
            raw.commit()
        finally:
            raw.close()
        # Index-only scans want the visibility map: what autovacuum does after a load.
        with loader.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            c.execute(text("VACUUM ANALYZE"))
        yield engine
    finally:
        engine.dispose()
        loader.dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sample(n: int, m: int, count: int) -> list[str]:
    """Senders of random transfers: busy addresses come up as often as they send."""
    src, _, _ = make_graph(n, m)
    rng = np.random.default_rng(5)
    names = _names(n)
    picked = dict.fromkeys(names[i] for i in src[rng.choice(len(src), size=count * 3, replace=False)].tolist())
    return list(picked)[:count]


def _bare(engine: Engine, sql: str, params: Sequence[Any]) -> None:
    raw: Any = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(sql, params)
        cur.fetchall()
        cur.close()
    finally:
        raw.close()


def _mark(engine: Engine) -> str:
    return "?" if engine.dialect.name == "sqlite" else "%s"


def bare_counterparties(engine: Engine) -> Callable[[str], None]:
    mark = _mark(engine)
    sql = (
        f"SELECT to_address, COUNT(*), SUM(value) FROM transfer WHERE network = 'eth' AND from_address = {mark} "
        f"GROUP BY to_address UNION ALL SELECT from_address, COUNT(*), SUM(value) FROM transfer "
        f"WHERE network = 'eth' AND to_address = {mark} GROUP BY from_address"
    )
    return lambda a: _bare(engine, sql, [a, a])


def frontiers(engine: Engine, snap: Any, settings: ScoringSettings, address: str) -> list[list[str]]:
    """The frontiers the trace expands from ``address`` (recorded through the same fetch, untimed)."""
    seen: list[list[str]] = []
    with read_only(engine).connect() as conn:
        look = service.lookup(conn, snap, "evm")
        nets = service.networks("evm")

        def fetch(addresses: Sequence[str]) -> list[tuple[str, str, float, int]]:
            seen.append(list(addresses))
            return scoring_queries.edge_stats(conn, settings, nets, addresses, "outgoing")

        follow(address, "forward", fetch, look.stops, HOPS, expand_floor=MIN_SHARE * service.EXPAND_FRACTION,
               frontier=service.FRONTIER)  # fmt: skip
    return seen


def bare_trace(engine: Engine, hops: list[list[str]]) -> None:
    mark = _mark(engine)
    for frontier in hops:
        _bare(
            engine,
            "SELECT from_address, to_address, SUM(value), COUNT(*) FROM transfer WHERE network = 'eth' AND "
            f"from_address IN ({', '.join([mark] * len(frontier))}) GROUP BY from_address, to_address",
            frontier,
        )


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) * 1e3


def measure(label: str, engine: Engine, addresses: list[str], m: int) -> None:
    settings = ScoringSettings(_env_file=None)
    holder = SnapshotHolder(engine, 60)
    holder.refresh(force=True)
    snap = holder.current
    counter = bare_counterparties(engine)
    replay = {a: frontiers(engine, snap, settings, a) for a in addresses}

    def ours_cp(a: str) -> None:
        who = service.subject("eth", a)
        service.counterparties(
            engine, snap, settings, who, direction="both", sort="value", order="desc", limit=50, after=None
        )

    def ours_trace(a: str) -> None:
        who = service.subject("eth", a)
        service.trace_address(
            engine, snap, settings, who, direction="forward", hops=HOPS, min_share=MIN_SHARE, limit=200
        )

    timed: dict[str, list[float]] = {"cp": [], "cp_base": [], "tr": [], "tr_base": []}
    for a in addresses[:3]:  # warm the caches and the pool on both sides
        ours_cp(a), counter(a), ours_trace(a), bare_trace(engine, replay[a])
    runs: dict[str, Callable[[str], object]] = {
        "cp_base": counter,
        "cp": ours_cp,
        "tr_base": lambda a: bare_trace(engine, replay[a]),
        "tr": ours_trace,
    }
    for a in addresses:
        for key, fn in runs.items():
            t = time.perf_counter()
            fn(a)
            timed[key].append(time.perf_counter() - t)
    expanded = [sum(len(f) for f in replay[a]) for a in addresses]
    print(
        f"  {label}: {m:,} transfers, {len(addresses)} addresses; the trace expanded {np.median(expanded):.0f} "
        f"addresses per origin (median, max {max(expanded)})"
    )
    for name, ours, base in (("counterparties", "cp", "cp_base"), ("trace forward, 3 hops", "tr", "tr_base")):
        for q in (50, 95):
            o, b = _pct(timed[ours], q), _pct(timed[base], q)
            line(f"{label} {name} p{q}", f"{o:,.1f} ms", f"{b:,.1f} ms", o / b, "")
        worst = max(timed[ours]) * 1e3
        verdict = "ok" if _pct(timed[ours], 99) < 1000 else "MISSED"
        print(f"    p99 {_pct(timed[ours], 99):,.1f} ms, max {worst:,.1f} ms (target p99 < 1 s: {verdict})")


def main() -> None:
    n, m, count = _sizes()
    print(f"investigations: {m:,} transfers among {n:,} addresses; counterparties and a {HOPS}-hop forward trace")
    addresses = sample(n, m, count)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        engine = build_sqlite(Path(tmp) / "bench.sqlite3", n, m)
        print(f"  (setup: SQLite with {m:,} transfers in {time.perf_counter() - t:.1f} s)")
        try:
            measure("SQLite", engine, addresses, m)
        finally:
            engine.dispose()
    t = time.perf_counter()
    with postgres(n, m) as pg:
        if pg is None:
            print("  PostgreSQL: skipped (REGISTRY_TEST_POSTGRES_URL is not set)")
            return
        print(f"  (setup: PostgreSQL with {m:,} transfers in {time.perf_counter() - t:.1f} s)")
        measure("PostgreSQL", pg, addresses, m)


if __name__ == "__main__":
    main()
