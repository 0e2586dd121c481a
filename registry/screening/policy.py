"""The risk policy: how direct listings and exposure become a score, a level and an action.

A direct listing dominates: the listed category's severity sets the level and its mandated action applies,
whatever the exposure says. The policy has a version (``REGISTRY_POLICY_VERSION``) named in every result, so a
bank can tell which rules produced a decision it stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from registry.http.deps import Slot
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

BEHAVIOUR_SCORE = 50
"""Score of an address flagged by behaviour alone (a typology matched, nothing listed): medium."""


def behaviour_verdict(score: int, level: str, action: str) -> tuple[int, str, str]:
    """A verdict raised by behavioural red flags (``registry.typologies``): at least review and a medium score, but
    never block. Only listings and sanctions block; a typology is a reason to look, not proof (DESIGN.md)."""
    new_score = max(score, BEHAVIOUR_SCORE)
    new_level = max(level, level_for_score(new_score), key=LEVELS.index)
    return new_score, new_level, action if ACTION_RANK[action] >= ACTION_RANK["review"] else "review"


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


EXPOSURE_POLICY: Slot[ExposurePolicy] = Slot("exposure_policy")
"""The policy's numbers as configured (``REGISTRY_POLICY_*``, the scoring feature's settings), put in the
``AppContext`` by the scoring feature when the app is built: explanations quote them. Without it, the defaults."""


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


EXPLAIN_RULES = {
    "none": "no listing and no exposure: the lowest level, allow",
    "direct.listing": "a direct listing: the listed category's severity sets the level, its mandated action applies",
    "exposure.block": "exposure to a block category at or above the block share within the block hops: block",
    "exposure.review": "exposure at or above the review share: review",
    "exposure.score": "exposure below the review share: scored by severity, share and hops, allowed",
    "behaviour.review": "behavioural typologies matched (red_flags), nothing listed or exposed decides: review",
}
"""The rules ``explain`` names (``explanation.rule``), each in one line: what a bank's developer branches on."""


def _pct(share: float) -> str:
    return f"{share * 100:.3g}%"


def _hops(n: int) -> str:
    return f"{n} hop" if n == 1 else f"{n} hops"


def _exposure_item(direction: str, e: Mapping[str, Any], policy: ExposurePolicy) -> tuple[float, int]:
    """One exposure's score and action rank under ``policy``: the scalar form of ``_direction_scores``."""
    cat = CATEGORIES.get(str(e["category"]))
    if cat is None:
        return 0.0, 0
    share, hops = float(e["share"]), int(e["min_hops"])
    decay = policy.hop_decay[min(max(hops, 1), len(policy.hop_decay)) - 1]
    weight = policy.outgoing_weight if direction == "outgoing" else 1.0
    score = SEVERITY_SCORE[cat.severity] * min(1.0, share / policy.full_share) * decay * weight
    rank = 1 if share >= policy.review_share else 0
    if cat.action == "block" and share >= policy.block_share and hops <= policy.block_max_hops:
        rank = 2
    return score, rank


def _exposure_words(direction: str, e: Mapping[str, Any]) -> str:
    verb = "it received came from" if direction == "incoming" else "it sent went to"
    return f"{_pct(float(e['share']))} of the funds {verb} addresses listed for {e['category']}, " + (
        f"{_hops(int(e['min_hops']))} away"
    )


def explain(
    score: int,
    level: str,
    action: str,
    direct: Sequence[Mapping[str, Any]],
    exposure: Mapping[str, Sequence[Mapping[str, Any]]],
    policy: ExposurePolicy,
    red_flags: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Which rule of the policy produced ``level`` and ``action``, from which categories, shares and hops, and one
    sentence saying so: the ``explanation`` object of a screening result and of the address view. Behavioural
    ``red_flags`` (typologies matched) explain a review that neither a listing nor exposure reaches.

    It is derived from the verdict the bank got (the stored exposure, the direct hits) and the policy's numbers, so
    it explains that verdict, not a fresh computation; nothing in it is case data.
    """
    head = f"{action.capitalize()} (score {score}, {level})"
    cats = [str(d["category"]) for d in direct]
    because: list[dict[str, Any]] = [
        {"kind": "direct", "category": c, "direction": None, "share": None, "min_hops": None, "threshold": None}
        for c in dict.fromkeys(cats)
    ]
    d_score, _, d_action = direct_verdict(cats) if cats else (0, "low", "allow")
    listed = ""
    if cats:
        top = max(cats, key=lambda c: (SEVERITY_SCORE[CATEGORIES[c].severity], ACTION_RANK[CATEGORIES[c].action]))
        c = CATEGORIES[top]
        names = " and ".join(dict.fromkeys(cats))
        listed = f"listed directly under {names}" + (
            f", a {c.severity.value}-severity category whose mandated action is {c.action}"
            if len(set(cats)) == 1
            else f"; {top}, a {c.severity.value}-severity category whose mandated action is {c.action}, decides"
        )
        if score <= d_score and ACTION_RANK[action] <= ACTION_RANK[d_action]:
            text = f"{head}: {listed} (rule direct.listing)."
            return {"rule": "direct.listing", "level": level, "action": action, "text": text, "because": because}
    items = [
        (direction, e, *_exposure_item(direction, e, policy))
        for direction in ("incoming", "outgoing")
        for e in exposure.get(direction, ())
    ]
    if red_flags and not any(x[3] >= ACTION_RANK.get(action, 0) for x in items):
        typologies = list(dict.fromkeys(str(f["typology"]) for f in red_flags))
        because += [
            {"kind": "typology", "category": t, "direction": None, "share": None, "min_hops": None, "threshold": None}
            for t in typologies
        ]
        lead = f"{listed}, and" if listed else "not listed, but"
        text = (
            f"{head}: {lead} its transfers match the behavioural typolog{'ies' if len(typologies) > 1 else 'y'} "
            f"{' and '.join(typologies)}; the policy reviews behaviour and never blocks on it (rule behaviour.review)."
        )
        return {"rule": "behaviour.review", "level": level, "action": action, "text": text, "because": because}
    if not items:
        text = f"{head}: not listed, and no exposure to listed addresses was found (rule none)."
        return {"rule": "none", "level": level, "action": action, "text": text, "because": because}
    rank = ACTION_RANK.get(action, 0)
    rule = ("exposure.score", "exposure.review", "exposure.block")[rank]
    threshold = (None, policy.review_share, policy.block_share)[rank]
    acting = sorted((x for x in items if x[3] == rank), key=lambda x: -x[2]) or sorted(items, key=lambda x: -x[2])
    because += [
        {
            "kind": "exposure",
            "category": e["category"],
            "direction": direction,
            "share": e["share"],
            "min_hops": e["min_hops"],
            "threshold": threshold,
        }
        for direction, e, _, _ in acting
    ]
    direction, e = acting[0][0], acting[0][1]
    words = _exposure_words(direction, e)
    more = len(acting) - 1
    if more:
        words += f" (and {more} more exposure{'s' if more > 1 else ''} like it)"
    if rank == 2:
        why = (
            f"the policy blocks exposure to a block category from {_pct(policy.block_share)} within "
            f"{_hops(policy.block_max_hops)}"
        )
    elif rank == 1:
        why = f"the policy reviews exposure from {_pct(policy.review_share)}"
    else:
        why = f"below the {_pct(policy.review_share)} from which the policy reviews exposure"
    lead = f"{listed}, and " if listed else ""
    text = f"{head}: {lead}{words}; {why} (rule {rule})."
    return {"rule": rule, "level": level, "action": action, "text": text, "because": because}
