"""The risk policy: how direct listings and exposure become a score, a level and an action.

A direct listing dominates: the listed category's severity sets the level and its mandated action applies,
whatever the exposure says. The policy has a version (``REGISTRY_POLICY_VERSION``) named in every result, so a
bank can tell which rules produced a decision it stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.taxonomy.categories import CATEGORIES, SEVERITY_SCORE, Severity

ACTION_RANK = {"allow": 0, "review": 1, "block": 2}
LEVELS = ("low", "medium", "high", "severe")


def level_for_score(score: int) -> str:
    if score >= 90:
        return "severe"
    if score >= 70:
        return "high"
    if score >= 40:
        return "medium"
    return "low"


def direct_verdict(categories: list[str]) -> tuple[int, str, str]:
    """Score, level and action of an address listed under ``categories`` (non-empty)."""
    score, level, action = 0, Severity.low.value, "allow"
    for name in categories:
        c = CATEGORIES[name]
        s = SEVERITY_SCORE[c.severity]
        if s > score:
            score, level = s, c.severity.value
        if ACTION_RANK[c.action] > ACTION_RANK[action]:
            action = c.action
    return score, level, action


ACTIONS = ("allow", "review", "block")


@dataclass(frozen=True, slots=True)
class ExposurePolicy:
    """How indirect exposure turns into a score and an action (used for addresses that are not listed).

    score = severity score of the category x min(1, share / full_share) x hop decay (x outgoing weight),
    the highest over categories and directions. Exposure is reviewed from ``review_share``; it blocks only for
    a category whose mandated action is block, from ``block_share`` and within ``block_max_hops``: an analyst
    should look at money two hops from a scam, a bank should not refuse it automatically.
    """

    review_share: float = 0.05
    block_share: float = 0.5
    block_max_hops: int = 1
    full_share: float = 0.5
    hop_decay: tuple[float, ...] = (1.0, 0.8, 0.6, 0.5)
    outgoing_weight: float = 1.0


def _direction_scores(
    share: NDArray[np.floating[Any]],
    hops: NDArray[np.integer[Any]],
    categories: Sequence[str],
    policy: ExposurePolicy,
    weight: float,
) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    sev = np.array([SEVERITY_SCORE[CATEGORIES[c].severity] for c in categories], dtype=np.float64)
    blocks = np.array([CATEGORIES[c].action == "block" for c in categories], dtype=bool)
    decay = np.asarray(policy.hop_decay, dtype=np.float64)
    reached = hops > 0
    hop_factor = decay[np.clip(hops.astype(np.int64) - 1, 0, len(decay) - 1)]
    score = sev * np.minimum(1.0, share / policy.full_share) * hop_factor * weight
    score = np.where(reached, score, 0.0)
    action = np.where(reached & (share >= policy.review_share), 1, 0).astype(np.int8)
    block = reached & blocks & (share >= policy.block_share) & (hops <= policy.block_max_hops)
    action[block] = 2
    return score.max(axis=1, initial=0.0), action.max(axis=1, initial=0)


def exposure_verdicts(
    share_in: NDArray[np.floating[Any]],
    hops_in: NDArray[np.integer[Any]],
    share_out: NDArray[np.floating[Any]],
    hops_out: NDArray[np.integer[Any]],
    categories: Sequence[str],
    policy: ExposurePolicy,
) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
    """Scores (0-100) and action ranks (index into ``ACTIONS``) of many addresses at once.

    Arrays are (addresses x categories); vectorised because a rescoring applies the policy to every exposed
    address of the graph.
    """
    s_in, a_in = _direction_scores(share_in, hops_in, categories, policy, 1.0)
    s_out, a_out = _direction_scores(share_out, hops_out, categories, policy, policy.outgoing_weight)
    score = np.rint(np.clip(np.maximum(s_in, s_out), 0, 100)).astype(np.int64)
    return score, np.maximum(a_in, a_out)


def levels_for_scores(scores: NDArray[np.integer[Any]]) -> NDArray[np.int8]:
    """Index into ``LEVELS`` for each score, the same thresholds as ``level_for_score``."""
    return np.searchsorted(np.array([40, 70, 90]), scores, side="right").astype(np.int8)
