"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, a live server over real HTTP.

Every test that takes ``engine`` runs twice, once per backend. PostgreSQL comes from
``REGISTRY_TEST_POSTGRES_URL``; without it the PostgreSQL half is skipped locally, and fails under CI (``CI`` set),
where it must run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.app import create_app
from registry.audit.service import CLI
from registry.auth.service import create_key
from registry.db.engine import dispose_engines, make_engine, session_scope
from registry.db.migrate import upgrade
from registry.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
PEPPER = "test-pepper-0123456789abcdef0123456789abcdef"


def pg_admin_url() -> str | None:
    url = os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REGISTRY_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI")
        return None
    return Settings(database_url=url).database_url


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


class Keys:
    """Creates API keys straight in the database (the CLI's path) and hands out auth headers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, role: str, org: str = "Test Org", holder: str | None = None) -> str:
        holder = holder or f"{role}-{uuid.uuid4().hex[:6]}"
        with session_scope(self.engine) as s:
            secret, _ = create_key(s, role, org, PEPPER.encode(), CLI, holder)
        return secret

    def headers(self, role: str, org: str = "Test Org", holder: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.create(role, org, holder)}"}


@pytest.fixture
def keys(engine: Engine) -> Keys:
    return Keys(engine)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, base_url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.base_url = base_url
        self.proc = proc
        self.log_path = log_path

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers or {}, timeout=30)


def start_server(
    db_url: str, tmp_path: Path, extra_env: dict[str, str] | None = None, scheduler: bool = False
) -> LiveServer:
    """``registry serve`` in a subprocess on a free loopback port: real HTTP, real process boundaries."""
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": db_url,
        "REGISTRY_KEY_PEPPER": PEPPER,
        "REGISTRY_PORT": str(port),
        "REGISTRY_SNAPSHOT_POLL_SECONDS": "0.1",
        "REGISTRY_SCREENING_LOG_FLUSH_SECONDS": "0.1",
        "REGISTRY_VAR_DIR": str(tmp_path / "var"),
        **(extra_env or {}),
    }
    log_path = tmp_path / f"server-{port}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve", "--scheduler" if scheduler else "--no-scheduler"],
        env=env,
        stdout=log,
        stderr=log,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base, proc, log_path)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {log_path.read_text()[-3000:]}")


def stop_server(server: LiveServer) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture
def live_server(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(db_url, tmp_path)
    yield server
    stop_server(server)
