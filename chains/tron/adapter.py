"""TronGrid: solidified blocks for the full sync, the v1 account API (fingerprint pages) for the crawl."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from chains.rest import RestClient
from chains.retry import RetryPolicy
from chains.tron import mappers
from chains.types import Activity, BlockBatch, BlockRef, MalformedResponse, Transfer

BLOCKS_PER_CALL = 100  # getblockbylimitnext serves at most 100 blocks per call
PAGE = 200  # the v1 API's largest page


class TronAdapter:
    network = "tron"

    def __init__(
        self,
        url: str,
        *,
        api_key: str = "",
        tokens: Sequence[str] = (mappers.hex_to_base58("41a614f803b6fd780986a42c78ec9c7f77e6ded13c"),),
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        headers = {"TRON-PRO-API-KEY": api_key} if api_key else {}
        self.client = RestClient(url, headers=headers, timeout=timeout, retry=retry)
        self.tokens = list(tokens)
        self.tokens_hex = frozenset(mappers.base58_to_hex(t).lower() for t in tokens)
        self._head_ms: int | None = None

    def safe_head(self) -> int:
        raw = self.client.json("POST", "/walletsolidity/getnowblock", body={})
        ref = mappers.map_block_ref(raw)
        self._head_ms = int(raw["block_header"]["raw_data"]["timestamp"])
        return ref.number

    def _blocks(self, start: int, end: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for lo in range(start, end + 1, BLOCKS_PER_CALL):
            hi = min(end, lo + BLOCKS_PER_CALL - 1)
            raw = self.client.json(
                "POST", "/walletsolidity/getblockbylimitnext", body={"startNum": lo, "endNum": hi + 1}
            )
            blocks = raw.get("block") if isinstance(raw, dict) else None
            if not isinstance(blocks, list) or len(blocks) != hi - lo + 1:
                got = len(blocks) if isinstance(blocks, list) else "no"
                raise MalformedResponse(f"getblockbylimitnext {lo}..{hi}: {got} blocks")
            out.extend(blocks)
        return out

    def fetch_range(self, start: int, end: int) -> BlockBatch:
        batch = BlockBatch(start, end)
        for raw in self._blocks(start, end):
            ref, transfers = mappers.map_block(raw, self.tokens_hex)
            batch.blocks.append(ref)
            batch.transfers.extend(transfers)
        return batch

    def block_refs(self, numbers: Sequence[int]) -> list[BlockRef]:
        out = []
        for n in numbers:
            raw = self.client.json("POST", "/walletsolidity/getblockbynum", body={"num": n})
            out.append(mappers.map_block_ref(raw) if raw else BlockRef(n, "", ""))
        return out

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Follow ``meta.fingerprint`` until the API stops giving one."""
        params = dict(params)
        while True:
            raw = self.client.json("GET", path, params=params)
            if not isinstance(raw, dict) or raw.get("success") is False or not isinstance(raw.get("data"), list):
                raise MalformedResponse(f"GET {path}: not a v1 list body")
            yield raw["data"]
            fingerprint = (raw.get("meta") or {}).get("fingerprint")
            if not fingerprint or not raw["data"]:
                return
            params["fingerprint"] = fingerprint

    def _history(self, path: str, params: dict[str, Any], limit: int, trc20: bool) -> tuple[list[Transfer], int | None]:
        """One ascending history list; returns its transfers and, when ``limit`` cut it, the time it reached."""
        out: list[Transfer] = []
        seen: dict[tuple[str, str, str, str, int], int] = {}  # identical TRC-20 transfers, across pages
        for page in self._pages(path, params):
            out.extend(
                mappers.map_trc20_history(page, seen)
                if trc20
                else mappers.map_account_transactions(page, self.tokens_hex)
            )
            if len(out) >= limit:
                return out, int(out[-1].time.timestamp() * 1000)
        return out, None

    def activity(self, address: str, since: int, until: int, limit: int) -> Activity:
        """History in milliseconds from ``since`` up to the solidified head's time (``until`` is its block).

        When a budget cuts a list short, the next crawl resumes at the earliest time any list reached; the
        transfers at or after that time are fetched again then (writes are idempotent).
        """
        if self._head_ms is None:
            self.safe_head()
        head_ms = self._head_ms or 0
        base = {
            "only_confirmed": "true",
            "limit": PAGE,
            "order_by": "block_timestamp,asc",
            "min_timestamp": since,
            "max_timestamp": head_ms,
        }
        lists = [(f"/v1/accounts/{address}/transactions", base, False)]
        lists += [
            (f"/v1/accounts/{address}/transactions/trc20", {**base, "contract_address": t}, True) for t in self.tokens
        ]
        transfers: list[Transfer] = []
        reached: list[int] = []
        for path, params, trc20 in lists:
            got, cut = self._history(path, params, limit, trc20)
            transfers.extend(got)
            if cut is not None:
                reached.append(cut)
        unique = sorted({t.key: t for t in transfers}.values(), key=lambda t: (t.time, t.tx_id, t.idx))
        if not reached:
            return Activity(unique, head_ms + 1, True)
        resume = min(reached)
        return Activity([t for t in unique if t.time.timestamp() * 1000 < resume], resume, False)
