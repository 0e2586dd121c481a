"""The risk policy: how direct listings and exposure become a score, a level and an action.

A direct listing dominates: the listed category's severity sets the level and its mandated action applies,
whatever the exposure says. The policy has a version (``REGISTRY_POLICY_VERSION``) named in every result, so a
bank can tell which rules produced a decision it stored.
"""

from __future__ import annotations

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
