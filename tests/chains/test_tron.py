"""Tron against a TronGrid replay server: mapping of recorded bodies, sync, pagination, 429, stalls, bad bodies."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from chains.retry import RetryPolicy
from chains.tron.adapter import TronAdapter
from chains.tron.mappers import map_block, map_trc20_history, trc20_index
from chains.types import MalformedResponse, Transfer
from registry.db.engine import session_scope
from registry.sync.blocks import sync_network
from registry.sync.crawl import crawl
from registry.transfers.store import insert_transfers
from tests.chains.evm_helpers import cursor, stored
from tests.chains.fakes import USDT, USDT_HEX, TronGridReplay, body, tron_address
from tests.chains.replay import JSON, ReplayServer, Reply
from tests.registry.migration_db import migrate, scratch_database

RETRY = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


@pytest.fixture
def grid() -> Iterator[TronGridReplay]:
    g = TronGridReplay(blocks=30, page_size=3)
    # The replay's truth numbers its token transfers 0; a TRC-20 transfer's index is derived from its token,
    # parties and amount (``trc20_index``), on the sync and the crawl alike.
    g.expected = {
        (tx, trc20_index(asset, src, dst, amount) if asset != "native" else idx, src, dst, asset, amount)
        for tx, idx, src, dst, asset, amount in g.expected
    }
    yield g
    g.close()


def tron(grid: TronGridReplay, timeout: float = 5.0) -> TronAdapter:
    return TronAdapter(grid.url, api_key="test-key", tokens=[USDT], timeout=timeout, retry=RETRY)


def test_recorded_block_maps_trx_and_usdt_and_skips_reverted_and_other_contracts() -> None:
    ref, transfers = map_block(body("tron_block.json"), frozenset({USDT_HEX}))
    assert ref.number == 62258314 and ref.parent_hash.startswith("0000000003b60c89")
    assert [(t.asset, t.amount) for t in transfers] == [("native", 5_000_000), (USDT, 100_000_000)]
    trx, usdt = transfers
    assert trx.idx == 0
    # the same USDT transfer, as TronGrid's TRC-20 history of its receiver lists it: one key on both paths
    [listed] = map_trc20_history(body("tron_trc20_page.json")["data"])
    assert usdt.key == listed.key
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


def _page_transfers(name: str) -> list[Transfer]:
    return map_trc20_history(body(name)["data"])


TWO_IN_ONE_TX = (
    "tron_trc20_two_in_one_tx_sender_page.json",  # X's history: X→Y
    "tron_trc20_two_in_one_tx_middle_page.json",  # Y's history: Y→Z, X→Y
    "tron_trc20_two_in_one_tx_receiver_page.json",  # Z's history: Y→Z
)


def test_two_trc20_transfers_of_one_transaction_keep_two_keys_from_every_side() -> None:
    """One transaction moving USDT X→Y and Y→Z (hand-made bodies in TronGrid's TRC-20 history shape, one per
    account): X's and Z's pages each show one of them and must not give both the same ``(tron, tx, idx)``; Y's page
    shows both and must give the keys the other two gave (the crawl and a re-crawl stay idempotent)."""
    sender, middle, receiver = (_page_transfers(name) for name in TWO_IN_ONE_TX)
    [x_to_y], [y_to_z] = sender, receiver
    assert x_to_y.tx_id == y_to_z.tx_id
    assert x_to_y.key != y_to_z.key
    assert {t.key: (t.from_address, t.to_address, t.amount) for t in middle} == {
        x_to_y.key: (x_to_y.from_address, x_to_y.to_address, 250_000_000),
        y_to_z.key: (y_to_z.from_address, y_to_z.to_address, 249_000_000),
    }
    assert all(t.idx > 0 for t in middle)  # 0 is the TRX payment's index


def test_two_trc20_transfers_of_one_transaction_are_both_stored(engine: Engine) -> None:
    """Stored as a crawl stores them, the receiver's page first (the order that used to lose X→Y): two rows, and
    the middle account's page adds nothing."""
    sender, middle, receiver = (_page_transfers(name) for name in TWO_IN_ONE_TX)
    with session_scope(engine) as s:
        assert insert_transfers(s, receiver) == 1
        assert insert_transfers(s, sender) == 1
        assert insert_transfers(s, middle) == 0
        s.commit()
    rows = stored(engine, "tron")
    assert sorted((r[2], r[3], r[5]) for r in rows) == sorted((t.from_address, t.to_address, t.amount) for t in middle)


def _history_server(pages: list[list[dict[str, Any]]]) -> ReplayServer:
    """TronGrid serving one account: an empty transaction list and ``pages`` of TRC-20 history (fingerprints)."""
    head = body("tron_block.json")

    def handle(method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        if path == "/walletsolidity/getnowblock":
            return 200, JSON, orjson.dumps(head)
        if path.endswith("/transactions/trc20"):
            n = int(query.get("fingerprint", "0"))
            meta: dict[str, Any] = {"at": 1717419300000, "page_size": len(pages[n])}
            if n + 1 < len(pages):
                meta["fingerprint"] = str(n + 1)
            return 200, JSON, orjson.dumps({"data": pages[n], "success": True, "meta": meta})
        if path.endswith("/transactions"):
            return 200, JSON, orjson.dumps({"data": [], "success": True, "meta": {"at": 0, "page_size": 0}})
        return 404, JSON, b"{}"

    return ReplayServer(handle)


def test_identical_transfers_of_one_transaction_split_across_pages_stay_two() -> None:
    """A batch payout paying Y 5 USDT twice in one transaction, the two entries on two history pages: two
    transfers, numbered across pages, the same on a second crawl."""
    [entry] = body("tron_trc20_two_in_one_tx_sender_page.json")["data"]
    entry = {**copy.deepcopy(entry), "value": "5000000"}
    server = _history_server([[entry], [copy.deepcopy(entry)]])
    try:
        adapter = TronAdapter(server.url, tokens=[USDT], retry=RETRY, timeout=5)
        first = adapter.activity(entry["to"], 0, 1, 100)
        again = adapter.activity(entry["to"], 0, 1, 100)
    finally:
        server.close()
    assert len({t.key for t in first.transfers}) == 2
    assert [t.key for t in again.transfers] == [t.key for t in first.transfers]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_rekeys_stored_trc20_transfers(kind: str, tmp_path: Path) -> None:
    """Rows stored under the old numbering (page order) get the index the mappers give now, on both databases
    (SQL on PostgreSQL, so the two implementations are checked against each other), and a re-crawl adds nothing."""
    with scratch_database(kind, tmp_path) as url:
        _check_rekey(url)


def _check_rekey(url: str) -> None:
    migrate(url, "0009_faults")
    middle = _page_transfers(TWO_IN_ONE_TX[1])
    [twice] = _page_transfers(TWO_IN_ONE_TX[0])
    native = Transfer("tron", "ab" * 32, 0, 7, twice.time, twice.from_address, twice.to_address, "native", 9)
    old = [t._replace(idx=i) for i, t in enumerate(middle)]  # page order: 0, 1
    old += [twice._replace(tx_id="cd" * 32, idx=i) for i in (0, 1)]  # identical transfers, one transaction
    old.append(native)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as c:
        for t in old:
            c.execute(
                text(
                    "INSERT INTO transfer (network, tx_id, idx, block, block_time, from_address, to_address, asset, "
                    "amount, value) VALUES ('tron', :tx, :idx, :b, :t, :f, :to, :a, :amt, :v)"
                ),
                {"tx": t.tx_id, "idx": t.idx, "b": t.block, "t": t.time, "f": t.from_address, "to": t.to_address,
                 "a": t.asset, "amt": str(t.amount), "v": float(t.amount)},
            )  # fmt: skip
    migrate(url, "heads")
    with engine.connect() as c:
        got = {(tx, int(idx)) for tx, idx in c.execute(text("SELECT tx_id, idx FROM transfer"))}
    engine.dispose()
    # what a crawl of X's and of Z's page gives now, and of two identical transfers on one page
    seen_apart = {t.key[1:] for name in (TWO_IN_ONE_TX[0], TWO_IN_ONE_TX[2]) for t in _page_transfers(name)}
    pair = map_trc20_history([{**body(TWO_IN_ONE_TX[0])["data"][0], "transaction_id": "cd" * 32}] * 2)
    want = seen_apart | {t.key[1:] for t in pair} | {(native.tx_id, 0)}
    assert len(got) == len(old)
    assert got == want
    assert len({k for k in want if k[0] == "cd" * 32}) == 2
