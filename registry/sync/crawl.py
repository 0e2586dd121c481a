"""The targeted crawl: the history of seed addresses (listed or screened) and of their counterparties, within
budgets, so that exposure is known around the addresses that matter without syncing every block of a chain.

The full block sync is ``blocks.py``; both record their runs through ``runs.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from chains.addresses import AddressError, chain_family, normalize
from chains.types import ChainAdapter, ChainError, Transfer
from registry.db import state
from registry.db.engine import session_scope
from registry.sync import queries
from registry.sync.runs import Progress, ProgressFn, SyncReport, recorded_run
from registry.transfers import store


@dataclass
class _Pending:
    """What the crawl of one network fetched and has not written yet."""

    network: str
    transfers: list[Transfer] = field(default_factory=list)
    frontier: list[tuple[str, str, int]] = field(default_factory=list)
    done: list[tuple[str, int]] = field(default_factory=list)

    def flush(self, engine: Engine) -> int:
        """Write it in one transaction (one statement each for the transfers, the frontier and the cursors);
        returns how many transfers were new."""
        with session_scope(engine) as s:
            inserted, filled = store.write_transfers(s, self.transfers)
            queries.upsert_frontier(s, self.frontier)
            queries.mark_crawled(s, self.network, self.done)
            if inserted or filled:
                state.bump(s, state.TRANSFERS)
        self.transfers.clear()
        self.frontier.clear()
        self.done.clear()
        return inserted


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
    pending = _Pending(network)
    with recorded_run(engine, network, "crawl") as report:
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
                        pending.frontier.extend(
                            (network, other, h + 1) for other in _counterparties(network, address, act.transfers)
                        )
                    pending.done.append((address, act.next_since))
                    report.addresses += 1
                    if on_address is not None:
                        on_address(Progress(network, report.addresses, budget, report.transfers_seen))
                    if len(pending.done) >= flush_every:
                        report.inserted += pending.flush(engine)
                report.inserted += pending.flush(engine)  # the next level reads the frontier this one found
        except ChainError:
            report.inserted += pending.flush(engine)  # what was fetched before the failure is complete per address
            raise  # recorded_run ends the run as failed, with the reason
    return report


def _counterparties(network: str, address: str, transfers: Sequence[Transfer]) -> Iterator[str]:
    """The other side of each of ``address``'s transfers, where it is worth expanding."""
    for t in transfers:
        if t.from_address == address:
            other = t.to_address
        elif t.to_address == address:
            other = t.from_address
        else:
            continue  # a co-spender's pair in a Bitcoin transaction: not this address's flow
        if other != address and _crawlable(network, other):
            yield other


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
