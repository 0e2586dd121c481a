"""The one list of features: it builds the HTTP app (``registry.app``), the ``registry`` command (``registry.cli``)
and the scheduler's jobs. Adding a feature = writing its package with a ``feature.py`` and adding it here.

The order is significant. Routers are included in it (the OpenAPI schema lists paths in it); ``install`` hooks run
in it (the blocklist's 304 short cut is middleware added there); lifespans start in it and stop in reverse (the key
cache is filled before the screening snapshot loads; the feed cache starts after the scheduler, stops before it);
commands, sub-command groups and jobs are listed in it.
"""

from __future__ import annotations

from blocklist import feature as blocklist
from registry.audit import feature as audit
from registry.auth import feature as auth
from registry.cases import feature as cases
from registry.check import feature as check
from registry.console import feature as console
from registry.db import feature as db
from registry.decisions import feature as decisions
from registry.entities import feature as entities
from registry.evidence import feature as evidence
from registry.feature import Feature, job_specs
from registry.imports import feature as imports
from registry.investigations import feature as investigations
from registry.monitoring import feature as monitoring
from registry.ops import feature as ops
from registry.ops.jobs import JobSpec
from registry.reports import feature as reports
from registry.scoring import feature as scoring
from registry.screening import feature as screening
from registry.settings import Settings
from registry.sync import feature as sync
from registry.taxonomy import feature as taxonomy
from registry.transfers import feature as transfers
from registry.typologies import feature as typologies

FEATURES: list[Feature] = [
    db.FEATURE,
    auth.FEATURE,
    taxonomy.FEATURE,
    screening.FEATURE,
    cases.FEATURE,
    decisions.FEATURE,
    entities.FEATURE,
    imports.FEATURE,
    sync.FEATURE,
    transfers.FEATURE,
    scoring.FEATURE,
    typologies.FEATURE,
    investigations.FEATURE,
    evidence.FEATURE,
    monitoring.FEATURE,
    reports.FEATURE,
    audit.FEATURE,
    ops.FEATURE,
    blocklist.FEATURE,
    console.FEATURE,
    check.FEATURE,
]


def load_specs(settings: Settings) -> list[JobSpec]:
    """Every feature's scheduled jobs for ``settings``: what ``registry worker`` runs and ``/v1/jobs`` lists."""
    return job_specs(FEATURES, settings)
