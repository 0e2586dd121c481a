"""The contract between features and the scheduler.

A feature that has recurring work exposes ``jobs(settings) -> list[JobSpec]`` in its ``jobs`` module (listed in
``JOB_MODULES``); the scheduler (``registry.ops.scheduler``) runs each on its interval, never two runs of the same
job at once (a lease in the database, so two schedulers started by mistake still run it once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobSpec:
    id: str  # stable, e.g. "sync:eth", "blocklist:refresh-register"
    func: Callable[[], object]
    seconds: float  # interval between the end of one run and the start of the next is at least this
    description: str


JOB_MODULES = [
    "registry.sync.jobs",
    "registry.scoring.jobs",
    "blocklist.jobs",
    "registry.imports.jobs",
    "registry.cases.jobs",
]
