"""The pure EVM mappers on recorded JSON-RPC bodies: no node needed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chains.evm.mappers import map_block_ref, map_erc20_logs, map_native_transfers
from chains.types import MalformedResponse
from tests.chains.fakes import body


def test_erc20_logs_map_and_erc721_and_removed_logs_are_skipped() -> None:
    [t] = map_erc20_logs("eth", body("evm_get_logs.json")["result"])
    assert t.tx_id == "0x330043901f8e5a33920d3ace1c1bff67ddb84d2f545b5c48a1778d94a6ec5701"
    assert (t.idx, t.block, t.amount) == (0, 2, 12345)
    assert t.from_address == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    assert t.to_address == "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
    assert t.asset == "0x5fbdb2315678afecb367f032d93f642f64180aa3"
    assert t.time == datetime.fromtimestamp(0x6B0249C0, UTC)


def test_logs_without_block_timestamp_take_the_header_time() -> None:
    logs = body("evm_get_logs.json")["result"][:1]
    del logs[0]["blockTimestamp"]
    [t] = map_erc20_logs("eth", logs, {2: 1_700_000_000})
    assert t.time == datetime.fromtimestamp(1_700_000_000, UTC)
    with pytest.raises(MalformedResponse):
        map_erc20_logs("eth", logs)  # and without a header time the body is not usable


@pytest.mark.parametrize(
    "breakage",
    [
        lambda lg: lg.pop("transactionHash"),
        lambda lg: lg.__setitem__("logIndex", "zz"),
        lambda lg: lg["topics"].__setitem__(1, "0x1234"),
        lambda lg: lg.__setitem__("data", None),
    ],
)
def test_malformed_logs_are_refused(breakage: object) -> None:
    logs = body("evm_get_logs.json")["result"][:1]
    breakage(logs[0])  # type: ignore[operator]
    with pytest.raises(MalformedResponse):
        map_erc20_logs("eth", logs)


def test_native_transfers_skip_zero_value_and_reverted_and_name_created_contracts() -> None:
    tx = {"from": "0xAA" + "0" * 38, "to": "0xbb" + "0" * 38, "value": "0x10", "hash": "0x01"}
    block = {
        "number": "0x5",
        "timestamp": "0x6b0249c0",
        "hash": "0xh",
        "parentHash": "0xp",
        "transactions": [
            tx,
            {**tx, "hash": "0x02", "value": "0x0"},
            {**tx, "hash": "0x03", "to": None},
            {**tx, "hash": "0x04"},
        ],
    }
    receipts: dict[str, dict[str, Any]] = {
        "0x03": {"status": "0x1", "contractAddress": "0xCC" + "0" * 38},
        "0x04": {"status": "0x0", "contractAddress": None},
    }
    got = map_native_transfers("eth", block, receipts)
    assert [(t.tx_id, t.idx, t.from_address, t.to_address, t.amount) for t in got] == [
        ("0x01", -1, "0xaa" + "0" * 38, "0xbb" + "0" * 38, 16),
        ("0x03", -1, "0xaa" + "0" * 38, "0xcc" + "0" * 38, 16),
    ]
    assert map_block_ref(block).parent_hash == "0xp"
    with pytest.raises(MalformedResponse):
        map_native_transfers("eth", {**block, "timestamp": None}, receipts)
