"""``registry sync`` and ``registry crawl``, with progress bars (blocks/s, transfers/s, ETA)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from registry.db.engine import get_engine
from registry.errors import RegistryError
from registry.sync import blocks, runs
from registry.sync import crawl as crawling
from registry.sync.adapters import make_adapter
from registry.sync.settings import SyncSettings

console = Console(stderr=True, soft_wrap=True)  # report lines stay whole for grep and logs


class _Bar:
    """One rich task per network; the rate columns are computed here because rich's speed column assumes bytes."""

    def __init__(self, progress: Progress, unit: str) -> None:
        self.progress = progress
        self.unit = unit
        self.tasks: dict[str, tuple[TaskID, float]] = {}

    def __call__(self, p: runs.Progress) -> None:
        if p.network not in self.tasks:
            self.tasks[p.network] = (
                self.progress.add_task(p.network, total=p.total or None, rates=""),
                time.perf_counter(),
            )
        task, began = self.tasks[p.network]
        dt = max(time.perf_counter() - began, 1e-9)
        rates = f"{p.done / dt:,.0f} {self.unit}/s  {p.transfers / dt:,.0f} transfers/s"
        self.progress.update(task, completed=p.done, total=p.total or None, rates=rates)


@contextmanager
def _bar(unit: str) -> Iterator[_Bar]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[rates]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield _Bar(progress, unit)


def _print(report: runs.SyncReport) -> None:
    what = f"{report.addresses} addresses" if report.kind == "crawl" else f"{report.blocks} blocks"
    line = (
        f"{report.kind} {report.network}: {report.status}, {what}, {report.transfers_seen} transfers seen, "
        f"{report.inserted} new, {report.rolled_back} rolled back, {report.seconds:.1f}s"
    )
    if report.times_filled:
        line += f", {report.times_filled} stored transfers dated"
    if report.reason:
        line += f" — {report.reason}"
    console.print(line, markup=False, highlight=False)


def _settings() -> SyncSettings:
    """The settings, or a clear message naming the bad variable instead of a traceback."""
    try:
        return SyncSettings()
    except ValidationError as e:
        problems = "; ".join(f"REGISTRY_{'_'.join(map(str, err['loc'])).upper()}: {err['msg']}" for err in e.errors())
        console.print(f"invalid settings: {problems}", markup=False, highlight=False)
        raise typer.Exit(2) from None


def sync(
    network: list[str] = typer.Option(
        [], "--network", "-n", help="network(s) to sync (default: every network with a node configured)"
    ),
    first: int | None = typer.Option(None, "--from", help="first block of an explicit range (a backfill)"),
    last: int | None = typer.Option(None, "--to", help="last block (default: the safe head)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Sync block ranges of chains into the transfer store, resuming from each network's cursor."""
    s = _settings()
    networks = network or s.networks()
    if not networks:
        raise typer.BadParameter("no network configured: set e.g. REGISTRY_ETH_RPC_URL", param_hint="--network")
    if first is not None and last is not None and last < first:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    try:
        adapters = [make_adapter(n, s) for n in networks]
    except RegistryError as e:
        raise typer.BadParameter(e.message, param_hint="--network") from e
    engine = get_engine()
    failed = False
    with _bar("blocks") as bar:
        for a in adapters:
            report = blocks.sync_network(
                engine,
                a,
                first_block=first,
                last_block=last,
                start_block=s.sync_start_blocks.get(a.network, 0),
                batch_blocks=s.sync_batch_blocks,
                reorg_window=s.sync_reorg_window,
                on_batch=None if quiet else bar,
            )
            _print(report)
            failed |= not report.ok
    if failed:
        raise typer.Exit(1)


def crawl(
    network: list[str] = typer.Option(
        [], "--network", "-n", help="network(s) to crawl (default: every network with a node configured)"
    ),
    hops: int | None = typer.Option(None, min=0, max=6, help="hops from the seeds (REGISTRY_CRAWL_HOPS)"),
    max_addresses: int | None = typer.Option(
        None, min=1, help="address budget of this run (REGISTRY_CRAWL_MAX_ADDRESSES)"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Fetch the history of listed and screened addresses and their counterparties, within budgets."""
    s = _settings()
    networks = network or s.networks()
    if not networks:
        raise typer.BadParameter("no network configured: set e.g. REGISTRY_ETH_RPC_URL", param_hint="--network")
    try:
        adapters = [make_adapter(n, s) for n in networks]
    except RegistryError as e:
        raise typer.BadParameter(e.message, param_hint="--network") from e
    with _bar("addresses") as bar:
        reports = crawling.crawl(
            get_engine(),
            adapters,
            hops=s.crawl_hops if hops is None else hops,
            max_addresses=max_addresses or s.crawl_max_addresses,
            max_transfers_per_address=s.crawl_max_transfers_per_address,
            on_address=None if quiet else bar,
        )
    for r in reports:
        _print(r)
    if any(not r.ok for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("crawl")(crawl)
