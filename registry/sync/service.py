"""The full sync (block ranges, checkpointed per network) and the targeted crawl (seeds and their counterparties).

Guarantees of the sync, and how:
- no duplicates: writes are idempotent on ``(network, tx_id, idx)``;
- no gaps, resumable: the cursor moves in the same transaction as the batch it covers, so a crash or a dead node
  leaves it at the first block not yet stored, and the next run starts there;
- no reorged blocks: only blocks behind the confirmation depth are fetched (the adapter's safe head); recent block
  hashes are stored, and a reorg deeper than that depth shows as a mismatch with the node (or a batch whose first
  parent hash is not the stored hash of the block before). Everything from the fork point up is deleted and synced
  again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from chains.addresses import AddressError, chain_family, normalize
from chains.types import BlockBatch, ChainAdapter, ChainError, ReorgDetected, Transfer
from registry.db import state
from registry.db.engine import session_scope
from registry.sync import queries

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    network: str
    kind: str = "sync"
    status: str = "ok"
    reason: str | None = None
    first_block: int | None = None
    last_block: int | None = None  # last block stored by this run
    blocks: int = 0
    transfers_seen: int = 0
    inserted: int = 0
    rolled_back: int = 0
    seconds: float = 0.0
    addresses: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Progress:
    """What a progress bar shows after each committed batch (or crawled address)."""

    network: str
    done: int  # blocks (sync) or addresses (crawl)
    total: int
    transfers: int


ProgressFn = Callable[[Progress], None]


def check_reorg(engine: Engine, adapter: ChainAdapter, window: int) -> int:
    """Compare the stored recent hashes with the node; roll back from the fork. Returns transfers removed."""
    network = adapter.network
    with session_scope(engine) as s:
        stored = queries.stored_hashes(s, network, window)
    if not stored:
        return 0
    numbers = sorted(stored)
    node = {r.number: r.hash for r in adapter.block_refs(numbers)}
    mismatched = [n for n in numbers if node.get(n) != stored[n]]
    if not mismatched:
        return 0
    lowest_bad = mismatched[0]
    good_below = [n for n in numbers if n < lowest_bad]
    # Stored hashes may be sparse: the fork lies somewhere after the highest block that still matches.
    fork = good_below[-1] + 1 if good_below else numbers[0]
    with session_scope(engine) as s:
        removed = queries.roll_back(s, network, fork)
        state.bump(s, state.TRANSFERS)
    log.warning("%s: reorg detected at or below block %d; rolled back %d transfers", network, lowest_bad, removed)
    return removed


def _verify_links(batch: BlockBatch) -> None:
    """Consecutive blocks the adapter saw must chain by parent hash: a node that switched forks mid-fetch fails."""
    refs = sorted(batch.blocks, key=lambda r: r.number)
    for a, b in zip(refs, refs[1:], strict=False):
        if b.number == a.number + 1 and b.parent_hash != a.hash:
            raise ReorgDetected(f"block {b.number} does not follow block {a.number}", b.number)


def sync_network(
    engine: Engine,
    adapter: ChainAdapter,
    *,
    first_block: int | None = None,
    last_block: int | None = None,
    start_block: int = 0,
    batch_blocks: int = 500,
    reorg_window: int = 64,
    max_blocks: int = 0,
    on_batch: ProgressFn | None = None,
) -> SyncReport:
    """Sync ``adapter.network`` from its cursor (or ``start_block`` the first time) to the safe head.

    With ``first_block`` it is a backfill of an explicit range: same idempotent writes, but the cursor and the
    stored hashes are left alone. Chain failures end the run with ``status="failed"`` and the reason recorded.
    """
    network = adapter.network
    report = SyncReport(network)
    began = time.perf_counter()
    explicit = first_block is not None
    with session_scope(engine) as s:
        run_id = queries.start_run(s, network, "sync", first_block)
    # One batch is fetched while the one before it is written: the node's work and the database's overlap.
    pool = ThreadPoolExecutor(1, thread_name_prefix=f"sync-{network}")
    ahead: tuple[int, int, Future[BlockBatch]] | None = None
    try:
        safe = adapter.safe_head()
        if not explicit:
            report.rolled_back += check_reorg(engine, adapter, reorg_window)
        nxt, stop = _plan(engine, network, first_block, last_block, start_block, safe, max_blocks)
        report.first_block = nxt
        total = max(0, stop - nxt + 1)
        reorgs = 0
        while nxt <= stop:
            end = min(stop, nxt + batch_blocks - 1)
            if ahead is None or ahead[:2] != (nxt, end):
                ahead = (nxt, end, pool.submit(adapter.fetch_range, nxt, end))
            future, ahead = ahead[2], None
            try:
                batch = future.result()
                _verify_links(batch)
                if not explicit:
                    _check_parent(engine, network, nxt, batch)
            except ReorgDetected as e:
                reorgs += 1
                if explicit or reorgs > 3:
                    raise
                log.warning("%s: %s", network, e.reason)
                report.rolled_back += check_reorg(engine, adapter, reorg_window)
                nxt, stop = _plan(engine, network, None, last_block, start_block, safe, max_blocks)
                continue
            if end < stop:
                following = min(stop, end + batch_blocks)
                ahead = (end + 1, following, pool.submit(adapter.fetch_range, end + 1, following))
            with session_scope(engine) as s:
                inserted = queries.insert_transfers(s, batch.transfers)
                if not explicit:
                    keep_from = max(0, min(end, safe) - reorg_window + 1)
                    recent = [(r.number, r.hash) for r in batch.blocks if r.number >= keep_from and r.hash]
                    queries.save_hashes(s, network, recent, keep_from)
                    queries.set_cursor(s, network, end + 1)
                if inserted:
                    state.bump(s, state.TRANSFERS)
            report.inserted += inserted
            report.transfers_seen += len(batch.transfers)
            report.blocks += end - nxt + 1
            report.last_block = end
            if on_batch is not None:
                on_batch(Progress(network, report.blocks, total, report.transfers_seen))
            nxt = end + 1
    except ChainError as e:
        report.status, report.reason = "failed", e.reason
        log.warning("%s: sync failed: %s", network, e.reason)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    report.seconds = time.perf_counter() - began
    with session_scope(engine) as s:
        queries.finish_run(
            s,
            run_id,
            status=report.status,
            reason=report.reason,
            last_block=report.last_block,
            transfers=report.inserted,
            rolled_back=report.rolled_back,
        )
    return report


def _plan(
    engine: Engine,
    network: str,
    first_block: int | None,
    last_block: int | None,
    start_block: int,
    safe: int,
    max_blocks: int,
) -> tuple[int, int]:
    if first_block is not None:
        stop = safe if last_block is None else min(last_block, safe)
        return first_block, stop
    with session_scope(engine) as s:
        cur = queries.get_cursor(s, network)
    nxt = start_block if cur is None else cur
    stop = safe if last_block is None else min(last_block, safe)
    if max_blocks:
        stop = min(stop, nxt + max_blocks - 1)
    return nxt, stop


def _check_parent(engine: Engine, network: str, start: int, batch: BlockBatch) -> None:
    first = next((r for r in batch.blocks if r.number == start), None)
    if first is None or start == 0:
        return
    with session_scope(engine) as s:
        prev = queries.stored_hash(s, network, start - 1)
    if prev is not None and first.parent_hash != prev:
        raise ReorgDetected(f"parent of block {start} is not the stored block {start - 1}", start)


@dataclass
class _Pending:
    transfers: list[Transfer] = field(default_factory=list)
    frontier: list[tuple[str, str, int]] = field(default_factory=list)
    done: list[tuple[str, int]] = field(default_factory=list)


def seed_networks(chain: str, networks: Sequence[str]) -> list[str]:
    """Networks a listed or screened address is crawled on: an EVM address (one address space) on every
    configured EVM network, another chain's address on that chain only."""
    if chain_family(chain) == "evm":
        return [n for n in networks if chain_family(n) == "evm"]
    return [chain] if chain in networks else []


def crawl(
    engine: Engine,
    adapters: Sequence[ChainAdapter],
    *,
    hops: int = 2,
    max_addresses: int = 1000,
    max_transfers_per_address: int = 2000,
    flush_every: int = 50,
    on_address: ProgressFn | None = None,
) -> list[SyncReport]:
    """Read the history of seed addresses and of their counterparties up to ``hops`` away, within budgets.

    An address at distance ``h < hops`` is fetched; its counterparties join the frontier at ``h + 1``. Each
    address remembers how far its history was read, so the next run fetches only what is new (or what a budget
    cut off). Writes go in batches of ``flush_every`` addresses: one statement for the transfers, one for the
    frontier, one for the cursors.
    """
    networks = [a.network for a in adapters]
    with session_scope(engine) as s:
        seeds: list[tuple[str, str, int]] = []
        for chain, address in queries.crawl_seeds(s):
            seeds.extend((net, address, 0) for net in seed_networks(chain, networks))
        queries.upsert_frontier(s, seeds)
    reports = []
    budget = max_addresses
    for adapter in adapters:
        report = _crawl_network(engine, adapter, hops, budget, max_transfers_per_address, flush_every, on_address)
        budget -= report.addresses
        reports.append(report)
        if budget <= 0:
            break
    return reports


def _crawl_network(
    engine: Engine,
    adapter: ChainAdapter,
    hops: int,
    budget: int,
    per_address: int,
    flush_every: int,
    on_address: ProgressFn | None,
) -> SyncReport:
    network = adapter.network
    report = SyncReport(network, kind="crawl")
    began = time.perf_counter()
    with session_scope(engine) as s:
        run_id = queries.start_run(s, network, "crawl", None)
    pending = _Pending()

    def flush() -> None:
        with session_scope(engine) as s:
            inserted = queries.insert_transfers(s, pending.transfers)
            queries.upsert_frontier(s, pending.frontier)
            queries.mark_crawled(s, network, pending.done)
            if inserted:
                state.bump(s, state.TRANSFERS)
        report.inserted += inserted
        pending.transfers.clear()
        pending.frontier.clear()
        pending.done.clear()

    try:
        until = adapter.safe_head()
        report.last_block = until
        for level in range(hops):
            if report.addresses >= budget:
                break
            with session_scope(engine) as s:
                todo = queries.frontier(s, network, level, until, budget - report.addresses)
            for address, h, since in todo:
                act = adapter.activity(address, since, until, per_address)
                pending.transfers.extend(act.transfers)
                report.transfers_seen += len(act.transfers)
                if h + 1 < hops:  # addresses at the last hop are stored as counterparties, not fetched
                    for t in act.transfers:
                        if t.from_address == address:
                            other = t.to_address
                        elif t.to_address == address:
                            other = t.from_address
                        else:
                            continue  # a co-spender's pair in a Bitcoin transaction: not this address's flow
                        if other != address and _crawlable(network, other):
                            pending.frontier.append((network, other, h + 1))
                pending.done.append((address, act.next_since))
                report.addresses += 1
                if on_address is not None:
                    on_address(Progress(network, report.addresses, budget, report.transfers_seen))
                if len(pending.done) >= flush_every:
                    flush()
            flush()  # the next level reads the frontier this one found
    except ChainError as e:
        flush()  # what was fetched before the failure is complete per address: keep it
        report.status, report.reason = "failed", e.reason
        log.warning("%s: crawl failed: %s", network, e.reason)
    report.seconds = time.perf_counter() - began
    with session_scope(engine) as s:
        queries.finish_run(
            s,
            run_id,
            status=report.status,
            reason=report.reason,
            last_block=report.last_block,
            transfers=report.inserted,
            rolled_back=0,
        )
    return report


_BURN = {"0x0000000000000000000000000000000000000000"}


def _crawlable(network: str, address: str) -> bool:
    """Counterparties worth expanding: valid addresses of the chain, not the zero address (mints and burns)."""
    if address in _BURN:
        return False
    try:
        normalize(address, network)
    except AddressError:
        return False
    return True
