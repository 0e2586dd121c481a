"""Puts the stored red flags into the screening snapshot: every worker holds every flagged address's red flags in
memory, so a screening looks them up in the same dict access as the rest of its verdict (no query per request).

Runs after the scoring's exposure loader (``SnapshotHolder.red_flag_loader``): a flagged address keeps its direct
listing and its exposure and gains the red flags, which raise it to review at most (``with_red_flags``).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from registry.db.engine import read_only
from registry.http.deps import AppContext
from registry.screening.snapshot import CLEAN, Verdict, with_red_flags
from registry.typologies.queries import load_flags


def load_red_flags(engine: Engine, verdicts: dict[str, Verdict]) -> dict[str, Verdict]:
    """The verdicts being built for a new snapshot, with every flagged address's red flags added in place."""
    with read_only(engine).connect() as conn:
        rows = load_flags(conn)
    parsed: dict[str, tuple[dict[str, Any], ...]] = {}
    for family, address, flags in rows:
        red = parsed.get(flags)
        if red is None:
            red = parsed[flags] = tuple(orjson.loads(flags))
        key = f"{family}:{address}"
        verdicts[key] = with_red_flags(verdicts.get(key, CLEAN), red)
    return verdicts


def install(app: FastAPI, ctx: AppContext) -> None:
    """The typologies feature's ``install``: runs while the app is built, before the snapshot first loads."""
    ctx.snapshot.red_flag_loader = load_red_flags
