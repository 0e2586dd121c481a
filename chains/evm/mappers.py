"""Pure mappers from EVM JSON-RPC bodies to records: no network, tested on recorded bodies.

Identity rule: a native value transfer is ``(tx hash, -1)``; a token transfer is ``(tx hash, logIndex)``. The log
index is unique within a block, hence within a transaction, and the sync and the crawl both see the same one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from chains.types import NATIVE, BlockRef, MalformedResponse, Transfer

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
"""keccak256("Transfer(address,address,uint256)"): ERC-20 and ERC-721 share it; ERC-721 has a 4th topic."""
NATIVE_IDX = -1

_EPOCH_CACHE: dict[int, datetime] = {}


def block_time(ts: int) -> datetime:
    t = _EPOCH_CACHE.get(ts)
    if t is None:
        if len(_EPOCH_CACHE) > 100_000:
            _EPOCH_CACHE.clear()
        t = _EPOCH_CACHE[ts] = datetime.fromtimestamp(ts, UTC)
    return t


def topic_address(topic: str) -> str:
    """The 20-byte address right-aligned in a 32-byte topic, lowercase like every stored EVM address."""
    if len(topic) != 66:
        raise ValueError(f"topic of length {len(topic)}")
    return "0x" + topic[26:].lower()


def address_topic(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def map_block_ref(raw: Mapping[str, Any]) -> BlockRef:
    try:
        return BlockRef(int(raw["number"], 16), str(raw["hash"]).lower(), str(raw["parentHash"]).lower())
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"block header: {e!r}") from e


def map_erc20_logs(
    network: str, logs: Iterable[Mapping[str, Any]], times: Mapping[int, int] | None = None
) -> list[Transfer]:
    """ERC-20 ``Transfer`` logs to transfers; removed logs and ERC-721 (4 topics) are skipped.

    ``times`` maps block number to a unix time for nodes whose logs carry no ``blockTimestamp``.
    """
    out: list[Transfer] = []
    append = out.append
    # Per-block values are parsed once per block, not once per log: a block holds hundreds of transfers.
    numbers: dict[str, int] = {}
    stamps: dict[str, datetime] = {}
    try:
        for log in logs:
            topics = log["topics"]
            if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or log.get("removed"):
                continue
            t1, t2 = topics[1], topics[2]
            if len(t1) != 66 or len(t2) != 66:
                raise ValueError("topic is not 32 bytes")
            bn = log["blockNumber"]
            block = numbers.get(bn)
            if block is None:
                block = numbers[bn] = int(bn, 16)
            ts = log.get("blockTimestamp")
            when = stamps.get(ts) if ts is not None else None
            if when is None:
                when = block_time(int(ts, 16) if ts is not None else times[block])  # type: ignore[index]
                if ts is not None:
                    stamps[ts] = when
            data = log["data"]
            append(
                Transfer(
                    network,
                    log["transactionHash"].lower(),
                    int(log["logIndex"], 16),
                    block,
                    when,
                    "0x" + t1[26:].lower(),
                    "0x" + t2[26:].lower(),
                    log["address"].lower(),
                    int(data, 16) if data != "0x" else 0,
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MalformedResponse(f"eth_getLogs entry: {e!r}") from e
    return out


def map_native_transfers(
    network: str, block: Mapping[str, Any], receipts: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Transfer]:
    """Value-carrying transactions of a full block (``eth_getBlockByNumber(n, true)``).

    ``receipts`` (by tx hash) drop reverted transactions and name the contract a creation made; without a
    receipt for a creation the created address is unknown and the transfer is skipped rather than guessed.
    """
    out: list[Transfer] = []
    try:
        number = int(block["number"], 16)
        when = block_time(int(block["timestamp"], 16))
        for tx in block["transactions"]:
            value = int(tx["value"], 16)
            if value == 0:
                continue
            txid = tx["hash"].lower()
            receipt = receipts.get(txid) if receipts is not None else None
            if receipt is not None and receipt.get("status") == "0x0":
                continue
            to = tx.get("to") or (receipt.get("contractAddress") if receipt is not None else None)
            if not to:
                continue
            out.append(Transfer(network, txid, NATIVE_IDX, number, when, tx["from"].lower(), to.lower(), NATIVE, value))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MalformedResponse(f"block transactions: {e!r}") from e
    return out


def needs_receipts(block: Mapping[str, Any]) -> bool:
    """Receipts are fetched only for blocks that move native value: most blocks of a token sync do not."""
    return any(tx.get("value", "0x0") not in ("0x0", "0x") for tx in block.get("transactions", ()))
