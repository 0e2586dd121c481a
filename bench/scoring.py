"""Exposure scoring benchmark: 1,000,000 transfers among 300,000 addresses, H = 4, and a scaling table.

Baselines, measured in the same run on the same graph:

- for the propagation alone: H bare scipy CSR products that start from the seed matrix the rescoring builds
  (``Seeds.indicator``: one row per listed category, a 1 at each listed address) and multiply it by the transition
  matrix H times, nothing else (no blocking, no accumulation, no hop counts);
- for the whole rescoring (issue 17): four bare CSR mat-vecs, ``P @ x`` with a dense vector ``x``, on the incoming
  transition matrix of the same graph.

Rows printed: the propagation (one direction, all listed categories) against its baseline; the whole rescoring
from a cold start (a new process: database read, both directions, policy, scores stored) on SQLite and on
PostgreSQL against the four mat-vecs, with its stages and peak memory, and the snapshot reload after it; the
rescoring after a sync batch of 10,000 transfers written through the store's writer, in the same process (the
scheduler's case: only the new transfers are read); and the scaling table: the whole rescoring at 10^5, 10^6 and
10^7 transfers on PostgreSQL with each engine (sparse; Spark in ``local[2]``), time and peak memory, and the growth
per decade.

``BENCH_QUICK=1`` (or ``BENCH_SCORING_SCALE=0.1``) shrinks the 1M graph; the quick scaling table runs 10^4 and
10^5 with the sparse engine and Spark at 10^4 only. ``BENCH_SCORING_SIZES=100000,1000000`` and
``BENCH_SCORING_SPARK=0|1`` choose the table's rows. PostgreSQL rows need ``REGISTRY_TEST_POSTGRES_URL`` (or
``BENCH_POSTGRES_URL``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from bench.common import QUICK, knob
from registry.scoring.propagate import Graph, Seeds, propagate, propagate_matrix, transition

HOPS = 4
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
CATEGORIES = ("fraud", "sanctions", "drug_trafficking", "money_mule", "ransomware")
NEW_TRANSFERS = 10_000


def _sizes() -> tuple[int, int]:
    scale = knob("SCORING_SCALE", 1, 0.1)
    return int(300_000 * scale), int(1_000_000 * scale)


Arrays = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]


def make_graph(n: int, m: int, seed: int = 7) -> Arrays:
    """Heavy-tailed like a real chain: a few hubs touch much of the traffic, most addresses a handful of transfers."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    weights /= weights.sum()
    perm_src, perm_dst = rng.permutation(n), rng.permutation(n)
    src = perm_src[rng.choice(n, size=m, p=weights)]
    dst = perm_dst[rng.choice(n, size=m, p=weights)]
    value = rng.lognormal(mean=3.0, sigma=2.0, size=m)  # in the price unit (USDT-like 6 decimals below)
    return src.astype(np.int64), dst.astype(np.int64), value


def make_seeds(n: int, seed: int = 11) -> Arrays:
    rng = np.random.default_rng(seed)
    listed = rng.choice(n, size=max(1, n // 300), replace=False)
    cats = rng.integers(0, len(CATEGORIES), size=len(listed))
    licensed = rng.choice(np.setdiff1d(np.arange(n), listed), size=min(20, n // 10), replace=False)
    return listed.astype(np.int64), cats.astype(np.int64), licensed.astype(np.int64)


def best_of(k: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(k):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def interleaved(k: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(k):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def baseline_matvecs(p: sp.csr_matrix, seeds: Seeds, hops: int) -> Callable[[], object]:
    """``hops`` bare products from the same sparse seeds as the propagation: category x node seed matrix, times
    the transition matrix, ``hops`` times (scipy sparse x sparse, which walks only the rows the seeds reach)."""
    s = seeds.indicator(p.shape[0])

    def run() -> object:
        x = s
        for _ in range(hops):
            x = x @ p
        return x

    return run


def four_matvecs(p: sp.csr_matrix) -> Callable[[], object]:
    """The whole rescoring's baseline (issue 17): four bare CSR mat-vecs ``P @ x``, ``x`` a dense vector."""
    x = np.random.default_rng(3).random(p.shape[0])

    def run() -> object:
        y = x
        for _ in range(4):
            y = p @ y
        return y

    return run


def _evm(i: np.ndarray[Any, Any]) -> list[str]:
    return [f"0x{x:040x}" for x in i.tolist()]


# -- databases ---------------------------------------------------------------------------------------------------

TRANSFER_COLUMNS = (
    "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value, from_id, to_id, asset_id"
)


def _rows(src: Any, dst: Any, value: Any, names: list[str], start: int, when: Any) -> Iterator[tuple[Any, ...]]:
    """Transfer rows with their dictionary ids (address ``i`` has id ``i + 1``, USDT on eth is asset 1), as the
    store's writer leaves them."""
    base = np.rint(value * 1e6)
    for i, (s, d, b) in enumerate(zip(src.tolist(), dst.tolist(), base.tolist(), strict=True), start):
        yield (
            "eth",
            f"0x{i:064x}",
            0,
            i // 100,
            when,
            names[s],
            names[d],
            USDT,
            str(int(b)),
            float(b),
            s + 1,
            d + 1,
            1,
        )


def build_db(url: str, n: int, m: int, seed: int = 7) -> None:
    """The graph as USDT transfers on eth with their address ids, 1 listing per 300 addresses in five categories,
    licensed entities; in a migrated database (SQLite file or PostgreSQL). Written in chunks of 10^6 transfers."""
    from sqlalchemy import text

    from registry.db.engine import make_engine
    from registry.db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    listed, cats, licensed = make_seeds(n)
    names = _evm(np.arange(n))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sqlite = engine.dialect.name == "sqlite"
    when: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    raw: Any = engine.raw_connection()
    try:
        cur = raw.cursor()
        if sqlite:
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("BEGIN")
            cur.executemany("INSERT INTO address (id, family, address) VALUES (?, 'evm', ?)", enumerate(names, 1))
            cur.execute("INSERT INTO transfer_asset (id, network, asset) VALUES (1, 'eth', ?)", (USDT,))
        else:
            cur.execute("SET statement_timeout = 0")  # a raw connection: the job limits of the engine do not apply
            with cur.copy("COPY address (id, family, address) FROM STDIN") as copy:
                for i, a in enumerate(names, 1):
                    copy.write_row((i, "evm", a))
            cur.execute("SELECT setval('address_id_seq', %s)", (n,))
            cur.execute("INSERT INTO transfer_asset (id, network, asset) VALUES (1, 'eth', %s)", (USDT,))
            cur.execute("SELECT setval('transfer_asset_id_seq', 1)")
        raw.commit()
        chunk = 1_000_000
        for part, lo in enumerate(range(0, m, chunk)):
            src, dst, value = make_graph(n, min(chunk, m - lo), seed=seed + part)
            rows = _rows(src, dst, value, names, lo, when)
            if sqlite:
                cur.execute("BEGIN")
                cur.executemany(f"INSERT INTO transfer ({TRANSFER_COLUMNS}) VALUES ({', '.join('?' * 13)})", rows)
            else:
                with cur.copy(f"COPY transfer ({TRANSFER_COLUMNS}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
            raw.commit()
        mark = "?" if sqlite else "%s"
        if sqlite:
            cur.execute("BEGIN")
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
        cur.executemany(
            "INSERT INTO listing (chain, family, address, category, confidence, source, legal_basis, evidence_note, "
            f"status, submitted_by, created_at, listed_since) VALUES ('eth', 'evm', {mark}, {mark}, 70, 'fiu', "
            f"'bench', '', 'active', 'bench', {mark}, {mark})",
            [(names[a], CATEGORIES[c], stamp, stamp) for a, c in zip(listed.tolist(), cats.tolist(), strict=True)],
        )
        for i, a in enumerate(licensed.tolist()):
            cur.execute(
                f"INSERT INTO entity (name, kind, licensed_service, created_at) VALUES ({mark}, 'exchange', "
                f"{'1' if sqlite else 'true'}, {mark})" + ("" if sqlite else " RETURNING id"),
                (f"Exchange {i}", stamp),
            )
            entity = cur.lastrowid if sqlite else cur.fetchone()[0]
            cur.execute(
                f"INSERT INTO entity_address (entity_id, chain, address) VALUES ({mark}, 'eth', {mark})",
                (entity, names[a]),
            )
        raw.commit()
        if not sqlite:
            cur.execute("ANALYZE")
            raw.commit()
    finally:
        raw.close()
    with engine.begin() as c:  # the counters a sync would have moved
        c.execute(text("UPDATE registry_state SET value = value + 1 WHERE name = 'transfers'"))
    engine.dispose()


@contextmanager
def postgres_db(tag: str) -> Iterator[str | None]:
    """A scratch PostgreSQL database on the benchmark server, dropped afterwards (None without a server)."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    if not url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from registry.settings import Settings

    admin_url = Settings(database_url=url).database_url
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_scoring_{tag}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- child processes: a cold start each, so that time and peak memory are the run's own ---------------------------


def _peak_mib() -> tuple[float, float]:
    """Peak RSS of this process and of its finished children (the Spark JVM), MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _jvm_peak_mib(gateway: Any) -> float:
    """Peak resident memory of the Spark driver JVM (local mode: driver and executors), from /proc."""
    proc = getattr(gateway, "proc", None)
    if proc is None:
        return float("nan")
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def end_to_end(url: str, engine_name: str = "sparse", incremental: bool = True) -> dict[str, Any]:
    """One cold rescoring in this (fresh) process; then, with ``incremental``, a sync batch of
    ``NEW_TRANSFERS`` written through the store's writer and the rescoring after it."""
    from registry.db.engine import make_engine
    from registry.scoring.rescore import rescore
    from registry.scoring.settings import ScoringSettings
    from registry.scoring.snapshot import load_exposure
    from registry.screening.snapshot import SnapshotHolder

    engine = make_engine(url)
    settings = ScoringSettings(
        _env_file=None,
        scoring_max_hops=HOPS,
        scoring_engine=engine_name,  # type: ignore[arg-type]
        spark_master="local[2]",
        spark_shuffle_partitions=4,
        spark_partitions=4,
    )
    out: dict[str, Any] = {}
    if engine_name == "spark":
        from registry.scoring.engines.spark import session

        t = time.perf_counter()
        session(settings)
        out["spark_start"] = time.perf_counter() - t
    t0 = time.perf_counter()
    summary = rescore(engine, settings, "bench")
    t1 = time.perf_counter()
    holder = SnapshotHolder(engine, 60)
    holder.exposure_loader = load_exposure
    holder.refresh()
    t2 = time.perf_counter()
    out.update(
        rescore=t1 - t0,
        snapshot=t2 - t1,
        stages=summary.timings,
        scored=summary.scored,
        transfers=summary.transfers,
        verdicts=len(holder.current.verdicts),
        peak=_peak_mib()[0],
    )
    if incremental:
        added = _sync_batch(engine, NEW_TRANSFERS)
        t3 = time.perf_counter()
        warm = rescore(engine, settings, "bench")
        out.update(
            warm=time.perf_counter() - t3,
            warm_stages=warm.timings,
            warm_added=added,
            warm_incremental=warm.incremental,
        )
    if engine_name == "spark":
        from pyspark import SparkContext

        from registry.scoring.engines.spark import session

        out["jvm_peak"] = _jvm_peak_mib(SparkContext._gateway)
        session(settings).stop()
    engine.dispose()
    return out


def _sync_batch(engine: Any, count: int) -> int:
    """A sync batch arriving: ``count`` new transfers among the same addresses, through ``store.write_transfers``
    in one transaction with the counter bump, as ``registry.sync.blocks`` writes them."""
    from chains.types import Transfer
    from registry.db import state
    from registry.db.engine import session_scope
    from registry.transfers import store

    src, dst, value = make_graph(_sizes()[0], count, seed=99)
    names = _evm(np.concatenate([src, dst]))
    when = datetime(2026, 1, 2, tzinfo=UTC)
    batch = [
        Transfer("eth", f"0xbeef{i:060x}", 0, 10**8, when, names[i], names[count + i], USDT, int(b))
        for i, b in enumerate(np.rint(value * 1e6).tolist())
    ]
    with session_scope(engine) as s:
        inserted, _ = store.write_transfers(s, batch)
        state.bump(s, state.TRANSFERS)
    return inserted


def child(fn: str, *args: Any) -> dict[str, Any]:
    call = f"import json, bench.scoring as b; print(json.dumps(b.{fn}(*{args!r})))"
    out = subprocess.run([sys.executable, "-c", call], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{fn}{args!r} failed: {out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- the report ----------------------------------------------------------------------------------------------------


def main() -> None:
    n, m = _sizes()
    print(f"scoring: {m:,} transfers among {n:,} addresses, H = {HOPS}")
    src, dst, value = make_graph(n, m)
    listed, cats, licensed = make_seeds(n)
    graph = Graph.from_edges(n, src, dst, value)
    blocked = np.zeros(n, dtype=bool)
    blocked[listed] = True
    blocked[licensed] = True
    seeds = Seeds(CATEGORIES, listed, cats, blocked)
    p_in, p_out = transition(graph, "incoming"), transition(graph, "outgoing")
    # Baselines and propagation alternate, best of 7 each: the machine is shared, and load drifts.
    timed = interleaved(
        7,
        {
            "baseline": baseline_matvecs(p_in, seeds, HOPS),
            "baseline_out": baseline_matvecs(p_out, seeds, HOPS),
            "matvecs": four_matvecs(p_in),
            "haircut": lambda: propagate_matrix(p_in, seeds, HOPS, "haircut"),
            "poison": lambda: propagate_matrix(p_in, seeds, HOPS, "poison"),
            "haircut_out": lambda: propagate_matrix(p_out, seeds, HOPS, "haircut"),
        },
    )
    base = timed["baseline"]
    print(
        f"  baseline: {HOPS} bare CSR products from the same sparse seeds ({len(CATEGORIES)} category rows, "
        f"{len(listed):,} listed addresses) on the incoming transition matrix, nnz {p_in.nnz:,}: {base * 1e3:8.2f} ms"
    )
    tracemalloc.start()
    propagate_matrix(p_in, seeds, HOPS, "haircut")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    prop = timed["haircut"]
    print(
        f"  propagation (haircut, incoming, {len(CATEGORIES)} categories + min hops): {prop * 1e3:8.1f} ms "
        f"= {prop / base:.2f}x baseline (target <= 2x: {'ok' if prop / base <= 2 else 'MISSED'}); "
        f"peak memory {peak / 2**20:.0f} MiB"
    )
    print(f"  propagation (poison, incoming): {timed['poison'] * 1e3:8.1f} ms = {timed['poison'] / base:.2f}x baseline")
    out_ratio = timed["haircut_out"] / timed["baseline_out"]
    print(
        f"  propagation (haircut, outgoing): {timed['haircut_out'] * 1e3:8.1f} ms = {out_ratio:.2f}x its baseline "
        f"({timed['baseline_out'] * 1e3:.1f} ms on the outgoing matrix)"
    )
    both = best_of(3, lambda: [propagate(graph, seeds, d, HOPS) for d in ("incoming", "outgoing")])
    print(f"  both directions incl. building the transition matrices: {both * 1e3:8.1f} ms = {both / base:.2f}x")
    mv = timed["matvecs"]
    print(
        f"  baseline of the whole rescoring: 4 bare CSR mat-vecs P @ x (dense x) on the same matrix: {mv * 1e3:.2f} ms"
    )

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        build_db(sqlite_url, n, m)
        print(
            f"  (setup: SQLite with {m:,} transfers and their address ids written in {time.perf_counter() - t:.1f} s)"
        )
        _whole("SQLite", child("end_to_end", sqlite_url), mv)
    with postgres_db("e2e") as pg_url:
        if pg_url is None:
            print("  PostgreSQL rows: skipped (set REGISTRY_TEST_POSTGRES_URL)")
        else:
            t = time.perf_counter()
            build_db(pg_url, n, m)
            print(f"  (setup: PostgreSQL with {m:,} transfers written in {time.perf_counter() - t:.1f} s)")
            _whole("PostgreSQL", child("end_to_end", pg_url), mv)
    scaling()


def _whole(db: str, r: dict[str, Any], mv: float) -> None:
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in r["stages"].items())
    ratio = r["rescore"] / mv
    print(
        f"  whole rescoring from a cold start, {db} (read -> both directions -> policy -> {r['scored']:,} scores "
        f"stored): {r['rescore']:.2f} s = {ratio:.0f}x the 4 mat-vecs (target <= 30x: "
        f"{'ok' if ratio <= 30 else 'MISSED'}); peak RSS {r['peak']:.0f} MiB"
    )
    print(f"    stages: {stages}; then the snapshot reload ({r['verdicts']:,} verdicts): {r['snapshot']:.2f} s")
    mode = "incremental: only the new transfers read" if r["warm_incremental"] else "full reload (cache missed)"
    print(
        f"  rescoring after a sync batch of {r['warm_added']:,} transfers (written through the store's writer), "
        f"same process ({mode}), {db}: {r['warm']:.2f} s = {r['warm'] / mv:.0f}x the 4 mat-vecs, "
        f"{r['warm'] / r['rescore']:.0%} of the cold run"
    )
    print("    stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in r["warm_stages"].items()))


def scaling() -> None:
    """Whole rescoring (cold process) at each size with each engine, on PostgreSQL."""
    wanted = os.environ.get("BENCH_SCORING_SIZES")
    sizes = [int(float(s)) for s in wanted.split(",")] if wanted else [10**4, 10**5] if QUICK else [10**5, 10**6, 10**7]
    spark_env = os.environ.get("BENCH_SCORING_SPARK")
    spark_sizes = sizes if spark_env == "1" else [] if spark_env == "0" else sizes[:1] if QUICK else sizes
    print(
        f"  scaling: whole rescoring from a cold process on PostgreSQL, H = {HOPS}, 0.3 addresses per transfer "
        "(Spark: local[2], JDBC in 4 partitions; time includes its session start, memory is the JVM's)"
    )
    print(f"    {'transfers':>12} {'engine':<7} {'time':>9} {'growth':>7} {'peak memory':>16}  stages")
    last: dict[str, float] = {}
    for m in sizes:
        with postgres_db("scale") as url:
            if url is None:
                print("    skipped (set REGISTRY_TEST_POSTGRES_URL)")
                return
            t = time.perf_counter()
            build_db(url, max(10, int(m * 0.3)), m)
            setup = time.perf_counter() - t
            for name in ("sparse", "spark"):
                if name == "spark" and m not in spark_sizes:
                    continue
                r = child("end_to_end", url, name, False)
                total = r["rescore"] + r.get("spark_start", 0.0)
                growth = f"{total / last[name]:.1f}x" if name in last else ""
                last[name] = total
                memory = f"{r['peak']:.0f} MiB" if name == "sparse" else f"{r['jvm_peak']:.0f} MiB JVM"
                stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items() if v >= 0.05)
                extra = f"session start {r['spark_start']:.1f}, " if name == "spark" else ""
                print(f"    {m:>12,} {name:<7} {total:8.2f}s {growth:>7} {memory:>16}  {extra}{stages}")
            print(f"    {'':>12} (setup {setup:.0f} s)")


if __name__ == "__main__":
    main()
