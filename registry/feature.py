"""What a feature is: one typed object saying what it adds to the app, the command line and the scheduler.

Each feature package exposes one ``FEATURE`` in its ``feature.py``; the one list ``registry.features.FEATURES``,
imported normally, builds the HTTP app (``registry.app``), the ``registry`` command (``registry.cli``) and the
scheduler's jobs. Being plain imports, the wiring is visible to mypy and to the import graph
(``tests/test_architecture.py``), which a list of module-name strings was not.

This module is part of the kernel: it imports no feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # types only: a command that imports one feature need not import FastAPI and the HTTP kernel
    from fastapi import APIRouter, FastAPI

    from registry.http.deps import AppContext
    from registry.http.fastpath import Handler
    from registry.ops.jobs import JobSpec
    from registry.settings import Settings


@dataclass(frozen=True)
class Feature:
    """What one feature contributes. Every part is optional; the app applies each kind in the list's order.

    - ``routers``: included in order (their order is the OpenAPI schema's).
    - ``fast_routes``: ``POST`` paths served straight from the path to the handler, ahead of routing
      (``registry.http.fastpath``); the routes stay declared on a router too, for the schema.
    - ``install``: called once while the app is built, after every router is included: middleware, loaders.
      Middleware added here sits inside the fast path and outside the JSON-body middleware.
    - ``lifespan``: start-up and shut-down, the only mechanism for them. The app enters the features' lifespans
      in list order when it starts and exits them in reverse order when it stops (also when a later one failed
      to start). State a lifespan creates goes into the context under a typed ``Slot`` (``AppContext.put``).
    - ``jobs``: the feature's scheduled jobs for the given settings (contract in ``registry.ops.jobs``).
    - ``cli``: adds the feature's commands or command group to the root ``registry`` command.
    """

    name: str
    routers: Sequence[APIRouter] = ()
    fast_routes: Mapping[str, Handler] = field(default_factory=dict)
    install: Callable[[FastAPI, AppContext], None] | None = None
    lifespan: Callable[[AppContext], AbstractContextManager[None]] | None = None
    jobs: Callable[[Settings], list[JobSpec]] | None = None
    cli: Callable[[typer.Typer], None] | None = None


def command_group(name: str, group: typer.Typer) -> Callable[[typer.Typer], None]:
    """``Feature.cli`` for a feature whose commands form one sub-command group (``registry db …``)."""

    def add(root: typer.Typer) -> None:
        root.add_typer(group, name=name)

    return add


def shared_group(root: typer.Typer, name: str, help: str) -> typer.Typer:
    """The sub-command group ``name`` of ``root`` that several features add commands to (``registry export cis``
    from reports, ``registry export transfers`` from transfers): the first feature to ask creates it, later ones
    get the same group. No feature owns it, and a second ``add_typer`` under the same name cannot shadow the first
    (Typer would keep both and show one). Use it in a feature's ``cli`` hook:
    ``shared_group(root, "export", "…").command("cis")(export_cis)``."""
    for info in root.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(no_args_is_help=True, help=help)
    root.add_typer(group, name=name)
    return group


def job_specs(features: Iterable[Feature], settings: Settings) -> list[JobSpec]:
    """Every job of ``features`` for ``settings``, in the features' order."""
    return [spec for feature in features if feature.jobs is not None for spec in feature.jobs(settings)]
