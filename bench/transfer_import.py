"""Transfer-file import: ``registry import transfers`` of an ethereum-etl ``token_transfers.csv`` (with its
``blocks.csv``) beside a raw bulk write of the same rows, on SQLite and PostgreSQL.

- ours: ``registry.transfers.service.import_files`` end to end: read and check every row (addresses normalised,
  times from blocks.csv), write through the store's writer (``COPY`` on PostgreSQL, ``executemany`` on SQLite) in its
  batches, one transaction each, with the counter bump and the audit record;
- baseline: the same rows, parsed and turned into tuples beforehand, written raw in batches of the same size: psycopg
  ``cursor.copy`` (``COPY … FROM STDIN``) on PostgreSQL, sqlite3 ``executemany`` of a plain INSERT on SQLite, into the
  same ``transfer`` table of a freshly migrated database — the floor any importer pays;
- also shown: the readers alone (no database), to say where the time goes.

``BENCH_TRANSFER_IMPORT_ROWS`` sets the size (default 300,000; 20,000 with ``BENCH_QUICK=1``). PostgreSQL runs when
``REGISTRY_TEST_POSTGRES_URL`` (or ``BENCH_POSTGRES_URL``) names a server.
"""

from __future__ import annotations

import csv
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from bench.common import knob, line
from chains.types import Transfer
from registry.db.engine import make_engine
from registry.db.migrate import upgrade
from registry.settings import Settings
from registry.transfers import files, service, store

ROWS = int(knob("TRANSFER_IMPORT_ROWS", 300_000, 20_000))
ROUNDS = int(knob("TRANSFER_IMPORT_ROUNDS", 3, 1))
PLAIN = "network, tx_id, idx, block, block_time, from_address, to_address, asset, amount, value"
TOKENS = [
    "0xdac17f958d2ee523a2206206994597c13d831ec7",
    "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    "0x6b175474e89094c44da98b954e5ffbfcf1c2d0d6",
]


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    """A token_transfers.csv as ethereum-etl writes it (20 transfers a block over a pool of 20,000 addresses) and
    the blocks.csv of its blocks."""
    rng = random.Random(7)
    pool = ["0x" + rng.randbytes(20).hex() for _ in range(20_000)]
    first, per_block = 19_000_000, 20
    tt, bl = folder / "token_transfers.csv", folder / "blocks.csv"
    with open(tt, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(files.TOKEN_TRANSFER_COLUMNS)
        for i in range(rows):
            block = first + i // per_block
            w.writerow(
                [rng.choice(TOKENS), rng.choice(pool), rng.choice(pool), rng.randint(1, 10**12),
                 "0x" + rng.randbytes(32).hex(), i % per_block, block]
            )  # fmt: skip
    with open(bl, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["number", "hash", "parent_hash", "timestamp", "transaction_count"])
        for b in range(first, first + rows // per_block + 1):
            stamp = 1705173443 + 12 * (b - first)
            w.writerow([b, "0x" + rng.randbytes(32).hex(), "0x" + rng.randbytes(32).hex(), stamp, per_block])
    return tt, bl


def parse_all(tt: Path, bl: Path) -> list[Transfer]:
    errors: list[files.RowError] = []
    with open(bl, newline="") as f:
        times = files.BlockTimes.read(f, errors.append)
    with open(tt, newline="") as f:
        items = list(files.token_transfers(f, "eth", times, files.Tally()))
    out = [t for t in items if isinstance(t, Transfer)]
    assert not errors and len(out) == len(items)
    return out


def raw_rows(transfers: list[Transfer], sqlite: bool) -> list[tuple[Any, ...]]:
    return [
        (t.network, t.tx_id, t.idx, t.block, store.sqlite_time(t.time) if sqlite else t.time, t.from_address,
         t.to_address, t.asset, str(t.amount), float(t.amount))
        for t in transfers
    ]  # fmt: skip


def raw_write(engine: Engine, rows: list[tuple[Any, ...]]) -> float:
    parts = [rows[i : i + service.BATCH] for i in range(0, len(rows), service.BATCH)]
    raw: Any = engine.raw_connection()
    try:
        t = time.perf_counter()
        if engine.dialect.name == "sqlite":
            sql = f"INSERT INTO transfer ({PLAIN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            for part in parts:
                cur = raw.cursor()
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(sql, part)
                cur.execute("COMMIT")
        else:
            conn = raw.driver_connection
            for part in parts:
                with conn.cursor() as cur, cur.copy(f"COPY transfer ({PLAIN}) FROM STDIN") as copy:
                    for r in part:
                        copy.write_row(r)
                conn.commit()
        return time.perf_counter() - t
    finally:
        raw.close()


def count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT count(*) FROM transfer")).scalar_one())


def compare(label: str, fresh: Callable[[str], Engine], tt: Path, bl: Path, transfers: list[Transfer]) -> None:
    sqlite = label == "SQLite"
    rows = raw_rows(transfers, sqlite)
    ours: list[float] = []
    base: list[float] = []
    for i in range(ROUNDS):
        for name in ("ours", "raw") if i % 2 == 0 else ("raw", "ours"):
            engine = fresh(name)
            try:
                if name == "raw":
                    base.append(raw_write(engine, rows))
                else:
                    t = time.perf_counter()
                    report = service.import_files(engine, [tt], blocks=[bl])
                    ours.append(time.perf_counter() - t)
                    assert report.inserted == len(transfers) and report.errors_total == 0
                assert count(engine) == len(transfers)
            finally:
                engine.dispose()
    n = len(transfers)
    o, b = min(ours), min(base)
    line(f"file import, {label}", f"{n / o:,.0f} rows/s", f"{n / b:,.0f} rows/s", b / o, "")


def main() -> None:
    pg_url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        t = time.perf_counter()
        tt, bl = write_files(folder, ROWS)
        size = tt.stat().st_size
        print(f"  token_transfers.csv: {ROWS:,} rows, {size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        transfers = parse_all(tt, bl)
        parsed = time.perf_counter() - t
        print(
            f"  readers alone (no database): {ROWS / parsed:,.0f} rows/s; baseline: raw bulk write of the same rows "
            f"(tuples built beforehand, batches of {service.BATCH:,}, one transaction each); ours: "
            "registry.transfers.service.import_files end to end"
        )

        def fresh_sqlite(name: str) -> Engine:
            engine = make_engine(f"sqlite:///{folder / f'{name}-{uuid.uuid4().hex[:6]}.sqlite3'}")
            upgrade(engine)
            return engine

        compare("SQLite", fresh_sqlite, tt, bl, transfers)
        if pg_url:
            url = Settings(database_url=pg_url).database_url
            admin = sa_create_engine(url, isolation_level="AUTOCOMMIT")
            created: list[str] = []

            def fresh_pg(name: str) -> Engine:
                db = f"bench_import_{name}_{uuid.uuid4().hex[:8]}"
                with admin.connect() as c:
                    c.execute(text(f'CREATE DATABASE "{db}"'))
                created.append(db)
                engine = make_engine(make_url(url).set(database=db).render_as_string(hide_password=False))
                upgrade(engine)
                return engine

            try:
                compare("PostgreSQL", fresh_pg, tt, bl, transfers)
            finally:
                with admin.connect() as c:
                    for db in created:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                admin.dispose()
