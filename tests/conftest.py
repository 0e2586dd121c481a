"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, a live server over real HTTP.

Every test that takes ``engine`` runs twice, once per backend. PostgreSQL comes from
``REGISTRY_TEST_POSTGRES_URL``; without it the PostgreSQL half is skipped locally, and fails under CI (``CI`` set),
where it must run.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.app import create_app
from registry.db.engine import dispose_engines, make_engine
from registry.db.migrate import upgrade
from registry.settings import Settings
from tests.support.databases import pg_admin_url
from tests.support.keys import Keys
from tests.support.paths import PEPPER
from tests.support.servers import LiveServer, start_server, stop_server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str | None]:
    admin = pg_admin_url()
    if admin is None:
        yield None
        return
    name = f"rr_tmpl_{uuid.uuid4().hex[:10]}"
    admin_engine = sa_create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin_engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    yield name
    with admin_engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, pg_template: str | None
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "registry.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    admin = pg_admin_url()
    if admin is None or pg_template is None:
        pytest.skip("REGISTRY_TEST_POSTGRES_URL not set")
    name = f"rr_t_{uuid.uuid4().hex[:12]}"
    admin_engine = sa_create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin_engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    dispose_engines()
    with admin_engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend, no migration run: data-migration tests take it to the revision before
    theirs (``tests.registry.migration_db.migrate``), write old rows, then upgrade."""
    from tests.registry.migration_db import scratch_database

    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Tests that point REGISTRY_* variables elsewhere must not leak a cached Settings into the next test."""
    from registry.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        key_pepper=PEPPER,
        snapshot_poll_seconds=0.1,
        screening_log_flush_seconds=0.1,
    )


@pytest.fixture
def app_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def keys(engine: Engine) -> Keys:
    return Keys(engine)


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, tmp_path)
    yield server
    stop_server(server)
