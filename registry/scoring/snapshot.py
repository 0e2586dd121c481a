"""Plugs stored scores into the screening snapshot: every worker holds every exposed address's verdict in memory.

A listed address keeps its direct verdict (a direct listing dominates: exposure can never soften it) and gains its
exposure, which may only raise the result (a listed mule paid straight from a sanctioned wallet is blocked as the
exposure says); an unlisted one gets the verdict the policy gave its exposure at rescoring time.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from registry.db.engine import read_only
from registry.http.deps import AppContext
from registry.scoring.queries import load_scores
from registry.scoring.rescore import policy_from
from registry.scoring.settings import get_scoring_settings
from registry.screening.policy import ACTION_RANK, EXPOSURE_POLICY, LEVELS
from registry.screening.snapshot import Verdict, verdict_from_hits


def load_exposure(engine: Engine, verdicts: dict[str, Verdict]) -> dict[str, Verdict]:
    with read_only(engine).connect() as conn:
        rows = load_scores(conn)
    out = dict(verdicts)
    loads = orjson.loads
    # Many addresses carry the same exposure (every direct receiver of one listed wallet: share 1 at 1 hop):
    # parse each distinct text once and share the (read-only) result.
    parsed: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for family, address, score, level, action, exposure in rows:
        key = f"{family}:{address}"
        exp = parsed.get(exposure)
        if exp is None:
            exp = parsed[exposure] = loads(exposure)
        direct = verdicts.get(key)
        if direct is None:
            out[key] = Verdict(int(score), level, action, (), exp)
        else:
            out[key] = _raise_to(verdict_from_hits(direct.hits, exp), int(score), level, action)
    return out


def _raise_to(v: Verdict, score: int, level: str, action: str) -> Verdict:
    if score <= v.risk_score and ACTION_RANK[action] <= ACTION_RANK[v.action]:
        return v
    return replace(
        v,
        risk_score=max(score, v.risk_score),
        risk_level=max(level, v.risk_level, key=LEVELS.index),
        action=max(action, v.action, key=ACTION_RANK.__getitem__),
    )


def install(app: FastAPI, ctx: AppContext) -> None:
    """The scoring feature's ``install`` (``registry.scoring.feature``): runs while the app is built."""
    ctx.snapshot.exposure_loader = load_exposure
    # The evidence view must trace paths with the prices and hop limit the scores were computed with.
    app.state.scoring_settings = get_scoring_settings()
    # Explanations quote the policy's numbers as configured (``registry.screening.policy.explain``).
    ctx.put(EXPOSURE_POLICY, policy_from(app.state.scoring_settings))
