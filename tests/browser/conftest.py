"""Fixtures of the browser tests: one Chromium (Debian's, driven by Playwright: no browser download) for the whole
session, and one live ``registry serve`` for them all on its own SQLite database, with strict translations (a page
with an untranslated text fails). Each test makes its own people, cases and wallets, so they share the server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from registry.db.engine import make_engine
from tests.browser.helpers import Console
from tests.support.servers import start_server, stop_server

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu", "--disable-dev-shm-usage"])
    yield b
    b.close()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    db = tmp / "registry.sqlite3"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    server = start_server(
        url,
        tmp,
        extra_env={
            "REGISTRY_CONSOLE_STRICT_I18N": "1",
            "REGISTRY_REGISTER_URL": "",
            "REGISTRY_SANCTIONS_SOURCES": "[]",
            # every test signs in and asks from 127.0.0.1: the per-client limits are tested in tests/console
            "REGISTRY_CHECK_BURST": "1000",
            "REGISTRY_CONSOLE_SIGNIN_PER_MINUTE": "1000",
        },
    )
    engine = make_engine(url)
    try:
        yield Console(server, engine)
    finally:
        stop_server(server)
        engine.dispose()


@pytest.fixture
def context(browser: Browser, console: Console) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) per test, at a small window size (screenshots stay small)."""
    ctx = browser.new_context(base_url=console.url, viewport={"width": 1200, "height": 800}, locale="ru-RU")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    assert not errors, f"script errors in the page: {errors}"
