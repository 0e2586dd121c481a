"""The ``registry`` command imports only what the command typed needs, and still finds every command.

``registry.cli`` reads the one feature list from its source and registers features lazily (its docstring says how);
these tests hold that to the eager registration (every feature, in the list's order) that ``registry.cli.app``
gives: the same commands with the same options, the same groups with the same sub-commands.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any

import typer

from registry import cli
from registry.features import FEATURES
from tests.support.paths import ROOT


def test_the_list_read_from_source_is_the_one_list() -> None:
    modules = cli.feature_modules()
    assert modules is not None, "registry/features.py no longer reads as `FEATURES = [x.FEATURE, …]`"
    loaded = [importlib.import_module(m).FEATURE for m in modules]
    assert len(loaded) == len(FEATURES) and all(a is b for a, b in zip(loaded, FEATURES, strict=True))


def _tree(command: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every command and group below ``command`` by its path of names."""
    out: dict[tuple[str, ...], Any] = {path: command} if path else {}
    for name, sub in (getattr(command, "commands", None) or {}).items():
        out.update(_tree(sub, (*path, name)))
    return out


def _shape(command: Any) -> tuple[Any, ...]:
    subs = getattr(command, "commands", None)
    if isinstance(subs, dict):
        return ("group", sorted(subs))
    return ("command", [p.name for p in command.params], command.help)


def test_every_command_resolves_lazily_to_what_the_eager_list_gives() -> None:
    eager = _tree(typer.main.get_group(cli.app))
    assert ("db", "upgrade") in eager and ("keys", "create") in eager and ("serve",) in eager
    everything = {f.name for f in FEATURES}
    loads_all = []
    for path, command in eager.items():
        if path[0] in ("serve", "worker"):
            continue
        loader = cli.CommandLoader(typer.Typer())
        loader.load([*path, "--help"])
        lazy = _tree(typer.main.get_group(loader.root))
        assert path in lazy, f"registry {' '.join(path)} does not resolve lazily"
        assert _shape(lazy[path]) == _shape(command), f"registry {' '.join(path)} differs when loaded lazily"
        if not isinstance(getattr(command, "commands", None), dict) and loader.registered == everything:
            loads_all.append(" ".join(path))
    assert not loads_all, f"these commands import every feature (name them in their feature's cli.py): {loads_all}"


def _modules_after(*args: str) -> tuple[str, set[str]]:
    script = (
        "import json, sys\nfrom registry import cli\ntry:\n"
        f"    cli.main({list(args)!r})\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    out, _, modules = done.stdout.rstrip().rpartition("\n")
    return out, set(json.loads(modules))


def test_version_imports_no_feature() -> None:
    out, modules = _modules_after("--version")
    assert out.startswith("registry ")
    features = {m for m in cli.feature_modules() or [] if m in modules}
    assert not features and not {"fastapi", "sqlalchemy", "numpy"} & modules, features


def test_a_feature_command_imports_that_feature_alone() -> None:
    out, modules = _modules_after("db", "upgrade", "--help")
    assert "Apply every pending migration" in out
    assert {m for m in cli.feature_modules() or [] if m in modules} == {"registry.db.feature"}
    assert not {"fastapi", "scipy", "matplotlib", "web3"} & modules
