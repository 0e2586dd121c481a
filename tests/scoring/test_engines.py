"""The sparse and the Spark engine compute the same exposure: shares to 1e-9 and the same minimum hop counts.

Random graphs (seeded), rich enough to exercise every rule at once: cycles, two EVM networks sharing one address
space beside a Tron component, listed addresses in the middle of flows (they block), one address listed under two
categories, licensed services' addresses (they block), dust, zero values, self-transfers, an unpriced token, several
assets at different prices, three categories; both methods, both directions, the raw exposures compared. Spark runs
in local mode, one session for the module (its start-up is most of the cost): on PostgreSQL it reads the transfer
table over JDBC; on SQLite a whole rescoring reads the Parquet files of ``registry export transfers`` and must store
what the sparse engine stored. The Parquet export and its command are tested here too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.types import Transfer
from registry.db import state
from registry.db.engine import make_engine, read_only, session_scope
from registry.scoring import queries
from registry.scoring.engines.base import Exposed, SeedIds, engine_for
from registry.scoring.engines.parquet import export_transfers
from registry.scoring.engines.spark import SparkEngine
from registry.scoring.engines.sparse import SparseEngine
from registry.scoring.rescore import rescore, seed_ids
from registry.scoring.settings import USDT_ETH, USDT_TRON, ScoringSettings
from registry.transfers import store
from tests.scoring.factories import add_licensed, add_listing, add_transfers, addr
from tests.support.paths import PEPPER, ROOT

SPAM_TOKEN = "0x00000000000000000000000000000000000000aa"


@pytest.fixture(scope="module")
def spark_base() -> Iterator[ScoringSettings]:
    """One Spark session for the module: two local threads, two shuffle partitions (tiny graphs)."""
    from registry.scoring.engines.spark import session

    settings = ScoringSettings(
        _env_file=None,
        scoring_engine="spark",
        spark_master="local[2]",
        spark_shuffle_partitions=1,
        spark_partitions=2,
        # Tiny graphs: compiling each stage's generated code costs more than running it interpreted, and fewer jobs
        # (no adaptive re-planning, no broadcasts) cost less than the work they would save.
        spark_conf={
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.autoBroadcastJoinThreshold": "-1",
            "spark.ui.showConsoleProgress": "false",
        },
    )
    spark = session(settings)
    yield settings
    spark.stop()


def tron(n: int) -> str:
    return f"T{n:033d}"


def random_graph(engine: Engine, seed: int) -> None:
    """Transfers written through the store's writer (as a sync writes them), listings and licensed services."""
    rng = np.random.default_rng(seed)
    when = datetime(2026, 1, 1, tzinfo=UTC)
    evm = [addr(i) for i in range(1, 61)]
    trx = [tron(i) for i in range(1, 16)]
    rows: list[Transfer] = []

    def add(network: str, frm: str, to: str, asset: str, amount: int) -> None:
        rows.append(Transfer(network, f"0x{len(rows):064x}", 0, len(rows), when, frm, to, asset, amount))

    # Heavy-tailed senders and receivers; USDT (price 1, 6 decimals) and ETH (3000, 18 decimals) on eth, BNB on bsc.
    p = 1.0 / np.arange(1, len(evm) + 1)
    p /= p.sum()
    for _ in range(260):
        a, b = rng.choice(len(evm), size=2, p=p)
        network, asset, unit = [
            ("eth", USDT_ETH.split(":")[1], 10**6),
            ("eth", "native", 10**15),
            ("bsc", "native", 10**15),
        ][int(rng.integers(0, 3))]
        add(network, evm[a], evm[b], asset, int(rng.lognormal(3, 1.5) * unit))
    for i in range(10):  # a cycle through the hubs
        add("eth", evm[i], evm[(i + 1) % 10], "native", 10**18)
    for i in range(20):  # what must not count: self-transfers, zero values, dust (< 1 USD), an unpriced token
        add("eth", evm[i], evm[i], "native", 10**18)
        add("eth", evm[i + 20], evm[i], "native", 0)
        add("eth", evm[i + 20], evm[i + 1], USDT_ETH.split(":")[1], 500_000)
        add("eth", evm[i + 30], evm[i + 2], SPAM_TOKEN, 10**30)
    for _ in range(60):  # a Tron component: TRX (0.25) and USDT
        a, b = rng.choice(len(trx), size=2)
        asset, unit = [("native", 10**6 * 4), (USDT_TRON.split(":")[1], 10**6)][int(rng.integers(0, 2))]
        add("tron", trx[a], trx[b], asset, int(rng.lognormal(3, 1.5) * unit))
    with session_scope(engine) as s:
        assert store.insert_transfers(s, rows) == len(rows)
        state.bump(s, state.TRANSFERS)
    for i, category in [(0, "fraud"), (3, "sanctions"), (7, "mixer"), (12, "fraud"), (25, "sanctions"), (40, "mixer")]:
        add_listing(engine, evm[i], category)
    add_listing(engine, evm[12], "sanctions")  # one address, two categories
    add_listing(engine, trx[0], "fraud", chain="tron", family="tron")
    add_listing(engine, trx[5], "mixer", chain="tron", family="tron")
    add_licensed(engine, evm[1], name="Exchange A")
    add_licensed(engine, evm[9], name="Exchange B", chain="bsc")
    add_licensed(engine, trx[2], name="Exchange T", chain="tron")


def seeds_of(engine: Engine) -> SeedIds:
    with read_only(engine).connect() as conn:
        return seed_ids(conn, queries.live_listings(conn, datetime.now(UTC)), queries.licensed_keys(conn))


def as_map(e: Exposed) -> dict[tuple[int, int], tuple[float, int]]:
    return {
        (c, n): (s, h)
        for c, n, s, h in zip(e.cats.tolist(), e.nodes.tolist(), e.share.tolist(), e.hops.tolist(), strict=True)
    }


def assert_same(sparse: Exposed, spark: Exposed, what: str) -> None:
    a, b = as_map(sparse), as_map(spark)
    assert a.keys() == b.keys(), (what, sorted(a.keys() ^ b.keys())[:10])
    worst = max((abs(a[k][0] - b[k][0]) for k in a), default=0.0)
    assert worst <= 1e-9, (what, worst)
    assert [k for k in a if a[k][1] != b[k][1]] == [], what


PG_ONLY = pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Each Spark run costs seconds of local-mode overhead (jobs, stages, a JVM warming up), so each database gets the
runs that only it can: PostgreSQL the JDBC read, SQLite the Parquet read."""


@PG_ONLY
def test_engines_agree_on_a_random_graph(engine: Engine, spark_base: ScoringSettings) -> None:
    random_graph(engine, seed=29)
    base = spark_base.model_copy(update={"scoring_min_share": 0.0})
    seeds = seeds_of(engine)
    assert len(seeds.categories) == 3 and len(seeds.licensed) == 3
    sparse, spark = SparseEngine(), engine_for(base)
    assert isinstance(spark, SparkEngine)
    g_sparse, g_spark = sparse.load(engine, base), spark.load(engine, base)
    try:
        # Self-transfers, zero values, dust and the unpriced token are not counted by either.
        assert g_sparse.transfers == g_spark.transfers == 260 + 10 + 60 - _dropped(engine, base)
        assert g_sparse.addresses == g_spark.addresses
        for direction in ("incoming", "outgoing"):
            # One Spark iteration answers both methods (poison is the haircut's support); the sparse engine runs each.
            both = spark.exposures(g_spark, seeds, direction, base)
            for method in ("haircut", "poison"):
                settings = base.model_copy(update={"scoring_method": method})
                a = sparse.exposure(g_sparse, seeds, direction, settings)
                assert_same(a, both[method], f"{method} {direction}")
    finally:
        spark.release(g_spark)
    # Not a vacuous agreement: taint reaches several hops, haircut is below poison somewhere, every category shows.
    haircut = sparse.exposure(g_sparse, seeds, "incoming", base)
    poison = sparse.exposure(g_sparse, seeds, "incoming", base.model_copy(update={"scoring_method": "poison"}))
    assert set(haircut.hops.tolist()) >= {1, 2, 3, 4}
    assert set(haircut.cats.tolist()) == {0, 1, 2}
    assert (haircut.share < 1.0 - 1e-9).any() and (poison.share == 1.0).all()
    assert as_map(haircut).keys() == as_map(poison).keys()
    unblocked = SeedIds(seeds.categories, seeds.nodes, seeds.cats, seeds.licensed[:0])
    assert as_map(sparse.exposure(g_sparse, unblocked, "incoming", base)) != as_map(haircut)  # licensed ones block


def _dropped(engine: Engine, settings: ScoringSettings) -> int:
    """Random lognormal amounts can fall below the dust floor too: count them the way the rules say."""
    prices = {("eth", USDT_ETH.split(":")[1]): 1e-6, ("eth", "native"): 3000e-18, ("bsc", "native"): 600e-18}
    prices[("tron", "native")] = 0.25e-6
    prices[("tron", USDT_TRON.split(":")[1])] = 1e-6
    with engine.connect() as c:
        rows = c.execute(text("SELECT network, asset, value FROM transfer WHERE from_address <> to_address")).all()
    counted = sum(1 for n, a, v in rows if v * prices.get((n, a), 0.0) >= settings.scoring_dust_value and v > 0)
    return 260 + 10 + 60 - counted


@SQLITE_ONLY
def test_rescoring_on_spark_from_parquet_stores_what_the_sparse_engine_stores(
    engine: Engine, spark_base: ScoringSettings, tmp_path: Path
) -> None:
    """The whole rescoring with REGISTRY_SCORING_ENGINE=spark, reading the Parquet export (SQLite has no JDBC
    driver here): the same scores, actions and exposure text as the sparse engine stored, and the run says which
    engine ran."""
    random_graph(engine, seed=5)
    sparse = ScoringSettings(_env_file=None)
    rescore(engine, sparse, "t1")
    with engine.connect() as c:
        expected = c.execute(text("SELECT family, address, risk_score, action, exposure FROM address_score")).all()
    export_transfers(engine, tmp_path / "export")
    spark = spark_base.model_copy(update={"spark_source": "auto", "spark_parquet": str(tmp_path / "export")})
    summary = rescore(engine, spark, "t1")
    with engine.connect() as c:
        got = c.execute(text("SELECT family, address, risk_score, action, exposure FROM address_score")).all()
        audit = c.execute(text("SELECT after FROM audit_event WHERE action = 'scores.rescore' ORDER BY id")).all()
    assert summary.scored == len(expected) > 20
    assert sorted(got) == sorted(expected)
    assert '"engine": "spark"' in str(audit[-1][0]).replace("'", '"')


def test_export_writes_the_store_with_its_dictionaries(engine: Engine, tmp_path: Path) -> None:
    random_graph(engine, seed=3)
    out = tmp_path / "export"
    summary = export_transfers(engine, out)
    with engine.connect() as c:
        count, top = c.execute(text("SELECT count(*), max(id) FROM transfer")).one()
        pairs = set(
            c.execute(text("SELECT t.id, f.address, t.network FROM transfer t JOIN address f ON f.id = t.from_id"))
        )
    assert (summary.transfers, summary.max_id, summary.files) == (count, top, 1)
    transfers = pq.read_table(out / "transfers").to_pylist()
    addresses = {r["id"]: r["address"] for r in pq.read_table(out / "addresses").to_pylist()}
    assert len(transfers) == count and {(r["id"], addresses[r["from_id"]], r["network"]) for r in transfers} == pairs
    assert transfers[0]["block_time"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert pq.read_table(out / "assets.parquet").num_rows == summary.assets == 6
    assert (out / "manifest.json").read_text().count('"transfers"') == 1
    with pytest.raises(Exception, match="not empty"):
        export_transfers(engine, out)
    assert export_transfers(engine, out, replace=True).transfers == count


def test_export_command_writes_parquet_and_refuses_a_full_directory(sqlite_template: Path, tmp_path: Path) -> None:
    """As an operator runs it (a real process; SQLite: the export itself is tested on both databases above)."""
    shutil.copy(sqlite_template, tmp_path / "registry.sqlite3")
    db_url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    engine = make_engine(db_url)
    add_transfers(engine, [(addr(1), addr(2), 1), (addr(2), addr(3), 2)])  # a plain INSERT: ids assigned on export
    engine.dispose()
    env = {**os.environ, "REGISTRY_DATABASE_URL": db_url, "REGISTRY_KEY_PEPPER": PEPPER, "COLUMNS": "120"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "registry", "export", "transfers", *args]
        return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    r = run("--format", "parquet", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "2 transfers" in r.stdout and "3 addresses" in r.stdout
    table = pq.read_table(tmp_path / "out" / "transfers")
    assert table.column("from_id").null_count == 0 and table.num_rows == 2
    r = run("--format", "parquet", str(tmp_path / "out"))
    assert r.returncode == 2 and "not empty" in r.stderr and "--replace" in r.stderr
