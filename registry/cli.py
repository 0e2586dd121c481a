"""The one ``registry`` command: ``serve`` and ``worker`` run the assembled product; every other command or
command group comes from a feature (``Feature.cli``, in the order of ``registry.features.FEATURES``)."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import traceback

import typer

from registry.features import FEATURES, load_specs

app = typer.Typer(no_args_is_help=True, add_completion=False, help="National crypto-wallet risk registry.")

_registered = False


def _register_features() -> None:
    """Add every feature's commands to ``app``, once (run when this module is imported)."""
    global _registered
    if _registered:
        return
    _registered = True
    for feature in FEATURES:
        if feature.cli is not None:
            feature.cli(app)


def package_version() -> str:
    """The installed package's version (``pyproject.toml``), as support asks for it first."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wallet-risk-registry")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (package not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"registry {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="on an unexpected error print the traceback (also REGISTRY_DEBUG=1)"
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    if debug:
        os.environ["REGISTRY_DEBUG"] = "1"


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
        "registry.asgi:app",
        host=host or s.host,
        port=port or s.port,
        workers=n if n > 1 else None,
        log_level="info",
        access_log=False,
        lifespan="on",
    )


@app.command()
def worker() -> None:
    """Run the scheduled jobs (sync, crawl, register refresh, sanctions import, rescoring, feeds)."""
    # Without the API: production runs one of these beside `registry serve --no-scheduler` workers.
    from registry.db.engine import get_engine
    from registry.ops.scheduler import Scheduler
    from registry.settings import get_settings

    settings = get_settings()
    scheduler = Scheduler(get_engine(), settings, load_specs(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    for spec in scheduler.specs:
        typer.echo(f"job {spec.id} every {spec.seconds:g}s: {spec.description}")
    stop.wait()
    scheduler.shutdown()


_register_features()


def main(argv: list[str] | None = None) -> None:
    """The ``registry`` command. An error ends it with one line on stderr, ``error: …``: exit code 2 for what the
    user can act on (input refused, database unreachable or not migrated, a missing file, bad settings), 1 for an
    unexpected error, whose traceback is printed only with ``--debug`` or ``REGISTRY_DEBUG=1`` (a traceback
    with local variables would show keys and the pepper)."""
    try:
        _register_features()
        app(args=argv, prog_name="registry")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if os.environ.get("REGISTRY_DEBUG", "").lower() in ("1", "true", "yes"):
            traceback.print_exception(e)
            sys.exit(1)
        message, code = describe_error(e)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(code)


_CREDENTIALS = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def _one_line(text: str, limit: int = 500) -> str:
    line = _CREDENTIALS.sub(r"\1***@", " ".join(str(text).split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe_error(e: Exception) -> tuple[str, int]:
    """The one line and the exit code for an exception that ended a command."""
    import httpx
    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError

    from registry.errors import RegistryError

    if isinstance(e, RegistryError):
        return _one_line(e.message), 2
    if isinstance(e, OperationalError | InterfaceError | ProgrammingError):
        detail = _one_line(str(e.orig) if isinstance(e, DBAPIError) and e.orig is not None else str(e))
        hint = ""
        if "no such table" in detail or "does not exist" in detail:
            hint = " (is the schema current? run `registry db upgrade`)"
        elif isinstance(e, OperationalError | InterfaceError):
            hint = " (is the database running, and REGISTRY_DATABASE_URL right?)"
        return f"database: {detail}{hint}", 2
    if isinstance(e, OSError):
        if e.filename is not None:
            return _one_line(f"{e.strerror or type(e).__name__}: {e.filename}"), 2
        return _one_line(f"{type(e).__name__}: {e}"), 2
    if isinstance(e, httpx.HTTPError):
        return _one_line(f"{type(e).__name__}: {e}"), 2
    if isinstance(e, ValidationError):
        settings = e.title.endswith("Settings")
        problems = []
        for err in e.errors():
            where = "_".join(str(p) for p in err["loc"])
            if where and settings:
                where = f"REGISTRY_{where.upper()}"
            problems.append(f"{where}: {err['msg']}" if where else err["msg"])
        return _one_line(f"invalid {'settings' if settings else e.title}: {'; '.join(problems)}"), 2
    return (
        _one_line(f"unexpected {type(e).__name__}: {e}", 300)
        + " (a bug: run again with --debug or REGISTRY_DEBUG=1 for the traceback, and report it)",
        1,
    )
