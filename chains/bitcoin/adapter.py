"""Esplora (Blockstream's and mempool.space's REST API): blocks page by page, address histories newest first.

A full Bitcoin sync through Esplora costs one request per 25 transactions; the crawl (address histories) is how
this adapter is meant to be used on mainnet, the full sync for short ranges and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chains.bitcoin import mappers
from chains.rest import RestClient
from chains.retry import RetryPolicy
from chains.types import Activity, BlockBatch, BlockRef, MalformedResponse, Transfer

TXS_PER_PAGE = 25  # Esplora's fixed page size for block and address transactions


class BitcoinAdapter:
    network = "btc"

    def __init__(
        self,
        url: str,
        *,
        confirmations: int = 6,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = RestClient(url, timeout=timeout, retry=retry)
        self.confirmations = confirmations

    def _int(self, path: str) -> int:
        body = (self.client.text(path) or "").strip()
        if not body.isdigit():
            raise MalformedResponse(f"GET {path}: not a number")
        return int(body)

    def _hash(self, height: int, missing_ok: bool = False) -> str:
        h = self.client.text(f"/block-height/{height}", missing_ok=missing_ok)
        if h is None:
            return ""
        h = h.strip()
        if len(h) != 64:
            raise MalformedResponse(f"GET /block-height/{height}: not a block hash")
        return h

    def safe_head(self) -> int:
        """A block with ``confirmations`` confirmations: the tip counts as one."""
        return self._int("/blocks/tip/height") - (self.confirmations - 1)

    def block_refs(self, numbers: Sequence[int]) -> list[BlockRef]:
        return [BlockRef(n, self._hash(n, missing_ok=True), "") for n in numbers]

    def fetch_range(self, start: int, end: int) -> BlockBatch:
        batch = BlockBatch(start, end)
        for height in range(start, end + 1):
            header = self.client.json("GET", f"/block/{self._hash(height)}")
            ref = mappers.map_block_ref(header)
            if ref.number != height:
                raise MalformedResponse(f"block at height {height} says height {ref.number}")
            batch.blocks.append(ref)
            count = int(header.get("tx_count", 0))
            when = int(header["timestamp"])
            for page in range(0, count, TXS_PER_PAGE):
                txs = self.client.json("GET", f"/block/{ref.hash}/txs/{page}")
                if not isinstance(txs, list):
                    raise MalformedResponse(f"block {height} txs page {page}: not a list")
                for tx in txs:
                    batch.transfers.extend(mappers.map_transaction(tx, height, when))
        return batch

    def activity(self, address: str, since: int, until: int, limit: int) -> Activity:
        """Confirmed history newest first, back to block ``since``.

        A budget cut leaves the older part unread: ``next_since`` stays at ``since`` and the next crawl reads
        the history again from the newest end (an address that busy is an exchange, not a crawl target).
        """
        transfers: list[Transfer] = []
        path = f"/address/{address}/txs/chain"
        while True:
            txs: Any = self.client.json("GET", path)
            if not isinstance(txs, list):
                raise MalformedResponse(f"GET {path}: not a list")
            reached_since = False
            for tx in txs:
                height = int((tx.get("status") or {}).get("block_height", -1))
                if height > until or height < 0:
                    continue
                if height < since:
                    reached_since = True
                    break
                transfers.extend(mappers.map_transaction(tx))
            if reached_since or len(txs) < TXS_PER_PAGE:
                return Activity(transfers, until + 1, True)
            if len(transfers) >= limit:
                return Activity(transfers, since, False)
            path = f"/address/{address}/txs/chain/{txs[-1]['txid']}"
