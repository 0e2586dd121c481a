"""The web console for investigators and supervisors (server-rendered, ru/kk/en): its pages, its static files
(htmx and Cytoscape.js shipped in the package: the console runs on a network without internet) and the
``registry console`` commands."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from registry.console import cli, graph, routes
from registry.console.deps import HERE, PAGES, build_pages
from registry.console.settings import get_console_settings
from registry.feature import Feature
from registry.http.deps import AppContext


def install(app: FastAPI, ctx: AppContext) -> None:
    ctx.put(PAGES, build_pages(strict=get_console_settings().strict_i18n))
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")


FEATURE = Feature(
    name="console",
    routers=[graph.api, graph.pages, routes.router],
    install=install,
    cli=cli.register,
)
