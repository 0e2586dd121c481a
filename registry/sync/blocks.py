"""The full sync: block ranges of one network, checkpointed, from its cursor to the safe head.

Guarantees, and how:
- no duplicates: writes are idempotent on ``(network, tx_id, idx)``;
- no gaps, resumable: the cursor moves in the same transaction as the batch it covers, so a crash or a dead node
  leaves it at the first block not yet stored, and the next run starts there;
- no reorged blocks: only blocks behind the confirmation depth are fetched (the adapter's safe head); recent block
  hashes are stored, and a reorg deeper than that depth shows as a mismatch with the node (or a batch whose first
  parent hash is not the stored hash of the block before). Everything from the fork point up is deleted and synced
  again.

The targeted crawl (seeds and their counterparties) is ``crawl.py``; both record their runs through ``runs.py``.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy.engine import Engine

from chains.types import BlockBatch, ChainAdapter, ReorgDetected
from registry.db import state
from registry.db.engine import session_scope
from registry.sync import queries
from registry.sync.runs import Progress, ProgressFn, SyncReport, recorded_run
from registry.transfers import store

log = logging.getLogger(__name__)


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
    explicit = first_block is not None
    with recorded_run(engine, network, "sync", first_block=first_block) as report:
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
                    inserted, filled = store.write_transfers(s, batch.transfers)  # dates rows a file left undated
                    if not explicit:
                        keep_from = max(0, min(end, safe) - reorg_window + 1)
                        recent = [(r.number, r.hash) for r in batch.blocks if r.number >= keep_from and r.hash]
                        queries.save_hashes(s, network, recent, keep_from)
                        queries.set_cursor(s, network, end + 1)
                    if inserted or filled:
                        state.bump(s, state.TRANSFERS)
                report.inserted += inserted
                report.times_filled += filled
                report.transfers_seen += len(batch.transfers)
                report.blocks += end - nxt + 1
                report.last_block = end
                if on_batch is not None:
                    on_batch(Progress(network, report.blocks, total, report.transfers_seen))
                nxt = end + 1
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
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
