"""The ``make eval`` pipeline on a small scenario from another seed: played on anvil, synced, rescored, screened
through the bank API. Nothing criminal is listed: red flags are all there is. Floors on what it must find."""

from __future__ import annotations

import pytest

from bench.eval import SEED, SMALL, run
from bench.laundering import Params

pytestmark = pytest.mark.anvil
TEST_SEED = 31


def test_behaviour_alone_finds_most_mops_and_spares_ordinary_accounts() -> None:
    assert TEST_SEED != SEED
    scenario, [outcome] = run(Params(**{**SMALL.__dict__, "seed": TEST_SEED}), listed_run=False)
    t = outcome.typologies
    assert outcome.blocked_by_behaviour == 0
    assert outcome.mops_review_by_behaviour >= 0.5 * outcome.mops, outcome
    assert t["mop_passthrough"].recall >= 0.5 and t["mop_passthrough"].precision >= 0.6, t
    assert t["exchanger_cashout"].recall >= 0.5 and t["exchanger_cashout"].precision >= 0.6, t
    assert t["peel_chain"].recall >= 0.5 and t["peel_chain"].precision >= 0.8, t
    assert t["structuring"].recall >= 0.6, t
    assert outcome.ordinary_fp_rate <= 0.05, outcome.ordinary_flagged
    # The ordinary accounts the method does flag are the mop-like ones the scenario plants, never salaried
    # employees, shops, landlords, exchange users or victims.
    assert set(outcome.ordinary_flagged) <= {"online_seller", "organiser"}, outcome.ordinary_flagged
