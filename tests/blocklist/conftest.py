"""Blocklist fixtures: a replay server for AFSA register pages, a seeded database, a signing key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from blocklist.register.seed import ensure_seed

PAGES = Path(__file__).parent / "register_pages"
SIGNING_SEED = "5f" * 32


class RegisterReplay:
    """Serves recorded register pages by path (query included); anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hits: list[str] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                replay.hits.append(self.path)
                status, body = replay.routes.get(self.path, (404, b"<html><title>404</title></html>"))
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def page(self, path: str, name: str, status: int = 200) -> None:
        self.routes[path] = (status, (PAGES / name).read_bytes())

    def standard(self) -> None:
        """The register as recorded: two DASP pages, one FinTech page, two detail pages."""
        self.routes.clear()
        self.page("/dasp/", "dasp_page1.html")
        self.page("/dasp/?page=2", "dasp_page2.html")
        self.page("/fintech/", "fintech_page1.html")
        self.page("/details/230840900123/", "detail_bybit.html")
        self.page("/details/230140000031/", "detail_swiftex.html")


@pytest.fixture
def register_site() -> Iterator[RegisterReplay]:
    replay = RegisterReplay()
    t = threading.Thread(target=replay.server.serve_forever, daemon=True)
    t.start()
    yield replay
    replay.server.shutdown()
    replay.server.server_close()


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    ensure_seed(engine)
    return engine


@pytest.fixture(autouse=True)
def _signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_SIGNING_KEY", SIGNING_SEED)


@pytest.fixture
def signing_public_key() -> Any:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SIGNING_SEED)).public_key()


@pytest.fixture
def run_cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``registry blocklist …`` in-process (typer's runner) against the test database: a subprocess would spend
    seconds importing the whole registry for each call."""
    import typer
    from typer.testing import CliRunner

    from blocklist import cli
    from registry.settings import get_settings

    root = typer.Typer()
    cli.register(root)
    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    monkeypatch.setenv("REGISTRY_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()

    def run(*args: str) -> Any:
        return CliRunner().invoke(root, ["blocklist", *args])

    yield run
    get_settings.cache_clear()
