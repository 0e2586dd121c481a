"""Screening speed with 100,000 active listings, on a realistic mix of addresses (``MIX_TEXT``).

- single address over real HTTP on loopback (key checked, result logged), 32 connections, every request another
  address from a pre-generated list (a wrk Lua script cycles through the bodies), beside a bare Starlette plaintext
  endpoint under the same uvicorn settings: target >= 30 % of its requests/s and p99 < 20 ms;
- a 10,000-address batch of the same mix: server time per address (JSON parse, validation, lookup, result,
  serialisation) when only the repeat customers were seen before, when all were, and when none were; beside
  Python set membership of the same addresses in a set of the same listed addresses: target <= 3 us per address;
- batches of 10,000 addresses never seen before (``FIRST_SIGHT_TEXT``) with the screening log on, on SQLite and
  PostgreSQL: the server's time per address to answer a batch while the log writer thread writes the previous one
  (target <= 3 us), beside the same batches validated one by one with a log row per screening (what the server did
  before the batch validation and the bulk log) and the set-membership baseline. The writer's own rate and CPU
  are printed too.

Any wrk error (a response outside 2xx/3xx, a socket error) or error in the server's log fails the benchmark.
``BENCH_QUICK=1`` runs it small and short.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import base58
import httpx
import orjson
from eth_utils.address import to_checksum_address
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from bench.common import (
    PEPPER,
    BenchFailure,
    knob,
    line,
    run_wrk,
    scratch_postgres,
    scratch_sqlite,
    start_plaintext_baseline,
    start_registry_server,
)
from registry.audit.service import CLI
from registry.auth.service import create_key
from registry.cases.tables import Listing
from registry.db import state
from registry.db.engine import make_engine, session_scope
from registry.db.migrate import upgrade
from registry.screening import service
from registry.screening.log import ScreeningLogWriter
from registry.screening.snapshot import Snapshot, load_direct

N_LISTINGS = int(knob("LISTINGS", 100_000, 10_000))
SECONDS = knob("SECONDS", 10, 2)
BATCH = int(knob("BATCH", 10_000, 2_000))
REPEAT_POOL = 2_000  # the repeat customers: unlisted addresses screened again and again
MIX = (("listed", 1), ("repeated", 3), ("unseen", 6))  # tenths of the requests
MIX_TEXT = "10 % listed, 30 % repeated (a pool of 2,000 unlisted), 60 % unseen; Tron 50 %, EVM 40 %, Bitcoin 10 %"

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_p2wpkh(program: bytes) -> str:
    """A ``bc1q…`` address (BIP-173 reference encoding), so that Bitcoin traffic has both of its common forms."""
    return _segwit(0, program)


def _segwit(version: int, program: bytes) -> str:
    """A mainnet segwit address: bech32 for version 0, bech32m for version 1 (BIP-173/BIP-350 reference encoding)."""

    def polymod(values: list[int]) -> int:
        gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        chk = 1
        for v in values:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if (top >> i) & 1 else 0
        return chk

    acc, bits, data = 0, 0, [version]  # the witness version, then the program in 5-bit groups
    for b in program:
        acc, bits = (acc << 8) | b, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"]
    mod = polymod(hrp + data + [0] * 6) ^ (1 if version == 0 else 0x2BC830A3)
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(_BECH32[d] for d in data + checksum)


def _evm(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def _tron(rng: random.Random) -> str:
    return base58.b58encode_check(b"\x41" + rng.randbytes(20)).decode()


def _btc(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return base58.b58encode_check(b"\x00" + rng.randbytes(20)).decode()
    return _bech32_p2wpkh(rng.randbytes(20))


def _addresses(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    """(chain, family, address): the mix banks screen here — USDT on Tron and Ethereum first, then Bitcoin
    (legacy and bech32 alike)."""
    out = []
    for i in range(n):
        k = i % 10
        if k < 5:
            out.append(("tron", "tron", _tron(rng)))
        elif k < 9:
            out.append(("eth", "evm", _evm(rng)))
        else:
            out.append(("btc", "btc", _btc(rng)))
    return out


def seed(db_url: str, n: int) -> tuple[str, list[tuple[str, str, str]]]:
    engine = make_engine(db_url)
    upgrade(engine)
    rng = random.Random(7)
    listed = _addresses(rng, n)
    now = datetime.now(UTC)
    cats = ["fraud", "sanctions", "money_mule", "darknet_market", "unlicensed_exchanger"]
    rows = [
        {
            "chain": c,
            "family": f,
            "address": a,
            "category": cats[i % len(cats)],
            "confidence": 70,
            "source": "fiu",
            "legal_basis": "bench",
            "evidence_note": "",
            "status": "active",
            "submitted_by": "1",
            "approved_by": "2",
            "created_at": now,
            "decided_at": now,
            "listed_since": now,
        }
        for i, (c, f, a) in enumerate(listed)
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(insert(Listing), rows[i : i + 10_000])
    with session_scope(engine) as s:
        state.bump(s, state.REGISTRY)
        secret, _ = create_key(s, "bank", "Bench Bank", PEPPER.encode(), CLI)
    engine.dispose()
    return secret, listed


class Traffic:
    """Addresses as banks send them: a few listed, many repeat customers, most never seen before, three chains.

    ``draw(n)`` returns ``n`` (kind, address) pairs in the ``MIX`` proportions, shuffled. Every unseen address is
    new to this generator (so new to the server), the repeated ones come from a fixed pool, the listed ones from
    the active listings."""

    def __init__(self, listed: list[tuple[str, str, str]], seed: int) -> None:
        self.rng = random.Random(seed)
        self.listed = [a for _, _, a in listed]
        self.repeat_pool = [a for _, _, a in _addresses(self.rng, REPEAT_POOL)]

    def draw(self, n: int) -> list[tuple[str, str]]:
        counts = {kind: n * tenths // 10 for kind, tenths in MIX}
        counts["unseen"] += n - sum(counts.values())
        out = [("listed", a) for a in self.rng.choices(self.listed, k=counts["listed"])]
        out += [("repeated", a) for a in self.rng.choices(self.repeat_pool, k=counts["repeated"])]
        out += [("unseen", a) for _, _, a in _addresses(self.rng, counts["unseen"])]
        self.rng.shuffle(out)
        return out


def _bodies(path: Path, traffic: Traffic, n: int) -> Counter[str]:
    drawn = traffic.draw(n)
    path.write_bytes(b"".join(orjson.dumps({"address": a}) + b"\n" for _, a in drawn))
    return Counter(kind for kind, _ in drawn)


def bench_http(db_url: str, secret: str, listed: list[tuple[str, str, str]]) -> None:
    row = "single screen over HTTP"
    traffic = Traffic(listed, seed=13)
    tmp = Path(tempfile.mkdtemp(prefix="bench-screen-"))
    # Longer than any run can send: an unseen address must not come round again. wrk reports how many it sent.
    per_run = int(max(60_000, 20_000 * SECONDS))
    warm_file, run_file = tmp / "warm.jsonl", tmp / "run.jsonl"
    _bodies(warm_file, traffic, per_run // 4)
    kinds = _bodies(run_file, traffic, per_run)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    # The baseline gets the very same requests (bodies, headers, the same wrk script), so the load generator's
    # work is the same on both sides; it answers "ok" without reading them.
    with start_plaintext_baseline(row) as url:
        run_wrk(url, headers, seconds=2, method="POST", bodies=warm_file, row="plaintext baseline (warm-up)")
        base = run_wrk(url, headers, seconds=SECONDS, method="POST", bodies=run_file, row="plaintext baseline")
    # The per-key rate limit would throttle the one benchmark key: lifted here, as for a bank with a contract to match.
    with start_registry_server(
        db_url, {"REGISTRY_RATE_LIMIT_PER_SECOND": "1000000", "REGISTRY_RATE_LIMIT_BURST": "1000000"}, row=row
    ) as server:
        hit = traffic.listed[0]
        r = httpx.post(server + "/v1/screen", content=orjson.dumps({"address": hit}), headers=headers, timeout=30)
        assert r.status_code == 200 and r.json()["direct"], r.text
        # The warm-up screens the repeat customers (and other unseen addresses) before the measured run.
        run_wrk(server + "/v1/screen", headers, seconds=2, method="POST", bodies=warm_file, row=f"{row} (warm-up)")
        ours = run_wrk(server + "/v1/screen", headers, seconds=SECONDS, method="POST", bodies=run_file, row=row)
    shutil.rmtree(tmp, ignore_errors=True)
    sent = ours.made or ours.requests
    if sent > per_run:
        raise BenchFailure(
            row, f"{sent:,} requests sent but only {per_run:,} bodies prepared: unseen addresses repeated"
        )
    print(
        f"  {N_LISTINGS:,} active listings; 32 connections, {SECONDS:.0f} s each; every request another body from "
        f"a list of {per_run:,} ({MIX_TEXT}; {kinds['listed']:,} / {kinds['repeated']:,} / {kinds['unseen']:,}), "
        f"{sent:,} sent; the baseline got the same requests; no wrk errors, no server errors"
    )
    line(
        "single screen, requests/s", f"{ours.rps:,.0f} req/s", f"{base.rps:,.0f} req/s", ours.rps / base.rps, ">= 0.30"
    )
    line("single screen, p99 latency", f"{ours.p99_ms:.1f} ms", f"{base.p99_ms:.1f} ms", ours.p99_ms / 20.0, "<= 1.0")


def bench_batch(db_url: str, listed: list[tuple[str, str, str]]) -> None:
    engine = make_engine(db_url)
    version, verdicts = load_direct(engine)
    engine.dispose()
    traffic = Traffic(listed, seed=11)
    drawn = traffic.draw(BATCH)
    batch = [a for _, a in drawn]
    repeated = [a for kind, a in drawn if kind == "repeated"]
    body = orjson.dumps({"addresses": batch})

    def server_side(snap: Snapshot) -> float:
        # CPU time of this process: what the server spends, unaffected by other processes on the machine. The same
        # steps as the batch route: parse, validate, look up, results, log rows, the response around the results.
        t = time.process_time()
        items = orjson.loads(body)["addresses"]
        results, count, logged = service.screen_batch(snap, items, "bench")
        rows = [(0, 1, "v", *row) for row in logged]  # what the route hands to the log buffer
        head = b'{"count":' + str(count).encode() + b',"registry_version":' + orjson.dumps(snap.version_str)
        response = head + b',"results":' + results + b"}"
        assert count == len(items) and len(rows) == count and response
        return time.process_time() - t

    def fresh() -> Snapshot:
        return Snapshot(version, verdicts, time.time())  # no verdict fragments rendered yet

    cold = mixed = warm = float("inf")
    for _ in range(3):
        service._memo.clear()  # first sight: nothing validated before
        cold = min(cold, server_side(fresh()))
        service._memo.clear()  # the realistic mix: only the repeat customers were screened before
        service.screen_batch(fresh(), repeated, "bench")
        mixed = min(mixed, server_side(fresh()))
    snap = fresh()
    server_side(snap)
    for _ in range(5):  # repeat customers: the very same batch again
        warm = min(warm, server_side(snap))

    # Baseline: one set membership per address of the same batch, in a set of the same 100k listed addresses.
    listed_set = {key.split(":", 1)[1] for key in verdicts}
    assert len(listed_set) == len(verdicts)
    base = float("inf")
    hits = 0
    for _ in range(5):
        t = time.process_time()
        hits = sum(1 for a in batch if a in listed_set)
        base = min(base, time.process_time() - t)
    ours_hits = sum(1 for a in batch if service.validate(a, None).key in verdicts)
    assert hits == ours_hits == sum(1 for kind, _ in drawn if kind == "listed"), (hits, ours_hits)
    n = len(batch)
    print(
        f"  batch of {n:,} addresses ({MIX_TEXT}), server CPU time per address; baseline: {n:,} lookups of the "
        f"same addresses in a set of the same {len(listed_set):,} listed addresses ({hits:,} hits, as ours)"
    )
    for name, took in (
        ("batch, realistic mix (repeat pool memoised)", mixed),
        ("batch, repeat customers (all memoised)", warm),
        ("batch, first sight (nothing memoised)", cold),
    ):
        line(name, f"{took / n * 1e6:.2f} us/addr", f"{base / n * 1e6:.2f} us/addr", took / n * 1e6 / 3.0, "<= 1.0")
    print("  (ratio column for the batch and p99 rows: our figure / the DESIGN.md target; <= 1.0 meets it)")


FIRST_SIGHT_BATCHES = int(knob("FIRST_SIGHT_BATCHES", 30, 6))
FIRST_SIGHT_TEXT = (
    "70 % EVM (half lower case, half EIP-55 mixed case), 20 % Tron, 10 % bech32 (two thirds P2WPKH bech32, a third "
    "P2TR bech32m), every address new to the server"
)


def _first_sight(rng: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        k = i % 10
        if k < 7:
            raw = rng.randbytes(20)
            out.append(to_checksum_address(raw) if k % 2 else "0x" + raw.hex())
        elif k < 9:
            out.append(_tron(rng))
        else:
            out.append(_segwit(1, rng.randbytes(32)) if rng.random() < 1 / 3 else _segwit(0, rng.randbytes(20)))
    rng.shuffle(out)
    return out


def _logged_batches(
    engine: Engine, snap: Snapshot, bodies: list[bytes], one_by_one: bool
) -> tuple[float, float, float, float]:
    """Batches through the batch route's steps (parse, validate, look up, results, log hand-off, the level counts,
    the response), the screening log's writer thread running on ``engine``. Before each batch the writer has taken
    the previous one from its buffer (it may still be writing it: the two overlap, as they do in the server).

    ``one_by_one``: the path before the batch validation and the bulk log (validation address by address, a log row
    per screening, written row by row). Returns the median request time per address (wall, and the request
    thread's CPU), and the writer's rows per second and CPU per row."""
    writer = ScreeningLogWriter(engine, 0.5, 200_000)
    writer.start()
    sight = service.first_sight
    if one_by_one:
        service.first_sight = lambda items, start=0: None
    walls: list[float] = []
    cpus: list[float] = []
    started, process = time.perf_counter(), time.process_time()
    try:
        for body in bodies:
            while writer.depth:
                time.sleep(0.001)
            t, c = time.perf_counter(), time.thread_time()
            items = orjson.loads(body)["addresses"]
            results, count, logged = service.screen_batch(snap, items, "bench")
            at, version = datetime.now(UTC), snap.version_str
            if one_by_one:
                writer.extend([(at, 1, version, *row) for row in logged])
            else:
                writer.add_batch(at, 1, version, logged)
            levels = Counter(row[3] for row in logged)
            response = b'{"count":' + str(count).encode() + b',"registry_version":' + orjson.dumps(version)
            response += b',"results":' + results + b"}"
            walls.append(time.perf_counter() - t)
            cpus.append(time.thread_time() - c)
            assert count == len(items) == len(logged) and levels and response
        while writer.depth:
            time.sleep(0.001)
        writer.stop()
    finally:
        service.first_sight = sight
    took, cpu = time.perf_counter() - started, time.process_time() - process
    rows = len(bodies) * BATCH
    assert writer.written == rows, (writer.written, rows)
    per = 1e6 / BATCH
    return statistics.median(walls) * per, statistics.median(cpus) * per, rows / took, (cpu - sum(cpus)) / rows * 1e6


def bench_first_sight_logged(db_url: str) -> None:
    engine = make_engine(db_url)
    version, verdicts = load_direct(engine)
    engine.dispose()
    listed_set = {key.split(":", 1)[1] for key in verdicts}
    rng = random.Random(29)
    runs = {name: [_first_sight(rng, BATCH) for _ in range(FIRST_SIGHT_BATCHES)] for name in ("new", "old")}
    base = float("inf")
    for batch in runs["new"][:5]:
        t = time.process_time()
        hits = sum(1 for a in batch if a in listed_set)
        base = min(base, time.process_time() - t)
    assert hits == 0
    base_us = base / BATCH * 1e6
    print(
        f"  {FIRST_SIGHT_BATCHES} batches of {BATCH:,} ({FIRST_SIGHT_TEXT}), the screening log's writer thread "
        f"writing the previous batch meanwhile; per address, the median over batches of the request's CPU time "
        f"(its wall time, GIL waits and a busy machine included, in brackets); one by one: the path before the "
        f"batch validation and the bulk log, on other new addresses of the same mix"
    )
    with scratch_postgres("bench_screening") as pg:
        # The SQLite log is the benchmark database's own (100,000 listings beside it), as in the server.
        targets = [("SQLite", make_engine(db_url))] + ([("PostgreSQL", pg)] if pg is not None else [])
        for name, log_engine in targets:
            figures = {}
            for path in ("old", "new"):  # the new path second, into the larger table
                service._memo.clear()
                snap = Snapshot(version, verdicts, time.time())
                bodies = [orjson.dumps({"addresses": batch}) for batch in runs[path]]
                figures[path] = _logged_batches(log_engine, snap, bodies, one_by_one=path == "old")
            wall, cpu, rate, writer_cpu = figures["new"]
            old_wall, old_cpu, old_rate, old_writer_cpu = figures["old"]
            line(
                f"batch, first sight, screening log on ({name})",
                f"{cpu:.2f} us/addr ({wall:.2f} wall)",
                f"one by one {old_cpu:.2f} ({old_wall:.2f} wall); set lookup {base_us:.2f}",
                cpu / 3.0,
                "<= 1.0",
            )
            print(
                f"    answered and logged at {rate:,.0f} rows/s; the log writer's CPU in this process "
                f"{writer_cpu:.2f} us a row (one by one: {old_rate:,.0f} rows/s, {old_writer_cpu:.2f} us)"
            )
            if name == "SQLite":
                log_engine.dispose()
    if not os.environ.get("BENCH_POSTGRES_URL") and not os.environ.get("REGISTRY_TEST_POSTGRES_URL"):
        print("  PostgreSQL row: skipped (set REGISTRY_TEST_POSTGRES_URL)")


def main() -> None:
    db_url = scratch_sqlite()
    secret, listed = seed(db_url, N_LISTINGS)
    bench_http(db_url, secret, listed)
    bench_batch(db_url, listed)
    bench_first_sight_logged(db_url)


if __name__ == "__main__":
    main()
