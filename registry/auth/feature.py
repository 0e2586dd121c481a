"""API keys: ``registry keys …``, and the key cache filled before any other feature starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from registry.auth import cli
from registry.feature import Feature, command_group

if TYPE_CHECKING:  # a type only: `registry keys …` need not import FastAPI
    from registry.http.deps import AppContext


@contextmanager
def lifespan(ctx: AppContext) -> Iterator[None]:
    """Every key known before the first request: an unknown key costs a database query, a known one none."""
    ctx.keys.refresh(force=True)
    yield


FEATURE = Feature(name="auth", lifespan=lifespan, cli=command_group("keys", cli.app))
