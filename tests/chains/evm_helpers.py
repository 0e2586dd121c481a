"""Test helpers for the EVM suites: activity on anvil, the node's own view of it, and the store's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.evm.adapter import EvmAdapter
from tests.chains.anvil import Anvil
from tests.chains.conftest import FAST_RETRY

TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
Row = tuple[str, int, str, str, str, int]


def make_activity(node: Anvil, token: str, rounds: int = 10) -> None:
    """Token transfers, native payments, a contract creation carrying value and a reverted payment."""
    a = node.accounts
    sent: list[str] = []
    for i in range(rounds):
        sent.append(node.token_transfer(token, a[0], a[1 + i % 5], 1000 + i))
        sent.append(node.send_value(a[2], a[3 + i % 3], 10**15 * (i + 1)))
    sent.append(node.rpc("eth_sendTransaction", [{"from": a[4], "data": "0x00", "value": hex(12345)}]))
    sent.append(node.rpc("eth_sendTransaction", [{"from": a[5], "to": token, "value": hex(777), "gas": hex(100_000)}]))
    # A busy anvil answers eth_sendTransaction before it has mined: wait, so that callers see a settled head.
    for tx in sent:
        node.receipt(tx)


def adapter(node: Anvil, token: str, *, confirmations: int = 2, url: str | None = None, **kw: Any) -> EvmAdapter:
    kw.setdefault("retry", FAST_RETRY)
    return EvmAdapter("eth", url or node.url, tokens=[token], confirmations=confirmations, **kw)


def node_truth(node: Anvil, token: str, upto: int) -> set[Row]:
    """What the node says moved in blocks 0..upto, computed the plain way (one receipt per transaction)."""
    out: set[Row] = set()
    logs = node.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(upto), "address": token}])
    for lg in logs:
        if lg["topics"][0] == TRANSFER:
            out.add(
                (
                    lg["transactionHash"],
                    int(lg["logIndex"], 16),
                    "0x" + lg["topics"][1][-40:],
                    "0x" + lg["topics"][2][-40:],
                    token,
                    int(lg["data"], 16),
                )
            )
    for n in range(upto + 1):
        block = node.rpc("eth_getBlockByNumber", [hex(n), True])
        for tx in block["transactions"]:
            if int(tx["value"], 16) == 0:
                continue
            receipt = node.rpc("eth_getTransactionReceipt", [tx["hash"]])
            if receipt["status"] != "0x1":
                continue
            to = tx["to"] or receipt["contractAddress"]
            out.add((tx["hash"], -1, tx["from"], to.lower(), "native", int(tx["value"], 16)))
    return out


def stored(engine: Engine, network: str = "eth") -> list[Row]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT tx_id, idx, from_address, to_address, asset, amount FROM transfer WHERE network = :n"),
            {"n": network},
        )
        return [(r[0], int(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows]


def cursor(engine: Engine, network: str = "eth") -> int | None:
    with engine.connect() as c:
        row = c.execute(text("SELECT next_block FROM sync_cursor WHERE network = :n"), {"n": network}).first()
        return None if row is None else int(row[0])
