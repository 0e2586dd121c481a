"""Imports every table module so that ``SQLModel.metadata`` is complete (Alembic and tests rely on it).

A feature that adds tables adds its module here (and a migration).
"""

from __future__ import annotations

import importlib

from sqlmodel import SQLModel

TABLE_MODULES = [
    "registry.db.state",
    "registry.auth.tables",
    "registry.audit.tables",
    "registry.entities.tables",
    "registry.cases.tables",
    "registry.decisions.tables",
    "registry.screening.tables",
    "registry.transfers.tables",
    "registry.db.lease",
    "registry.ops.tables",
    "registry.sync.tables",
    "registry.scoring.tables",
    "blocklist.tables",
    "registry.monitoring.tables",
    "registry.reports.tables",
    "registry.console.tables",
    "registry.typologies.tables",
]


def load_all() -> type[SQLModel]:
    for name in TABLE_MODULES:
        importlib.import_module(name)
    return SQLModel
