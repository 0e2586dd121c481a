"""Tron against a TronGrid replay server: mapping of recorded bodies, sync, pagination, 429, stalls, bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.retry import RetryPolicy
from chains.tron.adapter import TronAdapter
from chains.tron.mappers import map_block, map_trc20_history
from chains.types import MalformedResponse
from registry.sync.service import crawl, sync_network
from tests.chains.evm_helpers import cursor, stored
from tests.chains.fakes import USDT, USDT_HEX, TronGridReplay, body, tron_address

RETRY = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


@pytest.fixture
def grid() -> Iterator[TronGridReplay]:
    g = TronGridReplay(blocks=30, page_size=3)
    yield g
    g.close()


def tron(grid: TronGridReplay, timeout: float = 5.0) -> TronAdapter:
    return TronAdapter(grid.url, api_key="test-key", tokens=[USDT], timeout=timeout, retry=RETRY)


def test_recorded_block_maps_trx_and_usdt_and_skips_reverted_and_other_contracts() -> None:
    ref, transfers = map_block(body("tron_block.json"), frozenset({USDT_HEX}))
    assert ref.number == 62258314 and ref.parent_hash.startswith("0000000003b60c89")
    assert [(t.asset, t.amount, t.idx) for t in transfers] == [("native", 5_000_000, 0), (USDT, 100_000_000, 0)]
    trx, usdt = transfers
    assert trx.from_address == "TQ7pF3NTDL2Tjz5rdJ6ECjQWjaWHpLZJMH"
    assert usdt.to_address == "TAVrrARNdnjHgCGMQYeQV7hv4PSu7mVsMj"
    assert usdt.time == datetime(2024, 6, 3, 12, 44, tzinfo=UTC)
    assert map_block(body("tron_block.json"), frozenset())[1] == [trx]  # token not configured


def test_recorded_trc20_page_maps_transfers_only() -> None:
    [t] = map_trc20_history(body("tron_trc20_page.json")["data"])
    assert (t.from_address, t.to_address, t.asset, t.amount) == (
        "TQ7pF3NTDL2Tjz5rdJ6ECjQWjaWHpLZJMH",
        "TAVrrARNdnjHgCGMQYeQV7hv4PSu7mVsMj",
        USDT,
        100_000_000,
    )


def test_malformed_block_is_refused() -> None:
    blk = body("tron_block.json")
    del blk["transactions"][0]["raw_data"]["contract"][0]["parameter"]["value"]["amount"]
    with pytest.raises(MalformedResponse):
        map_block(blk, frozenset())


def test_sync_stores_every_solidified_transfer_once(grid: TronGridReplay, engine: Engine) -> None:
    grid.faults.add("/walletsolidity/getblockbylimitnext", "429", 2)
    report = sync_network(engine, tron(grid), start_block=1, batch_blocks=7)
    assert report.ok, report.reason
    assert set(stored(engine, "tron")) == grid.expected
    assert cursor(engine, "tron") == grid.head + 1
    assert all(h.get("TRON-PRO-API-KEY") == "test-key" for *_, h in grid.server.requests)
    again = sync_network(engine, tron(grid), start_block=1)
    assert again.ok and again.inserted == 0


def test_stall_longer_than_the_timeout_is_retried(grid: TronGridReplay, engine: Engine) -> None:
    grid.faults.stall_seconds = 0.6
    grid.faults.add("/walletsolidity/getblockbylimitnext", "stall", 1)
    report = sync_network(engine, tron(grid, timeout=0.3), start_block=1)
    assert report.ok, report.reason
    assert set(stored(engine, "tron")) == grid.expected


def test_malformed_body_fails_the_run_and_the_next_resumes(grid: TronGridReplay, engine: Engine) -> None:
    grid.faults.add("/walletsolidity/getblockbylimitnext", "malformed", 1)
    failed = sync_network(engine, tron(grid), start_block=1)
    assert not failed.ok and failed.reason is not None and "not JSON" in failed.reason
    with engine.connect() as c:
        assert c.execute(text("SELECT reason FROM sync_run WHERE status = 'failed'")).scalar_one()
    resumed = sync_network(engine, tron(grid), start_block=1)
    assert resumed.ok and set(stored(engine, "tron")) == grid.expected


def test_crawl_follows_fingerprint_pages_from_a_listed_address(grid: TronGridReplay, engine: Engine) -> None:
    seed = tron_address(2)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO listing (chain, family, address, category, confidence, source, legal_basis, "
                "evidence_note, status, submitted_by, created_at) VALUES ('tron', 'tron', :a, 'fraud', 70, "
                "'fiu', 'test', '', 'active', 'test', :t)"
            ),
            {"a": seed, "t": "2026-01-01 00:00:00.000000" if engine.dialect.name == "sqlite" else datetime.now(UTC)},
        )
    [report] = crawl(engine, [tron(grid)], hops=2, max_addresses=50)
    assert report.ok, report.reason
    rows = stored(engine, "tron")
    assert rows and all(seed in (r[2], r[3]) or r in grid.expected for r in rows)
    keys = {(r[0], r[1]) for r in rows}
    seed_truth = {(e[0], e[1]) for e in grid.expected if seed in (e[2], e[3])}
    assert seed_truth <= keys  # everything the seed did
    paged = [q for _, p, q, _ in grid.server.requests if "fingerprint" in q]
    assert paged, "the crawl must follow meta.fingerprint"
    assert report.addresses > 1  # expanded to counterparties
    with engine.connect() as c:
        frontier = c.execute(text("SELECT address, hops FROM crawl_address WHERE network = 'tron'")).all()
    hops: dict[str, int] = {str(a): int(h) for a, h in frontier}
    assert hops[seed] == 0 and 1 in hops.values()

    again = crawl(engine, [tron(grid)], hops=2, max_addresses=50)
    assert again[0].inserted == 0
