"""EVM ingest benchmark: anvil with 5,000 blocks of token transfers (10 per block).

The adapter and the batches come from the sync's own settings (``SyncSettings`` and ``make_adapter``, as the
scheduled sync job builds them). Baselines measured in the same run, doing the same work:
- ingest and sync: a bare ``eth_getLogs`` loop, bodies read but not parsed, over exactly the windows the adapter
  splits each range into, with as many requests in flight as the adapter's threads; for the sync rows, over the
  sync's batches one after another, as the sync fetches them;
- storage: raw ``executemany`` of a plain INSERT (SQLite) and raw ``COPY`` (PostgreSQL, psycopg ``cursor.copy``) of
  the same rows into the same ``transfer`` table, batch for batch, against the product's write path
  (``registry.transfers.store.write_transfers``).
PostgreSQL runs when ``REGISTRY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``) names a server.
``BENCH_INGEST_BLOCKS`` changes the block count (default 5000; 500 with ``BENCH_QUICK=1``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import requests
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bench.common import knob, line
from chains.evm.adapter import EvmAdapter
from chains.evm.mappers import TRANSFER_TOPIC
from chains.types import Transfer
from registry.db.engine import make_engine, session_scope
from registry.db.migrate import upgrade
from registry.settings import Settings
from registry.sync.adapters import make_adapter
from registry.sync.blocks import sync_network
from registry.sync.settings import SyncSettings
from registry.transfers import store
from tests.chains.anvil import BASE_FEE_ZERO, TOKEN_BIN, Anvil, anvil_binary, fill_blocks

PER_BLOCK = 10
RAW_COLUMNS = "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value"
"""What the storage baselines write: the transfers' own columns. The product writes them too, and keeps the address
dictionary and the rows' address ids on top (``registry.transfers.store``)."""
CACHE = Path(__file__).resolve().parent.parent / "var" / "bench"
ROUNDS = int(knob("INGEST_ROUNDS", 5, 2))


def best(fn: Callable[[], Any], runs: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def sync_settings(url: str, token: str, native: bool) -> SyncSettings:
    """The sync's own settings (defaults, and any ``REGISTRY_*`` in the environment), pointed at the local node:
    what the scheduled sync job builds its adapter and its batches from."""
    return SyncSettings(
        _env_file=None,
        eth_rpc_url=url,
        evm_tokens={"eth": [token]},
        evm_native=native,
        evm_confirmations=0,
    )


def evm_adapter(s: SyncSettings) -> EvmAdapter:
    adapter = make_adapter("eth", s)
    assert isinstance(adapter, EvmAdapter)
    return adapter


def sync_batches(s: SyncSettings, first: int, last: int) -> list[tuple[int, int]]:
    """The block ranges the sync fetches and commits one after another (``sync_batch_blocks`` each)."""
    step = s.sync_batch_blocks
    return [(lo, min(last, lo + step - 1)) for lo in range(first, last + 1, step)]


def describe(adapter: EvmAdapter, ranges: list[tuple[int, int]]) -> str:
    sizes = sorted({hi - lo + 1 for r in ranges for lo, hi in adapter._windows(*r)}, reverse=True)
    count = sum(len(adapter._windows(*r)) for r in ranges)
    shown = "/".join(str(s) for s in sizes[:3]) + ("/…" if len(sizes) > 3 else "")
    how = "one range" if len(ranges) == 1 else f"{len(ranges)} batches of {ranges[0][1] - ranges[0][0] + 1} in turn"
    return f"{count} eth_getLogs windows of {shown} blocks, {adapter.parallel} in flight ({how})"


def bare_get_logs(url: str, token: str, adapter: EvmAdapter, ranges: list[tuple[int, int]]) -> int:
    """The baseline: ``eth_getLogs`` over exactly the windows the adapter splits each range into (its own
    ``_windows``), on as many threads as the adapter runs (``parallel``), the ranges one after another as the
    sync fetches its batches; the bodies are read but not parsed."""
    local = threading.local()
    sessions: list[requests.Session] = []

    def one(window: tuple[int, int]) -> int:
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
            sessions.append(s)
        lo, hi = window
        flt = {"fromBlock": hex(lo), "toBlock": hex(hi), "address": [token], "topics": [TRANSFER_TOPIC]}
        body = orjson.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs", "params": [flt]})
        return len(s.post(url, data=body, headers={"Content-Type": "application/json"}).content)

    size = 0
    try:
        with ThreadPoolExecutor(adapter.parallel) as pool:
            for lo, hi in ranges:
                size += sum(pool.map(one, adapter._windows(lo, hi)))
    finally:
        for s in sessions:
            s.close()
    return size


def sqlite_db(tmp: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp / name}")
    upgrade(engine)
    return engine


def rows_of(transfers: Sequence[Transfer], sqlite: bool) -> list[tuple[Any, ...]]:
    return [
        (
            t.network,
            t.tx_id,
            t.idx,
            t.block,
            t.time.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else t.time,
            t.from_address,
            t.to_address,
            t.asset,
            str(t.amount),
            float(t.amount),
        )
        for t in transfers
    ]


def batches(transfers: list[Transfer], per: int) -> list[list[Transfer]]:
    return [transfers[i : i + per] for i in range(0, len(transfers), per)]


def stored(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM transfer")).scalar_one())


def ours(engine: Engine, parts: list[list[Transfer]]) -> float:
    """The product's write path: ``store.write_transfers`` inside a session transaction, batch for batch."""
    t = time.perf_counter()
    for b in parts:
        with session_scope(engine) as s:
            store.write_transfers(s, b)
    return time.perf_counter() - t


def raw_sqlite(engine: Engine, parts: list[list[Transfer]]) -> float:
    sql = f"INSERT INTO transfer ({RAW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    prepared = [rows_of(b, True) for b in parts]
    raw = engine.raw_connection()
    try:
        t = time.perf_counter()
        for rows in prepared:
            cur = raw.cursor()
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(sql, rows)
            cur.execute("COMMIT")
        return time.perf_counter() - t
    finally:
        raw.close()


def raw_copy(engine: Engine, parts: list[list[Transfer]]) -> float:
    prepared = [rows_of(b, False) for b in parts]
    raw: Any = engine.raw_connection()
    try:
        conn = raw.driver_connection
        t = time.perf_counter()
        for rows in prepared:
            with conn.cursor() as cur, cur.copy(f"COPY transfer ({RAW_COLUMNS}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            conn.commit()
        return time.perf_counter() - t
    finally:
        raw.close()


def storage(
    label: str,
    baseline_does: str,
    fresh: Callable[[str], Engine],
    raw: Callable[[Engine, list[list[Transfer]]], float],
    transfers: list[Transfer],
    per_batch: int,
) -> None:
    """Ours and the baseline alternate (which goes first too), each on an empty ``transfer`` table of the same
    migrated schema, best of ``ROUNDS``; both must have stored every row."""
    parts = batches(transfers, per_batch)
    base: list[float] = []
    mine: list[float] = []
    for i in range(ROUNDS):
        order = [("raw", raw, base), ("ours", ours, mine)]
        for name, fn, times in order if i % 2 == 0 else order[::-1]:
            engine = fresh(name)
            try:
                # Both sides start on a pooled connection that has already read the table (the server's catalog
                # caches warm): only the writes are timed.
                assert stored(engine) == 0
                times.append(fn(engine, parts))
                assert stored(engine) == len(transfers), (label, name)
            finally:
                engine.dispose()
    b, m = min(base), min(mine)
    n = len(transfers)
    print(f"  storage {label}: {n:,} rows in batches of {per_batch:,}, one transaction each; {baseline_does}")
    line(
        f"storage writes, {label}",
        f"{n / m:,.0f} rows/s",
        f"{n / b:,.0f} rows/s",
        b / m,
        ">= 0.50",
    )


def prepared_node(blocks: int) -> tuple[Anvil, str]:
    """anvil holding the benchmark chain. Filling 5,000 blocks takes a minute or more (anvil's cost per mined
    block grows with the chain), so the chain is kept in ``var/bench/`` as an anvil state file, keyed by the anvil
    version, the token bytecode and the shape, and loaded on later runs."""
    binary = anvil_binary() or "anvil"
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    key = hashlib.sha256(f"{version}{TOKEN_BIN}{blocks}x{PER_BLOCK}".encode()).hexdigest()[:16]
    CACHE.mkdir(parents=True, exist_ok=True)
    state, token_file = CACHE / f"anvil-{key}.json", CACHE / f"anvil-{key}.token"
    t = time.perf_counter()
    if state.exists() and token_file.exists():
        node = Anvil.start(extra=[*BASE_FEE_ZERO, "--state", str(state)])
        token = token_file.read_text().strip()
        if node.block_number() >= blocks:
            print(f"  anvil: {blocks} blocks loaded from {state} in {time.perf_counter() - t:.0f} s")
            return node, token
        node.stop()
        state.unlink()
    node = Anvil.start(extra=[*BASE_FEE_ZERO, "--state", str(state)])
    token = node.deploy_token()
    sent = fill_blocks(node, token, blocks=blocks, per_block=PER_BLOCK)
    token_file.write_text(token)
    print(f"  anvil: {blocks} blocks, {sent:,} token transfers prepared in {time.perf_counter() - t:.0f} s")
    return node, token


class Postgres:
    """Scratch databases on the server named by ``REGISTRY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``)."""

    def __init__(self, url: str) -> None:
        self.url = Settings(database_url=url).database_url
        self.admin = sa_create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def fresh(self, name: str) -> Engine:
        db = f"bench_ingest_{name}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{db}"'))
        self.created.append(db)
        engine = make_engine(make_url(self.url).set(database=db).render_as_string(hide_password=False))
        upgrade(engine)
        return engine

    def close(self) -> None:
        with self.admin.connect() as c:
            for db in self.created:
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        self.admin.dispose()


def main() -> None:
    blocks = int(knob("INGEST_BLOCKS", 5000, 500))
    pg_url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    pg = Postgres(pg_url) if pg_url else None
    node, token = prepared_node(blocks)
    with node, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        last = node.block_number()
        settings = sync_settings(node.url, token, native=False)
        adapter = evm_adapter(settings)  # tokens only, as the scheduled sync builds it
        whole = [(0, last)]

        # 1. Ingest (fetch + map, no storage) of the whole range in one fetch_range, against the bare loop over the
        # same windows on the same threads. Interleaved and best of several: on a shared machine the slowest runs
        # measure the neighbours.
        base_runs, fetch_runs = [], []
        for _ in range(ROUNDS):
            base_runs.append(best(lambda: bare_get_logs(node.url, token, adapter, whole), runs=1)[0])
            fetch_s, batch = best(lambda: adapter.fetch_range(0, last), runs=1)
            fetch_runs.append(fetch_s)
        base_s, fetch_s = min(base_runs), min(fetch_runs)
        transfers: list[Transfer] = batch.transfers
        n = len(transfers)
        print(f"  {n:,} token transfers in blocks 0..{last}; the sync's settings: {describe(adapter, whole)}")
        line(
            "EVM ingest (fetch + map), transfers/s",
            f"{n / fetch_s:,.0f}/s",
            f"{n / base_s:,.0f}/s",
            base_s / fetch_s,
            ">= 0.50",
        )

        # 2. The sync end to end (fetch, map, checks, storage, cursor) against the bare loop over the sync's batches,
        # each split into the same windows on the same threads. From block 1: anvil regenerates its genesis block
        # when it loads a state file, so block 1's parent hash names a block 0 that no longer exists (the sync
        # rightly refuses to link them).
        ranges = sync_batches(settings, 1, last)
        print(f"  sync: {describe(adapter, ranges)}")

        def full_sync(engine: Engine, native: bool) -> float:
            s = sync_settings(node.url, token, native)
            a = evm_adapter(s)
            try:
                t = time.perf_counter()
                report = sync_network(
                    engine, a, start_block=1, batch_blocks=s.sync_batch_blocks, reorg_window=s.sync_reorg_window
                )
                elapsed = time.perf_counter() - t
            finally:
                a.close()
                engine.dispose()
            assert report.ok and report.inserted >= n - PER_BLOCK, report
            return elapsed

        sync_base, sync_sqlite, sync_pg = [], [], []
        for _ in range(max(2, ROUNDS - 2)):
            sync_base.append(best(lambda: bare_get_logs(node.url, token, adapter, ranges), runs=1)[0])
            sync_sqlite.append(full_sync(sqlite_db(tmp, f"sync-{uuid.uuid4().hex}.sqlite3"), native=False))
            if pg is not None:
                sync_pg.append(full_sync(pg.fresh("sync"), native=False))
        sb = min(sync_base)
        if pg is not None:
            line("sync end to end into PostgreSQL", f"{n / min(sync_pg):,.0f}/s", f"{n / sb:,.0f}/s",
                 sb / min(sync_pg), ">= 0.50")  # fmt: skip
        line("sync end to end into SQLite", f"{n / min(sync_sqlite):,.0f}/s", f"{n / sb:,.0f}/s",
             sb / min(sync_sqlite), "")  # fmt: skip
        native_s = full_sync(sqlite_db(tmp, f"native-{uuid.uuid4().hex}.sqlite3"), native=True)
        print(
            f"  sync end to end into SQLite, tokens + native (every block fetched too: more work than the baseline): "
            f"{n / native_s:,.0f} transfers/s, {sb / native_s:.0%} of the baseline"
        )
        adapter.close()

        # 3. Storage alone: the product's write path against the database's own bulk path, same rows, same batches.
        per_batch = settings.sync_batch_blocks * PER_BLOCK
        storage(
            "SQLite",
            "baseline: raw sqlite3 executemany of a plain INSERT of the same rows (tuples built beforehand); ours: "
            "store.write_transfers (Transfer -> row, INSERT … ON CONFLICT DO NOTHING) in a session",
            lambda name: sqlite_db(tmp, f"{name}-{uuid.uuid4().hex}.sqlite3"),
            raw_sqlite,
            transfers,
            per_batch,
        )
        if pg is None:
            print("  PostgreSQL rows: skipped (set REGISTRY_TEST_POSTGRES_URL)")
            return
        try:
            storage(
                "PostgreSQL",
                "baseline: raw psycopg cursor.copy (COPY … FROM STDIN) of the same rows (tuples built beforehand); "
                "ours: store.write_transfers (Transfer -> row, COPY under a savepoint) in a session",
                pg.fresh,
                raw_copy,
                transfers,
                per_batch,
            )
        finally:
            pg.close()


if __name__ == "__main__":
    main()
