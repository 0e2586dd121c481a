"""The EVM sync against a real anvil node: completeness, idempotence, a node dying mid-sync, reorgs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import orjson
import pytest
from eth_abi.abi import encode
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.sync.blocks import sync_network
from registry.sync.runs import Progress
from tests.chains.anvil import BASE_FEE_ZERO, Anvil, fill_blocks
from tests.chains.evm_helpers import adapter, cursor, make_activity, node_truth, stored

pytestmark = pytest.mark.anvil


def test_sync_stores_what_the_node_says_and_a_second_run_adds_nothing(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    make_activity(anvil, token)
    a = adapter(anvil, token, confirmations=2)
    safe = anvil.block_number() - 2

    first = sync_network(engine, a, batch_blocks=7)
    rows = stored(engine)
    assert first.ok, first.reason
    assert len(rows) == len(set(rows))
    assert set(rows) == node_truth(anvil, token, safe)
    assert any(r[4] == "native" and r[1] == -1 for r in rows)  # native payments are in
    assert cursor(engine) == safe + 1

    second = sync_network(engine, a, batch_blocks=7)
    assert second.ok and second.inserted == 0 and second.blocks == 0
    assert sorted(stored(engine)) == sorted(rows)


def test_only_blocks_behind_the_confirmation_depth_are_stored(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    make_activity(anvil, token, rounds=3)
    report = sync_network(engine, adapter(anvil, token, confirmations=4))
    head = anvil.block_number()
    assert report.ok and report.last_block == head - 4
    with engine.connect() as c:
        top = c.execute(text("SELECT max(block) FROM transfer")).scalar_one()
    assert top <= head - 4
    recent = node_truth(anvil, token, head) - node_truth(anvil, token, head - 4)
    assert recent and not (recent & set(stored(engine)))


def test_contract_creation_with_value_is_a_transfer_to_the_new_contract_and_reverts_are_not(
    anvil: Anvil, engine: Engine
) -> None:
    token = anvil.deploy_token()
    tx = anvil.rpc("eth_sendTransaction", [{"from": anvil.accounts[4], "data": "0x00", "value": hex(999)}])
    created = anvil.receipt(tx)["contractAddress"].lower()
    bad = anvil.rpc(
        "eth_sendTransaction", [{"from": anvil.accounts[5], "to": token, "value": hex(5), "gas": hex(90_000)}]
    )
    assert anvil.receipt(bad)["status"] == "0x0"
    anvil.mine(3)
    sync_network(engine, adapter(anvil, token))
    rows = stored(engine)
    assert (tx, -1, anvil.accounts[4], created, "native", 999) in rows
    assert not any(r[0] == bad for r in rows)


def test_node_killed_mid_sync_then_restarted_leaves_no_gap_and_no_duplicate(engine: Engine, tmp_path: Path) -> None:
    state = tmp_path / "anvil-state.json"
    disk = tmp_path / "anvil-disk.json"
    node = Anvil.start(extra=[*BASE_FEE_ZERO, "--dump-state", str(state), "--state-interval", "1"])
    try:
        token = node.deploy_token()
        fill_blocks(node, token, blocks=120, per_block=3)
        make_activity(node, token, rounds=5)
        # What the node's disk holds when it dies: a state dump taken after the last transaction (copied, so a
        # kill in the middle of a later periodic dump cannot leave a torn file).
        done = time.time()
        deadline = time.monotonic() + 20
        while not (state.exists() and state.stat().st_mtime > done + 0.2):
            assert time.monotonic() < deadline, "anvil wrote no state dump"
            time.sleep(0.1)
        while True:
            shutil.copy(state, disk)
            try:
                orjson.loads(disk.read_bytes())
                break
            except orjson.JSONDecodeError:
                assert time.monotonic() < deadline, "no complete state dump"
                time.sleep(0.1)
        a = adapter(node, token)
        safe = node.block_number() - 2
        batches: list[Progress] = []

        def kill_after_three(p: Progress) -> None:
            batches.append(p)
            if len(batches) == 3:
                node.kill()

        failed = sync_network(engine, a, batch_blocks=10, on_batch=kill_after_three)
        assert not failed.ok and failed.reason
        stopped_at = cursor(engine)
        # Three batches committed, perhaps a fourth that was fetched ahead before the node died; never part of one.
        assert stopped_at in (30, 40) and failed.last_block == stopped_at - 1
        with engine.connect() as c:
            run = c.execute(text("SELECT status, reason FROM sync_run ORDER BY id DESC")).first()
        assert run is not None and run[0] == "failed" and run[1]

        node.restart(extra=["--load-state", str(disk)])
        resumed = sync_network(engine, a, batch_blocks=10)
        assert resumed.ok, resumed.reason
        assert resumed.first_block == stopped_at
        rows = stored(engine)
        assert len(rows) == len(set(rows))
        assert set(rows) == node_truth(node, token, safe)
    finally:
        node.stop()


def test_reorg_deeper_than_the_confirmation_depth_is_rolled_back(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    a0, a1, a2 = anvil.accounts[:3]
    for i in range(8):
        anvil.token_transfer(token, a0, a1, 100 + i)
    anvil.mine(2)
    a = adapter(anvil, token, confirmations=2)
    assert sync_network(engine, a).ok
    before = set(stored(engine))
    head = anvil.block_number()

    # Replace the last 6 blocks (deeper than 2 confirmations): the old transfers vanish, a new one appears.
    depth = 6
    replaced = {r for r in before if r[4] == token}
    data = "0xa9059cbb" + encode(["address", "uint256"], [a2, 424242]).hex()
    anvil.rpc("anvil_reorg", [depth, [[{"from": a0, "to": token, "data": data, "gas": hex(100_000)}, 1]]])
    anvil.mine(3)
    assert anvil.block_number() >= head

    report = sync_network(engine, a)
    assert report.ok, report.reason
    assert report.rolled_back > 0
    after = set(stored(engine))
    truth = node_truth(anvil, token, anvil.block_number() - 2)
    assert after == truth
    assert any(r[5] == 424242 and r[3] == a2 for r in after)
    gone = {r for r in replaced if r not in truth}
    assert gone and not (gone & after)


def test_explicit_range_backfills_without_moving_the_cursor(anvil: Anvil, engine: Engine) -> None:
    token = anvil.deploy_token()
    make_activity(anvil, token, rounds=6)
    a = adapter(anvil, token)
    report = sync_network(engine, a, first_block=3, last_block=8)
    assert report.ok and report.first_block == 3 and report.last_block == 8
    assert cursor(engine) is None
    with engine.connect() as c:
        blocks = {b for (b,) in c.execute(text("SELECT block FROM transfer"))}
    assert blocks and min(blocks) >= 3 and max(blocks) <= 8
