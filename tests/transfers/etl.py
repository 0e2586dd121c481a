"""ethereum-etl's CSV files written from a live node, as its exporters write them (for the import tests).

``export_token_transfers``: the ``Transfer(address,address,uint256)`` logs whose topics and data make four 32-byte
words (ERC-20), columns token_address, from_address, to_address, value, transaction_hash, log_index, block_number;
``export_blocks_and_transactions``: blocks.csv and transactions.csv; ``export_receipts_and_logs``: receipts.csv.
Integers in decimal, addresses and hashes lowercase, Python's ``csv`` writer (``\\r\\n`` line ends), as ethereum-etl.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.chains.anvil import Anvil

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TOKEN_FIELDS = ["token_address", "from_address", "to_address", "value", "transaction_hash", "log_index", "block_number"]
BLOCK_FIELDS = [
    "number", "hash", "parent_hash", "nonce", "sha3_uncles", "logs_bloom", "transactions_root", "state_root",
    "receipts_root", "miner", "difficulty", "total_difficulty", "size", "extra_data", "gas_limit", "gas_used",
    "timestamp", "transaction_count", "base_fee_per_gas", "withdrawals_root", "withdrawals", "blob_gas_used",
    "excess_blob_gas",
]  # fmt: skip
TRANSACTION_FIELDS = [
    "hash", "nonce", "block_hash", "block_number", "transaction_index", "from_address", "to_address", "value", "gas",
    "gas_price", "input", "block_timestamp", "max_fee_per_gas", "max_priority_fee_per_gas", "transaction_type",
    "max_fee_per_blob_gas", "blob_versioned_hashes",
]  # fmt: skip
RECEIPT_FIELDS = [
    "transaction_hash", "transaction_index", "block_hash", "block_number", "cumulative_gas_used", "gas_used",
    "contract_address", "root", "status", "effective_gas_price", "l1_fee", "l1_gas_used", "l1_gas_used_paid",
    "l1_gas_price", "l1_fee_scalar",
]  # fmt: skip


def _int(v: Any) -> Any:
    return "" if v is None else int(v, 16)


def _write(path: Path, fields: list[str], rows: list[list[Any]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(fields)
        w.writerows(rows)
    return path


def export_token_transfers(node: Anvil, path: Path, upto: int) -> Path:
    logs = node.rpc("eth_getLogs", [{"fromBlock": "0x0", "toBlock": hex(upto), "topics": [TRANSFER_TOPIC]}])
    rows = []
    for lg in logs:
        words = lg["topics"] + [
            "0x" + lg["data"][2:][i : i + 64] for i in range(0, len(lg["data"]) - 2, 64)
        ]  # ethereum-etl: topics and data words together must be four
        if len(words) != 4:
            continue
        rows.append(
            [
                lg["address"].lower(),
                "0x" + words[1][-40:],
                "0x" + words[2][-40:],
                int(words[3], 16),
                lg["transactionHash"],
                int(lg["logIndex"], 16),
                int(lg["blockNumber"], 16),
            ]
        )
    return _write(path, TOKEN_FIELDS, rows)


def export_blocks_and_transactions(node: Anvil, blocks_path: Path, txs_path: Path, upto: int) -> tuple[Path, Path]:
    blocks, txs = [], []
    for n in range(upto + 1):
        b = node.rpc("eth_getBlockByNumber", [hex(n), True])
        blocks.append(
            [
                int(b["number"], 16), b["hash"], b["parentHash"], b.get("nonce", ""), b["sha3Uncles"], b["logsBloom"],
                b["transactionsRoot"], b["stateRoot"], b["receiptsRoot"], b["miner"].lower(), _int(b.get("difficulty")),
                _int(b.get("totalDifficulty")), _int(b.get("size")), b["extraData"], int(b["gasLimit"], 16),
                int(b["gasUsed"], 16), int(b["timestamp"], 16), len(b["transactions"]),
                _int(b.get("baseFeePerGas")), b.get("withdrawalsRoot", ""), "[]" if "withdrawals" in b else "",
                _int(b.get("blobGasUsed")), _int(b.get("excessBlobGas")),
            ]
        )  # fmt: skip
        for tx in b["transactions"]:
            txs.append(
                [
                    tx["hash"], int(tx["nonce"], 16), tx["blockHash"], int(tx["blockNumber"], 16),
                    int(tx["transactionIndex"], 16), tx["from"].lower(), (tx.get("to") or "").lower(),
                    int(tx["value"], 16), int(tx["gas"], 16), _int(tx.get("gasPrice")), tx["input"],
                    int(b["timestamp"], 16), _int(tx.get("maxFeePerGas")), _int(tx.get("maxPriorityFeePerGas")),
                    _int(tx.get("type")), _int(tx.get("maxFeePerBlobGas")), "",
                ]
            )  # fmt: skip
    return _write(blocks_path, BLOCK_FIELDS, blocks), _write(txs_path, TRANSACTION_FIELDS, txs)


def export_receipts(node: Anvil, path: Path, upto: int) -> Path:
    rows = []
    for n in range(upto + 1):
        b = node.rpc("eth_getBlockByNumber", [hex(n), False])
        for h in b["transactions"]:
            r = node.rpc("eth_getTransactionReceipt", [h])
            rows.append(
                [
                    r["transactionHash"], int(r["transactionIndex"], 16), r["blockHash"], int(r["blockNumber"], 16),
                    int(r["cumulativeGasUsed"], 16), int(r["gasUsed"], 16), (r.get("contractAddress") or "").lower(),
                    r.get("root") or "", _int(r.get("status")), _int(r.get("effectiveGasPrice")), "", "", "", "", "",
                ]
            )  # fmt: skip
    return _write(path, RECEIPT_FIELDS, rows)
