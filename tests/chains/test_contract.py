"""One contract, three backends: the same tests run against anvil, the TronGrid replay and the Esplora replay."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chains.addresses import normalize
from chains.bitcoin.adapter import BitcoinAdapter
from chains.tron.adapter import TronAdapter
from chains.types import ChainAdapter
from tests.chains.anvil import Anvil, fill_blocks
from tests.chains.conftest import FAST_RETRY
from tests.chains.evm_helpers import adapter as evm_adapter
from tests.chains.evm_helpers import make_activity
from tests.chains.fakes import USDT, EsploraReplay, TronGridReplay, tron_address


class ChainAdapterContract:
    """Subclasses provide ``adapter`` and ``busy_address`` (an address with activity) fixtures."""

    chain = ""

    def test_satisfies_the_protocol(self, adapter: ChainAdapter) -> None:
        assert isinstance(adapter, ChainAdapter)

    def test_range_holds_only_its_blocks_and_links_them(self, adapter: ChainAdapter) -> None:
        safe = adapter.safe_head()
        start, end = max(1, safe - 8), safe
        batch = adapter.fetch_range(start, end)
        assert batch.transfers, "the fixture chain has activity in this range"
        assert all(start <= t.block <= end for t in batch.transfers)
        assert len({t.key for t in batch.transfers}) == len(batch.transfers)
        assert all(t.amount > 0 and t.network == adapter.network for t in batch.transfers)
        for t in batch.transfers[:50]:
            normalize(t.from_address, self.chain)
            normalize(t.to_address, self.chain)
        refs = {r.number: r for r in batch.blocks}
        assert start in refs and end in refs
        for n, r in refs.items():
            if n - 1 in refs:
                assert r.parent_hash == refs[n - 1].hash
        now = {r.number: r.hash for r in adapter.block_refs([start, end])}
        assert now == {start: refs[start].hash, end: refs[end].hash}

    def test_activity_is_the_address_own_history(self, adapter: ChainAdapter, busy_address: str) -> None:
        safe = adapter.safe_head()
        act = adapter.activity(busy_address, 0, safe, 10_000)
        assert act.complete and act.transfers
        by_tx: dict[str, bool] = {}
        for t in act.transfers:
            by_tx[t.tx_id] = by_tx.get(t.tx_id, False) or busy_address in (t.from_address, t.to_address)
        assert all(by_tx.values())
        again = adapter.activity(busy_address, act.next_since, safe, 10_000)
        assert again.transfers == []  # nothing new since

    def test_activity_budget_cuts_and_resumes(self, adapter: ChainAdapter, busy_address: str) -> None:
        safe = adapter.safe_head()
        full = adapter.activity(busy_address, 0, safe, 10_000)
        cut = adapter.activity(busy_address, 0, safe, 2)
        assert not cut.complete
        assert {t.key for t in cut.transfers} <= {t.key for t in full.transfers}


@pytest.mark.anvil
class TestEvmContract(ChainAdapterContract):
    chain = "eth"

    @pytest.fixture
    def adapter(self, anvil: Anvil) -> ChainAdapter:
        token = anvil.deploy_token()
        fill_blocks(anvil, token, blocks=12, per_block=3)
        make_activity(anvil, token, rounds=6)
        return evm_adapter(anvil, token)

    @pytest.fixture
    def busy_address(self, anvil: Anvil) -> str:
        return anvil.accounts[0]


class TestTronContract(ChainAdapterContract):
    chain = "tron"

    @pytest.fixture
    def grid(self) -> Iterator[TronGridReplay]:
        g = TronGridReplay(blocks=30, page_size=3)
        yield g
        g.close()

    @pytest.fixture
    def adapter(self, grid: TronGridReplay) -> ChainAdapter:
        return TronAdapter(grid.url, api_key="test-key", tokens=[USDT], retry=FAST_RETRY, timeout=5)

    @pytest.fixture
    def busy_address(self) -> str:
        return tron_address(2)


class TestBitcoinContract(ChainAdapterContract):
    chain = "btc"

    @pytest.fixture
    def esplora(self) -> Iterator[EsploraReplay]:
        e = EsploraReplay(blocks=20, txs_per_block=3)
        yield e
        e.close()

    @pytest.fixture
    def adapter(self, esplora: EsploraReplay) -> ChainAdapter:
        return BitcoinAdapter(esplora.url, confirmations=2, retry=FAST_RETRY, timeout=5)

    @pytest.fixture
    def busy_address(self) -> str:
        return "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
