"""The one ``registry`` command: ``serve`` and ``worker`` run the assembled product; every other command or
command group comes from a feature (``Feature.cli``, in the order of ``registry.features.FEATURES``).

A command imports only the features it needs. Importing the one list imports every feature, and with them SciPy,
matplotlib, WeasyPrint and the rest: seconds before ``registry --version`` could print a line. So ``main`` reads the
list's *source* (``feature_modules``: which module, in which order) and registers first the features whose
``feature.py`` or ``cli.py`` names the command typed (every one of them: a group such as ``export`` gets commands
from several), then, if the command does not resolve yet, the others in the list's order until it does.
``tests/registry/test_cli_startup.py`` checks that the source reads as the list itself, and that every command and
group resolves lazily to what the eager registration gives. The ``Feature`` contract is unchanged: a feature's
``cli`` hook gets the root command, as it always did. ``--version`` and ``serve`` load no feature; root help and a
mistyped command load them all, in the list's order, as does every use of ``registry.cli.app`` from Python
(``__getattr__`` below), so a caller of ``app`` sees every command.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from registry.feature import Feature

_root = typer.Typer(no_args_is_help=True, add_completion=False, help="National crypto-wallet risk registry.")
_ROOT_COMMANDS = {"serve", "worker"}


def feature_modules() -> list[str] | None:
    """The modules of the one list ``registry.features.FEATURES``, in its order, read from its source without
    running it; None when the source is not there or not of the shape ``from pkg import feature as x`` …
    ``FEATURES = [x.FEATURE, …]`` (then the caller imports the list itself)."""
    try:
        tree = ast.parse(Path(__file__).with_name("features.py").read_text())
    except (OSError, SyntaxError, ValueError):
        return None
    aliases: dict[str, str] = {}
    order: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            aliases.update({n.asname or n.name: f"{node.module}.feature" for n in node.names if n.name == "feature"})
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if [t.id for t in targets if isinstance(t, ast.Name)] != ["FEATURES"]:
                continue
            if not isinstance(node.value, ast.List):
                return None
            for item in node.value.elts:
                if not (
                    isinstance(item, ast.Attribute)
                    and item.attr == "FEATURE"
                    and isinstance(item.value, ast.Name)
                    and item.value.id in aliases
                ):
                    return None
                order.append(aliases[item.value.id])
    return order or None


def _names_command(feature_module: str, command: str) -> bool:
    """Whether the feature's ``feature.py`` or ``cli.py`` has the command's name as a string literal: the features
    that add it (a group that several features add to, like ``export``, is named by each of them)."""
    top, _, rest = feature_module.partition(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return False
    package = Path(next(iter(spec.submodule_search_locations)), *rest.split(".")[:-1])
    for name in ("feature.py", "cli.py"):
        try:
            if f'"{command}"' in (package / name).read_text():
                return True
        except OSError:
            continue
    return False


class CommandLoader:
    """Registers features' commands on a root command, all of them or those one command line needs."""

    def __init__(self, root: typer.Typer) -> None:
        self.root = root
        self.registered: set[str] = set()  # names of the features whose commands are on the root

    def _add(self, feature: Feature) -> None:
        if feature.name not in self.registered:
            self.registered.add(feature.name)
            if feature.cli is not None:
                feature.cli(self.root)

    def register_all(self) -> None:
        """Every feature's commands, in the list's order (those not added yet)."""
        from registry.features import FEATURES

        for feature in FEATURES:
            self._add(feature)

    def resolves(self, path: list[str], *, group: bool = False) -> bool:
        """Whether ``path`` (the words before the first option) leads to a command without sub-commands, or
        (``group``) to a group."""
        command: object = typer.main.get_group(self.root)
        for word in path:
            commands = getattr(command, "commands", None)  # a group's sub-commands by name (click's, Typer's)
            if not isinstance(commands, dict):
                return True  # a command without sub-commands: the rest are its arguments
            command = commands.get(word)
            if command is None:
                return False
        return group or not isinstance(getattr(command, "commands", None), dict)

    def load(self, args: list[str]) -> None:
        """Register what ``registry ARGS`` needs: the features that name its command (all of them for a group,
        which several may add to), then the others in the list's order until the command resolves."""
        path: list[str] = []
        for arg in args:
            if arg.startswith("-"):
                if path:
                    break
                continue  # an option of the root command (--debug, --version)
            path.append(arg)
        if not path:
            if "--version" not in args:
                self.register_all()  # help lists every command
            return
        if path[0] in _ROOT_COMMANDS:
            return
        modules = feature_modules()
        if modules is None:
            self.register_all()
            return
        named = [m for m in modules if _names_command(m, path[0])]
        for module in named:
            self._add(importlib.import_module(module).FEATURE)
        if self.resolves(path, group=True):
            return
        for module in modules:
            if module not in named:
                self._add(importlib.import_module(module).FEATURE)
                if self.resolves(path):
                    return
        self.register_all()  # not found: click names the mistake


_loader = CommandLoader(_root)


def _register_features() -> None:
    """Add every feature's commands to the root command, in the list's order."""
    _loader.register_all()


def __getattr__(name: str) -> typer.Typer:
    """``registry.cli.app``: the root command with every feature's commands (for tests and other Python callers)."""
    if name == "app":
        _register_features()
        return _root
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


@_root.callback()
def _callback(
    debug: bool = typer.Option(
        False, "--debug", help="on an unexpected error print the traceback (also REGISTRY_DEBUG=1)"
    ),
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version and exit"
    ),
) -> None:
    if debug:
        os.environ["REGISTRY_DEBUG"] = "1"


@_root.command()
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


@_root.command()
def worker() -> None:
    """Run the scheduled jobs (sync, crawl, register refresh, sanctions import, rescoring, feeds)."""
    # Without the API: production runs one of these beside `registry serve --no-scheduler` workers.
    from registry.db.engine import get_engine
    from registry.features import load_specs
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


def main(argv: list[str] | None = None) -> None:
    """The ``registry`` command. An error ends it with one line on stderr, ``error: …``: exit code 2 for what the
    user can act on (input refused, database unreachable or not migrated, a missing file, bad settings), 1 for an
    unexpected error, whose traceback is printed only with ``--debug`` or ``REGISTRY_DEBUG=1`` (a traceback
    with local variables would show keys and the pepper)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _loader.load(args)
        _root(args=args, prog_name="registry")
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
