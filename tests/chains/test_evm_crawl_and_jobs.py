"""The crawl on an EVM node (token transfers by topic), and the scheduled jobs built from the settings."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.errors import UpstreamError
from registry.settings import Settings
from registry.sync.crawl import crawl
from registry.sync.jobs import jobs
from registry.sync.settings import SyncSettings
from tests.chains.anvil import Anvil, free_port
from tests.chains.evm_helpers import adapter, stored

pytestmark = pytest.mark.anvil


def screen(engine: Engine, chain: str, address: str) -> None:
    at = "2026-01-01 00:00:00.000000" if engine.dialect.name == "sqlite" else "2026-01-01T00:00:00Z"
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO screening_log (at, key_id, chain, address, risk_score, risk_level, action, "
                "registry_version) VALUES (:t, 1, :c, :a, 0, 'low', 'allow', '1')"
            ),
            {"t": at, "c": chain, "a": address},
        )


def test_crawl_expands_from_a_screened_address_to_its_counterparties(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    a = anvil.accounts
    seed, mule, far, stranger = a[1], a[2], a[3], a[4]
    anvil.token_transfer(token, a[0], seed, 10_000)
    anvil.token_transfer(token, seed, mule, 4_000)
    anvil.token_transfer(token, mule, far, 1_000)
    anvil.token_transfer(token, far, stranger, 500)  # three hops out: beyond a 2-hop crawl
    anvil.mine(3)
    screen(engine, "evm", seed)  # an EVM address screened without a network: crawled on every EVM network

    [report] = crawl(engine, [adapter(anvil, token)], hops=2, max_addresses=100)
    assert report.ok, report.reason
    moves = {(r[2], r[3], r[5]) for r in stored(engine)}
    assert (seed, mule, 4_000) in moves and (a[0], seed, 10_000) in moves  # the seed's own flows
    assert (mule, far, 1_000) in moves  # hop 1 fetched
    assert (far, stranger, 500) not in moves  # hop 2 is a counterparty, not fetched
    with engine.connect() as c:
        rows = c.execute(text("SELECT address, hops FROM crawl_address")).all()
    frontier: dict[str, int] = {str(a): int(h) for a, h in rows}
    assert frontier[seed] == 0 and frontier[mule] == 1

    anvil.token_transfer(token, seed, mule, 7)
    anvil.mine(3)
    [again] = crawl(engine, [adapter(anvil, token)], hops=2, max_addresses=100)
    assert again.inserted == 1  # only what is new since the last crawl


def test_crawl_budget_limits_the_addresses_fetched(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    a = anvil.accounts
    for i in range(1, 6):
        anvil.token_transfer(token, a[0], a[i], 100 * i)
    anvil.mine(3)
    screen(engine, "eth", a[0])
    [report] = crawl(engine, [adapter(anvil, token)], hops=3, max_addresses=3)
    assert report.ok and report.addresses == 3


def test_jobs_one_per_configured_network_and_a_failed_run_raises(engine: Engine, db_url: str) -> None:
    s = SyncSettings(
        eth_rpc_url=f"http://127.0.0.1:{free_port()}",
        chain_retry_attempts=1,
        chain_timeout_seconds=1,
        evm_tokens={"eth": []},
    )
    specs = jobs(Settings(database_url=db_url), s)
    assert [j.id for j in specs] == ["sync:eth", "crawl"]
    assert specs[0].seconds == s.sync_interval_seconds
    with pytest.raises(UpstreamError, match="sync eth"):
        specs[0].func()
    with engine.connect() as c:
        assert c.execute(text("SELECT status FROM sync_run")).scalar_one() == "failed"
    assert jobs(Settings(database_url=db_url), SyncSettings(_env_file=None)) == []


def test_settings_read_tokens_and_urls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_BSC_RPC_URL", "http://node:8545")
    monkeypatch.setenv("REGISTRY_EVM_TOKENS", orjson.dumps({"bsc": ["0xAbC"]}).decode())
    s = SyncSettings(_env_file=None)
    assert "bsc" in s.networks()
    assert s.tokens("bsc") == ["0xabc"]
    assert s.tokens("eth")[0] == "0xdac17f958d2ee523a2206206994597c13d831ec7"  # USDT by default
