"""A scratch database taken up to a chosen migration, for tests of data migrations (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from registry.db.migrate import alembic_config
from tests.support.databases import pg_admin_url


def migrate(url: str, target: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    engine.dispose()


@contextmanager
def scratch_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database: a file for ``sqlite``, a fresh database for ``postgres`` (skipped without
    ``REGISTRY_TEST_POSTGRES_URL``)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("REGISTRY_TEST_POSTGRES_URL not set")
    name = f"rr_mig_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin_engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
