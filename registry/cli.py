"""The one ``registry`` command; each feature contributes its own sub-commands (see ``FEATURE_CLIS``)."""

from __future__ import annotations

import importlib
import os
import sys

import typer

from registry.audit import cli as audit_cli
from registry.auth import cli as keys_cli
from registry.db import cli as db_cli
from registry.imports import cli as import_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, help="National crypto-wallet risk registry.")
app.add_typer(db_cli.app, name="db")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(import_cli.app, name="import")
app.add_typer(audit_cli.app, name="audit")

FEATURE_CLIS = [
    "registry.sync.cli",  # sync, crawl
    "registry.scoring.cli",  # score
    "blocklist.cli",  # blocklist export|refresh-register|licensed-domain
    "registry.ops.cli",  # worker
    "registry.entities.cli",  # entities create|licensed|link|list
]
"""Each module exposes ``register(app: typer.Typer)`` and adds its commands."""


def _register_features() -> None:
    for name in FEATURE_CLIS:
        importlib.import_module(name).register(app)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (REGISTRY_HOST)"),
    port: int | None = typer.Option(None, help="port (REGISTRY_PORT)"),
    workers: int | None = typer.Option(None, help="API worker processes (REGISTRY_WORKERS)"),
    scheduler: bool = typer.Option(
        True, "--scheduler/--no-scheduler", help="run the scheduled jobs in this process (embedded default)"
    ),
) -> None:
    """Run the HTTP API (and, unless --no-scheduler, the scheduled jobs)."""
    import uvicorn

    from registry.settings import get_settings

    # The workers read this from the environment: with --scheduler each worker starts a scheduler, and the job
    # leases make sure every job still runs once at a time across them.
    os.environ["REGISTRY_RUN_SCHEDULER"] = "1" if scheduler else "0"
    get_settings.cache_clear()
    s = get_settings()
    n = workers or s.workers
    uvicorn.run(
        "registry.http.asgi:app",
        host=host or s.host,
        port=port or s.port,
        workers=n if n > 1 else None,
        log_level="info",
        access_log=False,
        lifespan="on",
    )


def main() -> None:
    _register_features()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
