"""The small chains the TronGrid and Esplora recordings were made from, and the truth about them.

Used only when recording (``REGISTRY_TEST_RECORD_REPLAYS=1``, see ``tests/chains/bodies/README.md``): each model is a
chain held in memory and served in the public API's exact shapes, its bodies built from the mainnet bodies in
``bodies/`` (same keys, same nesting, same encodings). The tests never talk to a model: they talk to the strict
replay of what it answered.

The truth a test compares against is computed here, from what the model put in, not by the mappers under test:
for Tron the model knows every payment it made; for Bitcoin ``reference_transfers`` applies the pro-rata rule as
docs/chains.md states it, with exact fractions, written apart from ``chains/bitcoin/mappers.py``.
"""

from __future__ import annotations

import copy
import hashlib
from fractions import Fraction
from math import floor
from pathlib import Path
from typing import Any

import orjson

from chains.tron.mappers import base58_to_hex, hex_to_base58
from tests.chains.replay import JSON, TEXT, Reply

BODIES = Path(__file__).resolve().parent / "bodies"
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
USDT = hex_to_base58(USDT_HEX)
Row = tuple[str, int, str, str, str, int]


def body(name: str) -> Any:
    return orjson.loads((BODIES / name).read_bytes())


def _h(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def tron_address(i: int) -> str:
    return hex_to_base58("41" + hashlib.sha256(f"tron{i}".encode()).hexdigest()[:40])


class TronChain:
    """Solidified blocks ``1..head`` with TRX and USDT transfers, account histories, fingerprint pages."""

    def __init__(self, blocks: int = 30, page_size: int = 3) -> None:
        self.template_block = body("tron_block.json")
        self.trx_tx, self.trc20_tx, self.failed_tx, self.other_tx = self.template_block["transactions"]
        self.page_size = page_size
        self.blocks: dict[int, dict[str, Any]] = {}
        self.expected: set[Row] = set()
        """Every transfer the model made: TRX ``(tx, 0, …)``, USDT ``(tx, 0, …)`` (token transfers numbered 0
        here; their stored index is a function of the row, see ``chains.tron.mappers.trc20_index``)."""
        self.history: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # address -> (ms, tx entry)
        self.trc20: dict[str, list[dict[str, Any]]] = {}
        for n in range(1, blocks + 1):
            self._add_block(n)
        self.head = blocks

    def _add_block(self, n: int) -> None:
        blk = copy.deepcopy(self.template_block)
        raw = blk["block_header"]["raw_data"]
        raw["number"] = n
        raw["timestamp"] = 1717418640000 + 3000 * n
        raw["parentHash"] = self.blocks[n - 1]["blockID"] if n > 1 else "00" * 32
        blk["blockID"] = f"{n:016x}" + _h("tron", n)[:48]
        txs = []
        a, b, c = tron_address(n % 7), tron_address(n % 7 + 1), tron_address(n % 5 + 20)
        trx = copy.deepcopy(self.trx_tx)
        trx["txID"] = _h("trx", n)
        v = trx["raw_data"]["contract"][0]["parameter"]["value"]
        v.update(amount=1_000_000 * n, owner_address=base58_to_hex(a), to_address=base58_to_hex(b))
        txs.append(trx)
        self.expected.add((trx["txID"], 0, a, b, "native", 1_000_000 * n))
        self._index(trx, n, raw["timestamp"], a, b)
        if n % 2 == 0:
            tok = copy.deepcopy(self.trc20_tx)
            tok["txID"] = _h("usdt", n)
            v = tok["raw_data"]["contract"][0]["parameter"]["value"]
            amount = 7_000_000 + n
            v["owner_address"] = base58_to_hex(b)
            v["data"] = "a9059cbb" + "0" * 24 + base58_to_hex(c)[2:] + f"{amount:064x}"
            txs.append(tok)
            self.expected.add((tok["txID"], 0, b, c, USDT, amount))
            entry = {
                "transaction_id": tok["txID"],
                "token_info": {"symbol": "USDT", "address": USDT, "decimals": 6, "name": "Tether USD"},
                "block_timestamp": raw["timestamp"],
                "from": b,
                "to": c,
                "type": "Transfer",
                "value": str(amount),
            }
            for addr in (b, c):
                self.trc20.setdefault(addr, []).append(entry)
        failed = copy.deepcopy(self.failed_tx)
        failed["txID"] = _h("failed", n)
        other = copy.deepcopy(self.other_tx)
        other["txID"] = _h("other", n)
        txs += [failed, other]
        blk["transactions"] = txs
        self.blocks[n] = blk

    def _index(self, tx: dict[str, Any], n: int, ms: int, *addrs: str) -> None:
        entry = {**copy.deepcopy(tx), "blockNumber": n, "block_timestamp": ms, "internal_transactions": []}
        for addr in set(addrs):
            self.history.setdefault(addr, []).append((ms, entry))

    def truth(self) -> dict[str, Any]:
        return {"head": self.head, "expected": sorted(self.expected)}

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> Reply:
        lo = int(query.get("min_timestamp", 0))
        hi = int(query.get("max_timestamp", 2**62))
        items = [it for it in items if lo <= it["block_timestamp"] <= hi]
        start = int(query["fingerprint"].removeprefix("fp")) if "fingerprint" in query else 0
        size = min(int(query.get("limit", 20)), self.page_size)
        page = items[start : start + size]
        meta: dict[str, Any] = {"at": 1717419000000, "page_size": len(page)}
        if start + size < len(items):
            meta["fingerprint"] = f"fp{start + size}"
            meta["links"] = {"next": f"https://api.trongrid.io/v1/...&fingerprint=fp{start + size}"}
        return 200, JSON, orjson.dumps({"data": page, "success": True, "meta": meta})

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        if path == "/walletsolidity/getnowblock":
            return 200, JSON, orjson.dumps(self.blocks[self.head])
        if path == "/walletsolidity/getblockbylimitnext":
            req = orjson.loads(raw)
            nums = range(req["startNum"], min(req["endNum"], self.head + 1))
            return 200, JSON, orjson.dumps({"block": [self.blocks[n] for n in nums]})
        if path == "/walletsolidity/getblockbynum":
            n = orjson.loads(raw)["num"]
            return 200, JSON, orjson.dumps(self.blocks.get(n, {}))
        if path.startswith("/v1/accounts/"):
            addr = path.split("/")[3]
            if path.endswith("/transactions/trc20"):
                items = [
                    e for e in self.trc20.get(addr, []) if e["token_info"]["address"] == query.get("contract_address")
                ]
                return self._page(items, query)
            if path.endswith("/transactions"):
                items = [
                    {**e, "block_timestamp": ms} for ms, e in sorted(self.history.get(addr, []), key=lambda x: x[0])
                ]
                return self._page(items, query)
        return 404, JSON, b'{"Error":"not found"}'


class EsploraChain:
    """Blocks ``0..tip`` with multi-input transactions and coinbases; address histories newest first.

    Every ``busy_every``-th block (heights 0, ``busy_every``, …) holds ``txs_per_block`` transactions, the others
    three: enough blocks of more than one 25-transaction page to test paging, without recording megabytes."""

    def __init__(self, blocks: int = 20, txs_per_block: int = 30, busy_every: int = 1) -> None:
        self.multi = body("esplora_tx_multi.json")
        self.coinbase = body("esplora_tx_coinbase.json")
        self.txs_per_block = txs_per_block
        self.busy_every = busy_every
        self.chain: list[dict[str, Any]] = []  # index = height: {"hash", "header", "txs"}
        self.fork = 0
        for h in range(blocks):
            self._append(h)

    @property
    def tip(self) -> int:
        return len(self.chain) - 1

    def _append(self, h: int) -> None:
        bhash = _h("btc", h, self.fork)
        ts = 1690168629 + 600 * h
        txs = []
        cb = copy.deepcopy(self.coinbase)
        cb["txid"] = _h("cb", h, self.fork)
        txs.append(cb)
        for k in range((self.txs_per_block if h % self.busy_every == 0 else 3) - 1):
            tx = copy.deepcopy(self.multi)
            tx["txid"] = _h("tx", h, k, self.fork)
            for i, v in enumerate(tx["vin"]):
                v["prevout"]["value"] = 10_000 * (i + 1) + 7 * k + h
            for j, o in enumerate(tx["vout"]):
                if "scriptpubkey_address" in o:
                    o["value"] = 5_000 * (j + 1) + 3 * k + h
            txs.append(tx)
        for tx in txs:
            tx["status"] = {"confirmed": True, "block_height": h, "block_hash": bhash, "block_time": ts}
        header = {
            "id": bhash,
            "height": h,
            "version": 536870912,
            "timestamp": ts,
            "tx_count": len(txs),
            "size": 1000,
            "weight": 4000,
            "merkle_root": _h("m", h),
            "previousblockhash": self.chain[h - 1]["hash"] if h else None,
            "mediantime": ts - 300,
            "nonce": 1,
            "bits": 386089497,
            "difficulty": 1,
        }
        self.chain.append({"hash": bhash, "header": header, "txs": txs})

    def reorg(self, depth: int, new_blocks: int | None = None) -> None:
        """Replace the last ``depth`` blocks with ``new_blocks`` other ones (default as many)."""
        self.fork += 1
        top = self.tip
        del self.chain[top - depth + 1 :]
        for h in range(top - depth + 1, top - depth + 1 + (depth if new_blocks is None else new_blocks)):
            self._append(h)

    def truth(self) -> dict[str, Any]:
        return {
            "tip": self.tip,
            "blocks": [sorted(row for tx in b["txs"] for row in reference_transfers(tx)) for b in self.chain],
        }

    def handle(self, method: str, path: str, query: dict[str, str], raw: bytes) -> Reply:
        parts = path.strip("/").split("/")
        if path == "/blocks/tip/height":
            return 200, TEXT, str(self.tip).encode()
        if parts[0] == "block-height" and len(parts) == 2:
            h = int(parts[1])
            if h > self.tip:
                return 404, TEXT, b"Block not found"
            return 200, TEXT, self.chain[h]["hash"].encode()
        if parts[0] == "block":
            blk = next((b for b in self.chain if b["hash"] == parts[1]), None)
            if blk is None:
                return 404, TEXT, b"Block not found"
            if len(parts) == 2:
                return 200, JSON, orjson.dumps(blk["header"])
            if len(parts) == 4 and parts[2] == "txs":
                start = int(parts[3])
                return 200, JSON, orjson.dumps(blk["txs"][start : start + 25])
        if parts[0] == "address" and parts[2:4] == ["txs", "chain"]:
            addr = parts[1]
            mine = [
                tx
                for b in reversed(self.chain)
                for tx in b["txs"]
                if addr
                in {(v.get("prevout") or {}).get("scriptpubkey_address") for v in tx["vin"]}
                | {o.get("scriptpubkey_address") for o in tx["vout"]}
            ]
            if len(parts) == 5:
                last = next(i for i, tx in enumerate(mine) if tx["txid"] == parts[4])
                mine = mine[last + 1 :]
            return 200, JSON, orjson.dumps(mine[:25])
        return 404, TEXT, b"not found"


def reference_transfers(tx: dict[str, Any]) -> list[Row]:
    """The pro-rata rule of docs/chains.md, with exact fractions: the truth the Bitcoin tests compare against.

    Inputs and outputs summed per address (first appearance fixes the position), outputs and inputs without an
    address left out, change (an output to an input address) moves nothing, coinbase gives nothing. Each output
    ``o`` is split ``value(o) × in(i) / Σ in``; the parts are rounded down and the units left over go one each to
    the largest fractional parts, ties to the earlier input. ``idx = input position × outputs + output position``.
    """
    if any(v.get("is_coinbase") for v in tx["vin"]):
        return []
    ins: dict[str, int] = {}
    for v in tx["vin"]:
        prev = v.get("prevout") or {}
        if prev.get("scriptpubkey_address") and prev["value"] > 0:
            ins[prev["scriptpubkey_address"]] = ins.get(prev["scriptpubkey_address"], 0) + prev["value"]
    outs: dict[str, int] = {}
    for o in tx["vout"]:
        if o.get("scriptpubkey_address") and o["value"] > 0:
            outs[o["scriptpubkey_address"]] = outs.get(o["scriptpubkey_address"], 0) + o["value"]
    total = sum(ins.values())
    rows: list[Row] = []
    for pos, (to, value) in enumerate(outs.items()):
        if to in ins or not total:
            continue
        exact = [Fraction(value * amount, total) for amount in ins.values()]
        parts = [floor(x) for x in exact]
        left = value - sum(parts)
        for k in sorted(range(len(exact)), key=lambda k: (parts[k] - exact[k], k))[:left]:
            parts[k] += 1
        assert sum(parts) == value
        for k, frm in enumerate(ins):
            if parts[k]:
                rows.append((str(tx["txid"]), k * len(outs) + pos, frm, to, "native", parts[k]))
    return rows
