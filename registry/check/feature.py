"""The public check page: is this website a licensed exchange, is this wallet high-risk (no sign-in, no cookies,
no JavaScript needed), and how money mules ("mops") are recruited."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from registry.check import routes
from registry.feature import Feature
from registry.http.deps import AppContext


def install(app: FastAPI, ctx: AppContext) -> None:
    routes.build(ctx)
    app.mount("/check/static", StaticFiles(directory=routes.HERE / "static"), name="check-static")


FEATURE = Feature(name="check", routers=[routes.router], install=install)
