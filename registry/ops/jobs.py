"""The contract between features and the scheduler.

A feature that has recurring work gives its ``Feature`` a ``jobs(settings) -> list[JobSpec]`` (by convention the
``jobs`` function of its ``jobs`` module); the scheduler (``registry.ops.scheduler``) runs each on its interval,
never two runs of the same job at once (a lease in the database, so two schedulers started by mistake still run
it once).

Outcomes. A job that returns has done its work (``ok``; what it returns is the run's summary). A job whose run did
not do its work for a reason it knows (the register unreachable or its page rejected, a node down, a sanctions file
missing) raises a ``RegistryError``: ``JobFailed`` when nothing more specific fits, ``UpstreamError``,
``InvalidInput``… The run is then recorded as ``failed``, with the error's message and its ``details`` as the
summary. Anything else raised (a bug, the database gone) is recorded as ``error``, with its traceback in the log.
A job never reports failure in a returned value: the scheduler would show it as ``ok`` (issue 10: a rejected
register fetch was shown as ``ok`` in ``/v1/jobs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.errors import RegistryError


@dataclass(frozen=True)
class JobSpec:
    id: str  # stable, e.g. "sync:eth", "blocklist:refresh-register"
    func: Callable[[], object]
    seconds: float  # interval between the end of one run and the start of the next is at least this
    description: str
    hint: str = ""
    """What an operator can do when the job keeps failing: the setting that points it elsewhere or turns it off.
    Added to the failure's log line and recorded error (an agency without internet must not have to guess)."""


class JobFailed(RegistryError):
    """The run did not do its work, for a reason the job knows; ``details`` is the run's summary (recorded)."""

    status = 502
    code = "job_failed"

    def __init__(self, message: str, *, summary: Any = None) -> None:
        super().__init__(message, details=summary)
