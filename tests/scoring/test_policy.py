"""The risk policy for exposure: severity x share x hop decay; blocking only close and large; direct dominates."""

from __future__ import annotations

import numpy as np
import pytest

from registry.screening.policy import (
    ACTIONS,
    LEVELS,
    ExposurePolicy,
    exposure_verdicts,
    level_for_score,
    levels_for_scores,
)
from registry.screening.snapshot import DirectHit, verdict_from_hits

P = ExposurePolicy()


def one(category: str, share: float, hops: int, direction: str = "in") -> tuple[int, str, str]:
    s = np.array([[share]])
    h = np.array([[hops]], dtype=np.int8)
    z, zh = np.zeros((1, 1)), np.zeros((1, 1), dtype=np.int8)
    if direction == "in":
        score, action = exposure_verdicts(s, h, z, zh, [category], P)
    else:
        score, action = exposure_verdicts(z, zh, s, h, [category], P)
    return int(score[0]), LEVELS[levels_for_scores(score)[0]], ACTIONS[action[0]]


@pytest.mark.parametrize(
    ("category", "share", "hops", "expected"),
    [
        ("sanctions", 1.0, 1, (100, "severe", "block")),
        ("sanctions", 0.5, 1, (100, "severe", "block")),
        ("sanctions", 0.49, 1, (98, "severe", "review")),
        ("sanctions", 1.0, 2, (80, "high", "review")),
        ("sanctions", 1.0, 4, (50, "medium", "review")),
        ("sanctions", 1.0, 7, (50, "medium", "review")),  # the last decay factor applies beyond
        ("sanctions", 0.04, 1, (8, "low", "allow")),
        ("fraud", 1.0, 1, (80, "high", "review")),  # fraud's mandated action is review, never block
        ("mixer", 0.25, 1, (25, "low", "review")),
        ("illegal_mining", 1.0, 1, (25, "low", "review")),
        ("ransomware", 0.0, 0, (0, "low", "allow")),
    ],
)
def test_single_exposure(category: str, share: float, hops: int, expected: tuple[int, str, str]) -> None:
    assert one(category, share, hops) == expected


def test_outgoing_counts_like_incoming_by_default_and_can_be_weighted() -> None:
    assert one("sanctions", 1.0, 1, "out") == (100, "severe", "block")
    global P
    old, P = P, ExposurePolicy(outgoing_weight=0.5)
    try:
        assert one("sanctions", 1.0, 1, "out")[0] == 50
    finally:
        P = old


def test_worst_category_and_direction_wins() -> None:
    share_in = np.array([[0.1, 0.9], [0.0, 0.0]])
    hops_in = np.array([[1, 3], [0, 0]], dtype=np.int8)
    share_out = np.array([[0.0, 0.0], [0.6, 0.0]])
    hops_out = np.array([[0, 0], [1, 0]], dtype=np.int8)
    score, action = exposure_verdicts(share_in, hops_in, share_out, hops_out, ["sanctions", "mixer"], P)
    # row 0: sanctions 0.1 @1 -> 20 (review); mixer 0.9 @3 -> 30 (review). row 1: sanctions 0.6 out @1 -> block
    assert score.tolist() == [30, 100]
    assert [ACTIONS[a] for a in action] == ["review", "block"]


def test_vector_levels_match_scalar_levels() -> None:
    scores = np.arange(0, 101)
    assert [LEVELS[i] for i in levels_for_scores(scores)] == [level_for_score(int(s)) for s in scores]


def test_verdict_from_hits_keeps_the_direct_verdict_and_attaches_exposure() -> None:
    hit = DirectHit("illegal_mining", "fiu", 70, "2026-01-01T00:00:00Z", None)
    exposure = {"incoming": [{"category": "sanctions", "share": 1.0, "min_hops": 1}], "outgoing": []}
    v = verdict_from_hits((hit,), exposure)
    # By hand from the taxonomy: illegal_mining is severity low (25) with mandated action review; the sanctions
    # exposure (which alone would block) is attached but does not change the direct verdict here.
    assert (v.risk_score, v.risk_level, v.action) == (25, "low", "review")
    assert v.exposure == exposure
