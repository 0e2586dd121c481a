"""Scheduled sync per configured network and one crawl; the scheduler's lease keeps each to one run at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable

from registry.db.engine import get_engine
from registry.errors import UpstreamError
from registry.ops.jobs import JobSpec
from registry.settings import Settings
from registry.sync.adapters import make_adapter
from registry.sync.blocks import sync_network
from registry.sync.crawl import crawl
from registry.sync.runs import SyncReport
from registry.sync.settings import SyncSettings

log = logging.getLogger(__name__)


def _sync_job(network: str, s: SyncSettings, url: str) -> Callable[[], object]:
    def run() -> SyncReport:
        report = sync_network(
            get_engine(url),
            make_adapter(network, s),
            start_block=s.sync_start_blocks.get(network, 0),
            batch_blocks=s.sync_batch_blocks,
            reorg_window=s.sync_reorg_window,
            max_blocks=s.sync_max_blocks_per_run,
        )
        if not report.ok:
            # Recorded in sync_run already; raising lets the scheduler show the run as failed, with the report as
            # its summary (registry.ops.jobs). The next run resumes.
            raise UpstreamError(f"sync {network}: {report.reason}", details=report)
        return report

    return run


def _crawl_job(s: SyncSettings, url: str) -> Callable[[], object]:
    def run() -> list[SyncReport]:
        reports = crawl(
            get_engine(url),
            [make_adapter(n, s) for n in s.networks()],
            hops=s.crawl_hops,
            max_addresses=s.crawl_max_addresses,
            max_transfers_per_address=s.crawl_max_transfers_per_address,
        )
        failed = [r for r in reports if not r.ok]
        if failed:
            raise UpstreamError("; ".join(f"crawl {r.network}: {r.reason}" for r in failed), details=reports)
        return reports

    return run


def jobs(settings: Settings, sync_settings: SyncSettings | None = None) -> list[JobSpec]:
    s = sync_settings or SyncSettings()
    url = settings.effective_database_url
    out = [
        JobSpec(
            f"sync:{n}",
            _sync_job(n, s, url),
            s.sync_interval_seconds,
            f"sync {n} blocks to the safe head",
            hint=f"{_url_setting(n)} names the node; empty turns syncing {n} off",
        )
        for n in s.networks()
    ]
    if s.networks():
        out.append(
            JobSpec(
                "crawl",
                _crawl_job(s, url),
                s.crawl_interval_seconds,
                "crawl seeds and counterparties",
                hint="each network's node setting (REGISTRY_<NETWORK>_RPC_URL, REGISTRY_TRONGRID_URL, "
                "REGISTRY_ESPLORA_URL); an empty one takes that network out of the crawl",
            )
        )
    return out


def _url_setting(network: str) -> str:
    special = {"tron": "REGISTRY_TRONGRID_URL", "btc": "REGISTRY_ESPLORA_URL"}
    return special.get(network, f"REGISTRY_{network.upper()}_RPC_URL")
