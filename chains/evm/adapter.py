"""EVM networks over JSON-RPC through web3.py's HTTP provider.

The adapter talks to the provider's raw ``make_request`` / ``make_batch_request`` and maps the JSON itself: web3's
result formatters (AttributeDict, HexBytes per field) cost more than the whole mapping, and the mapping must stay a
pure, testable function anyway. Retries are ours (``chains.retry``), so web3's own retry is switched off.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import orjson
import requests
from web3 import HTTPProvider

from chains.evm.mappers import (
    TRANSFER_TOPIC,
    address_topic,
    map_block_ref,
    map_erc20_logs,
    map_native_transfers,
    needs_receipts,
)
from chains.retry import Retryable, RetryPolicy, call_with_retry
from chains.types import (
    Activity,
    BlockBatch,
    BlockRef,
    MalformedResponse,
    RangeTooLarge,
    ReorgDetected,
    Transfer,
    TransportError,
)

_RANGE_WORDS = (
    "range",
    "too many",
    "limit exceeded",
    "exceed",
    "more than",
    "too large",
    "max results",
    "response size",
)
_RATE_WORDS = ("rate limit", "too many requests", "capacity", "try again")


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a window of logs is decoded and mapped.

    A window allocates tens of thousands of dicts and tuples, none of them in a reference cycle; the collector
    still walks them again and again as they age through its generations, which measured as a third of the
    ingest time. Only the thread that found the collector on switches it back on, so overlapping windows on
    other threads cannot leave it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Provider(HTTPProvider):
    """web3's HTTP provider with orjson bodies: decoding tens of MB of logs is the hot path of a sync."""

    def encode_rpc_request(self, method: Any, params: Any) -> bytes:
        # Distinct ids: batch answers are matched back to their calls by id.
        return orjson.dumps(
            {"jsonrpc": "2.0", "method": method, "params": params or [], "id": next(self.request_counter)}
        )

    @staticmethod
    def decode_rpc_response(raw_response: bytes) -> Any:
        return orjson.loads(raw_response)


class EvmAdapter:
    def __init__(
        self,
        network: str,
        url: str,
        *,
        tokens: Sequence[str] = (),
        confirmations: int = 12,
        native: bool = True,
        log_window: int = 2000,
        batch_size: int = 100,
        parallel: int = 3,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.network = network
        self.tokens = [t.lower() for t in tokens]
        self.confirmations = confirmations
        self.native = native
        self.log_window = max(1, log_window)
        self.batch_size = max(1, batch_size)
        self.parallel = max(1, parallel)
        self.min_parallel_window = 100
        self._executor: ThreadPoolExecutor | None = None
        self.retry = retry or RetryPolicy()
        self.provider = _Provider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)

    def _transport(self, fn: Callable[[], Any], what: str) -> Any:
        def once() -> Any:
            try:
                return fn()
            except requests.HTTPError as e:
                status = e.response.status_code if e.response is not None else 0
                if status == 429 or status >= 500:
                    raise Retryable(f"{what}: HTTP {status}") from e
                if status == 413:
                    raise RangeTooLarge(f"{what}: HTTP 413") from e
                raise TransportError(f"{what}: HTTP {status}") from e
            except (requests.ConnectionError, requests.Timeout) as e:
                raise Retryable(f"{what}: {type(e).__name__}") from e
            except requests.RequestException as e:  # a bad URL, too many redirects: trying again cannot help
                raise TransportError(f"{what}: {type(e).__name__}") from e
            except orjson.JSONDecodeError as e:
                raise MalformedResponse(f"{what}: body is not JSON") from e

        return call_with_retry(once, self.retry)

    @staticmethod
    def _result(resp: Any, what: str) -> Any:
        if not isinstance(resp, dict):
            raise MalformedResponse(f"{what}: response is not an object")
        err = resp.get("error")
        if err is not None:
            msg = str(err.get("message", "")) if isinstance(err, dict) else str(err)
            low = msg.lower()
            if any(w in low for w in _RATE_WORDS) or (isinstance(err, dict) and err.get("code") == 429):
                raise Retryable(f"{what}: {msg[:200]}")
            if any(w in low for w in _RANGE_WORDS):
                raise RangeTooLarge(f"{what}: {msg[:200]}")
            raise TransportError(f"{what}: node error {msg[:200]}")
        if "result" not in resp:
            raise MalformedResponse(f"{what}: no result")
        return resp["result"]

    def call(self, method: str, params: list[Any]) -> Any:
        def once() -> Any:
            return self._result(self.provider.make_request(method, params), method)

        return self._transport(once, method)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """One HTTP request per ``batch_size`` calls; results in call order."""
        out: list[Any] = []
        for i in range(0, len(calls), self.batch_size):
            chunk = calls[i : i + self.batch_size]
            what = f"batch {chunk[0][0]} x{len(chunk)}"

            def once(chunk: Sequence[tuple[str, list[Any]]] = chunk, what: str = what) -> list[Any]:
                resp = self.provider.make_batch_request(list(chunk))  # type: ignore[arg-type]
                if not isinstance(resp, list):
                    self._result(resp, what)  # raises the node's error
                    raise MalformedResponse(f"{what}: not a batch response")
                if len(resp) != len(chunk):
                    raise MalformedResponse(f"{what}: {len(resp)} answers to {len(chunk)} calls")
                return [self._result(r, what) for r in resp]

            out.extend(self._transport(once, what))
        return out

    def head(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def safe_head(self) -> int:
        return self.head() - self.confirmations

    def block_refs(self, numbers: Sequence[int]) -> list[BlockRef]:
        raw = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return [map_block_ref(b) if b is not None else BlockRef(n, "", "") for n, b in zip(numbers, raw, strict=True)]

    def get_logs(self, start: int, end: int, topics: list[Any], address: list[str] | None) -> list[dict[str, Any]]:
        """``eth_getLogs`` over ``start..end`` in windows; a window the node refuses is halved until it passes."""
        out: list[dict[str, Any]] = []
        lo = start
        while lo <= end:
            hi = min(end, lo + self.log_window - 1)
            flt: dict[str, Any] = {"fromBlock": hex(lo), "toBlock": hex(hi), "topics": topics}
            if address:
                flt["address"] = address
            try:
                logs = self.call("eth_getLogs", [flt])
            except RangeTooLarge:
                if hi == lo:
                    raise
                self.log_window = max(1, (hi - lo + 1) // 2)
                continue
            if not isinstance(logs, list):
                raise MalformedResponse("eth_getLogs: result is not a list")
            out.extend(logs)
            lo = hi + 1
        return out

    def _times(self, logs: list[dict[str, Any]], known: dict[int, int]) -> dict[int, int]:
        """Unix time per block for nodes whose logs carry no ``blockTimestamp`` (older ones), in one batch.

        A node either includes the field in every log or in none: the first log tells which.
        """
        if not logs or "blockTimestamp" in logs[0]:
            return known
        missing = sorted({int(lg["blockNumber"], 16) for lg in logs} - known.keys())
        if missing:
            raw = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in missing])
            for n, b in zip(missing, raw, strict=True):
                if b is None:
                    raise ReorgDetected(f"block {n} vanished during the fetch", n)
                known[n] = int(b["timestamp"], 16)
        return known

    @staticmethod
    def _check_hashes(logs: list[dict[str, Any]], hashes: dict[int, str], every: bool) -> None:
        """Logs must name the block hashes the headers had: a node that switched forks between calls fails.

        With full blocks every log is checked; with only the edge headers, the logs of the edge blocks (logs
        come in block order, so those are at both ends of the list).
        """
        if every:
            candidates: Any = logs
        else:
            head = [lg for lg in logs[:64] if int(lg["blockNumber"], 16) in hashes]
            tail = [lg for lg in logs[-64:] if int(lg["blockNumber"], 16) in hashes]
            candidates = head + tail
        for lg in candidates:
            n = int(lg["blockNumber"], 16)
            h = hashes.get(n)
            if h is not None and lg["blockHash"].lower() != h:
                raise ReorgDetected(f"log of block {n} names another block hash", n)

    def fetch_range(self, start: int, end: int) -> BlockBatch:
        batch = BlockBatch(start, end)
        times: dict[int, int] = {}
        hashes: dict[int, str] = {}
        if self.native:
            blocks = self.batch([("eth_getBlockByNumber", [hex(n), True]) for n in range(start, end + 1)])
            if any(b is None for b in blocks):
                raise ReorgDetected(f"a block of {start}..{end} is missing", start)
            with_value = [b for b in blocks if needs_receipts(b)]
            receipts_raw = self.batch([("eth_getBlockReceipts", [b["number"]]) for b in with_value])
            receipts = {
                b["number"]: {r["transactionHash"].lower(): r for r in rs}
                for b, rs in zip(with_value, receipts_raw, strict=True)
            }
            for b in blocks:
                ref = map_block_ref(b)
                batch.blocks.append(ref)
                hashes[ref.number] = ref.hash
                times[ref.number] = int(b["timestamp"], 16)
                batch.transfers.extend(map_native_transfers(self.network, b, receipts.get(b["number"])))
        else:
            edges = sorted({start, end})
            batch.blocks.extend(self.block_refs(edges))
            hashes = {r.number: r.hash for r in batch.blocks}
        if self.tokens:
            for transfers in self._pool().map(
                lambda w: self._token_window(w[0], w[1], hashes, times), self._windows(start, end)
            ):
                batch.transfers.extend(transfers)
        return batch

    def _windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Split a range so that several ``eth_getLogs`` calls are in flight while earlier ones are mapped."""
        span = end - start + 1
        size = max(1, min(self.log_window, max(self.min_parallel_window, -(-span // (2 * self.parallel)))))
        return [(lo, min(end, lo + size - 1)) for lo in range(start, end + 1, size)]

    def _token_window(self, lo: int, hi: int, hashes: dict[int, str], times: dict[int, int]) -> list[Transfer]:
        with gc_paused():
            logs = self.get_logs(lo, hi, [TRANSFER_TOPIC], self.tokens)
            self._check_hashes(logs, hashes, every=self.native)
            return map_erc20_logs(self.network, logs, self._times(logs, dict(times)))

    def _pool(self) -> ThreadPoolExecutor:
        """Threads overlap the node's work and the wait on the socket with the parsing of earlier windows."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.parallel, thread_name_prefix=f"evm-{self.network}")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def activity(self, address: str, since: int, until: int, limit: int) -> Activity:
        """Token transfers from or to ``address`` (logs filtered by topic). Native value has no address index
        in JSON-RPC; it reaches the store through the full sync only."""
        addr = address_topic(address)
        tokens = self.tokens or None
        logs = self.get_logs(since, until, [TRANSFER_TOPIC, addr], tokens)
        logs += self.get_logs(since, until, [TRANSFER_TOPIC, None, addr], tokens)
        transfers = map_erc20_logs(self.network, logs, self._times(logs, {}))
        unique = sorted({t.key: t for t in transfers}.values(), key=lambda t: (t.block, t.idx))
        return cut_at_block(unique, limit, until)


def cut_at_block(transfers: list[Transfer], limit: int, until: int) -> Activity:
    """Keep at most ``limit`` transfers, cutting only between blocks so the next crawl resumes cleanly."""
    if len(transfers) <= limit:
        return Activity(transfers, until + 1, True)
    last = transfers[limit - 1].block if limit > 0 else transfers[0].block
    keep = [t for t in transfers if t.block <= last]
    return Activity(keep, last + 1, False)
