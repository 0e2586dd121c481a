"""A populated registry per backend, built once for the package: the scenario takes a few seconds, and every test
here only reads it (or adds a draft no other test looks at)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from registry.app import create_app
from registry.db.engine import dispose_engines, make_engine
from registry.reports.periods import Period, containing, date_range
from registry.settings import Settings
from tests.reports.scenario import Scenario, build
from tests.support.databases import pg_admin_url
from tests.support.keys import Keys
from tests.support.paths import PEPPER

SIGNING_SEED = "6a" * 32


def period_now() -> Period:
    """The half-year the scenario happens in; a range over the turn of the half-year when the tests run within an
    hour of it (the scenario's facts would straddle two half-years)."""
    now = datetime.now(UTC)
    p = containing(now.date())
    if p.end_at - now < timedelta(hours=1):
        return date_range(p.start, containing((p.end_at + timedelta(days=1)).date()).end)
    return p


@dataclass
class Populated:
    scenario: Scenario
    db_url: str
    settings: Settings
    period: Period
    run: Callable[..., Any]  # the `registry` command, in-process


@pytest.fixture(scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def populated(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    pg_template: str | None,
) -> Iterator[Populated]:
    import typer
    from typer.testing import CliRunner

    from blocklist.settings import get_blocklist_settings
    from registry.reports import cli
    from registry.reports.settings import get_report_settings
    from registry.settings import get_settings

    tmp = tmp_path_factory.mktemp("reports")
    admin_engine = None
    name = ""
    if request.param == "sqlite":
        path = tmp / "registry.sqlite3"
        shutil.copy(sqlite_template, path)
        db_url = f"sqlite:///{path}"
    else:
        admin = pg_admin_url()
        if admin is None or pg_template is None:
            pytest.skip("REGISTRY_TEST_POSTGRES_URL not set")
        name = f"rr_rep_{uuid.uuid4().hex[:10]}"
        admin_engine = sa_create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin_engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
        db_url = make_url(admin).set(database=name).render_as_string(hide_password=False)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REGISTRY_DATABASE_URL", db_url)
        mp.setenv("REGISTRY_KEY_PEPPER", PEPPER)
        mp.setenv("REGISTRY_SIGNING_KEY", SIGNING_SEED)
        mp.setenv("REGISTRY_VAR_DIR", str(tmp / "var"))
        for cached in (get_settings, get_blocklist_settings, get_report_settings):
            cached.cache_clear()
        settings = Settings(
            database_url=db_url, key_pepper=PEPPER, snapshot_poll_seconds=0.1, screening_log_flush_seconds=0.1
        )
        engine = make_engine(db_url)
        period = period_now()
        previous_day = datetime.combine(period.previous().start + timedelta(days=10), datetime.min.time(), UTC)
        root = typer.Typer()
        cli.register(root)

        def run(*args: str) -> Any:
            result = CliRunner().invoke(root, list(args))
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            return result

        try:
            with TestClient(create_app(settings, engine)) as client:
                scenario = build(client, engine, Keys(engine), previous_day)
                yield Populated(scenario, db_url, settings, period, run)
        finally:
            engine.dispose()
            dispose_engines()
            for cached in (get_settings, get_blocklist_settings, get_report_settings):
                cached.cache_clear()
    if admin_engine is not None:
        with admin_engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
