"""Bitcoin against an Esplora replay server: the pro-rata rule, sync, reorg, crawl, 429 and bad bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.bitcoin.adapter import BitcoinAdapter
from chains.bitcoin.mappers import map_transaction, split_pro_rata
from chains.retry import RetryPolicy
from chains.types import MalformedResponse
from registry.sync.blocks import sync_network
from registry.sync.crawl import crawl
from tests.chains.evm_helpers import cursor, stored
from tests.chains.fakes import EsploraReplay, body

RETRY = RetryPolicy(attempts=3, base_seconds=0.01, max_seconds=0.05)


@pytest.fixture
def esplora() -> Iterator[EsploraReplay]:
    e = EsploraReplay(blocks=20, txs_per_block=30, busy_every=10)  # blocks 0 and 10: two pages each
    yield e
    e.close()


def btc(e: EsploraReplay, confirmations: int = 6) -> BitcoinAdapter:
    return BitcoinAdapter(e.url, confirmations=confirmations, retry=RETRY, timeout=5)


def test_recorded_multi_input_transaction_splits_pro_rata() -> None:
    transfers = map_transaction(body("esplora_tx_multi.json"))
    # Inputs: 3L4Y… 70,000 (two coins), bc1qw5… 30,000. Outputs: 1A1z… 50,000; OP_RETURN; change to 3L4Y…;
    # bc1qar… 19,001. Change and OP_RETURN move nothing; each output is split 70:30.
    got = {(t.from_address, t.to_address): t.amount for t in transfers}
    assert got == {
        ("3L4YUynB4X44rJBY9CmiLMN8Wjti49JCYB", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"): 35_000,
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"): 15_000,
        ("3L4YUynB4X44rJBY9CmiLMN8Wjti49JCYB", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"): 13_301,
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"): 5_700,
    }
    assert len({t.idx for t in transfers}) == len(transfers)
    assert all(t.block == 800123 and t.asset == "native" for t in transfers)


def test_coinbase_gives_no_transfer() -> None:
    assert map_transaction(body("esplora_tx_coinbase.json")) == []


def test_malformed_transaction_is_refused() -> None:
    tx = body("esplora_tx_multi.json")
    del tx["vout"][0]["value"]
    with pytest.raises(MalformedResponse):
        map_transaction(tx)


@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(1, 10**12), min_size=1),
    st.dictionaries(st.sampled_from("uvwxyz"), st.integers(1, 10**12), min_size=1),
)
def test_pro_rata_amounts_add_up_to_each_output_and_follow_the_shares(
    inputs: dict[str, int], outputs: dict[str, int]
) -> None:
    parts = split_pro_rata(inputs, outputs)
    total = sum(inputs.values())
    for to, value in outputs.items():
        mine = [(frm, amt) for _, frm, t, amt in parts if t == to]
        assert sum(a for _, a in mine) == value
        for frm, amt in mine:
            assert abs(amt - value * inputs[frm] / total) < 1 + 1e-9
    assert len({p[0] for p in parts}) == len(parts)


def expected(e: EsploraReplay, upto: int) -> set[tuple[str, int, str, str, str, int]]:
    """What blocks ``0..upto`` moved, from the recording's ``truth.json``: the model's transactions split by the
    reference pro-rata rule (``tests/chains/chainmodel.py``, exact fractions), not by the mapper under test."""
    return e.expected(upto)


def test_sync_pages_blocks_retries_429_and_keeps_six_confirmations(esplora: EsploraReplay, engine: Engine) -> None:
    esplora.faults.add("/block/", "429", 2)
    esplora.faults.add("/blocks/tip/height", "503", 1)
    report = sync_network(engine, btc(esplora), batch_blocks=4)
    assert report.ok, report.reason
    safe = esplora.tip - 5
    assert report.last_block == safe
    assert set(stored(engine, "btc")) == expected(esplora, safe)
    assert cursor(engine, "btc") == safe + 1
    pages = [p for _, p, _, _ in esplora.server.requests if p.endswith("/txs/25")]
    assert pages  # 30 transactions per block: a second page of 25


def test_persistent_429_fails_the_run_after_the_retries(esplora: EsploraReplay, engine: Engine) -> None:
    esplora.faults.add("/blocks/tip/height", "429", 3)
    report = sync_network(engine, btc(esplora))
    assert report.status == "failed" and report.reason is not None
    assert "gave up after 3 attempts" in report.reason and "HTTP 429" in report.reason
    assert sum(p == "/blocks/tip/height" for _, p, _, _ in esplora.server.requests) == 3


def test_reorg_replaces_rolled_back_blocks(esplora: EsploraReplay, engine: Engine) -> None:
    assert sync_network(engine, btc(esplora, confirmations=2)).ok
    old = set(stored(engine, "btc"))
    esplora.reorg(depth=4)  # deeper than 2 confirmations
    report = sync_network(engine, btc(esplora, confirmations=2))
    assert report.ok and report.rolled_back > 0
    now = set(stored(engine, "btc"))
    assert now == expected(esplora, esplora.tip - 1)
    assert old - now  # the replaced blocks' transfers are gone


def test_reorg_to_a_shorter_chain_rolls_back_the_vanished_blocks(esplora: EsploraReplay, engine: Engine) -> None:
    assert sync_network(engine, btc(esplora, confirmations=1)).ok
    esplora.reorg(depth=4, new_blocks=2)  # heights past the new tip answer 404
    report = sync_network(engine, btc(esplora, confirmations=1))
    assert report.ok, report.reason
    assert report.rolled_back > 0
    assert set(stored(engine, "btc")) == expected(esplora, esplora.tip)


def test_malformed_body_fails_the_run_with_its_reason(esplora: EsploraReplay, engine: Engine) -> None:
    esplora.faults.add("/block/", "malformed", 1)
    failed = sync_network(engine, btc(esplora))
    assert not failed.ok and "not JSON" in (failed.reason or "")
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM sync_run WHERE status = 'failed'")).scalar_one() == 1
    assert sync_network(engine, btc(esplora)).ok
    assert set(stored(engine, "btc")) == expected(esplora, esplora.tip - 5)


def test_crawl_reads_address_histories_page_by_page(esplora: EsploraReplay, engine: Engine) -> None:
    seed = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO screening_log (at, key_id, chain, address, risk_score, risk_level, action, "
                "registry_version) VALUES (:t, 1, 'btc', :a, 0, 'low', 'allow', '1')"
            ),
            {"a": seed, "t": "2026-01-01 00:00:00.000000"},
        )
    [report] = crawl(engine, [btc(esplora)], hops=1, max_addresses=10, max_transfers_per_address=10_000)
    assert report.ok, report.reason
    assert report.addresses == 1
    safe = esplora.tip - 5
    mine = {r for r in expected(esplora, safe) if seed in (r[2], r[3])}
    assert mine <= set(stored(engine, "btc"))
    assert any("/txs/chain/" in p for _, p, _, _ in esplora.server.requests)  # followed the pages
