"""Explain the score: the policy rule behind a level, with ``?explain=true`` on screening (one and batch) and on the
address view, for banks too; absent otherwise. Shares are computed by hand in the comments."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from registry.screening.policy import ExposurePolicy, explain
from tests.scoring.factories import add_listing, add_transfers, addr
from tests.support.keys import Keys

L, S, U = addr(1), addr(2), addr(3)  # listed fraud, listed sanctions, clean money
REVIEWED, BLOCKED, SCORED, CLEAN = addr(10), addr(11), addr(12), addr(13)


def scored(engine: Engine, client: TestClient, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud")
    add_listing(engine, S, "sanctions")
    # REVIEWED got 1 of its 4 ETH from L: fraud 25 % at 1 hop (review from 5 %; score 80 × 0.25/0.5 = 40, medium).
    # BLOCKED got 2 of 3 from S: sanctions 2/3 at 1 hop (a block category from 50 % within 1 hop: block, 100).
    # SCORED got 1 of 100 from L: fraud 1 %, below review (score 80 × 0.01/0.5 = 1.6 -> 2, low, allow).
    add_transfers(engine, [(L, REVIEWED, 1), (U, REVIEWED, 3), (S, BLOCKED, 2), (U, BLOCKED, 1)])
    add_transfers(engine, [(L, SCORED, 1), (U, SCORED, 99)])
    rescore(engine, scoring, "t1")
    client.app.state.ctx.snapshot.refresh(force=True)  # type: ignore[attr-defined]


def test_screening_and_the_address_view_explain_on_request_only(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    scored(engine, app_client, scoring)
    bank = keys.headers("bank")
    plain = app_client.post("/v1/screen", json={"address": REVIEWED, "chain": "eth"}, headers=bank).json()
    assert "explanation" not in plain and plain["action"] == "review"
    r = app_client.post("/v1/screen?explain=true", json={"address": REVIEWED, "chain": "eth"}, headers=bank)
    assert r.status_code == 200, r.text
    why = r.json()["explanation"]
    assert (why["rule"], why["level"], why["action"]) == ("exposure.review", "medium", "review")
    assert why["because"] == [
        {"kind": "exposure", "category": "fraud", "direction": "incoming", "share": 0.25, "min_hops": 1,
         "threshold": 0.05}
    ]  # fmt: skip
    assert "exposure.review" in why["text"] and "fraud" in why["text"] and "25%" in why["text"]
    assert r.json()["risk_score"] == 40 and r.json()["policy_version"] == plain["policy_version"]

    batch = app_client.post(
        "/v1/screen/batch?explain=1", json={"addresses": [BLOCKED, L, CLEAN, SCORED, "0x12"]}, headers=bank
    )
    assert batch.status_code == 200, batch.text
    blocked, listed, clean, low, bad = batch.json()["results"]
    assert blocked["explanation"]["rule"] == "exposure.block" and blocked["action"] == "block"
    assert blocked["explanation"]["because"][0]["threshold"] == 0.5 and "sanctions" in blocked["explanation"]["text"]
    assert listed["explanation"]["rule"] == "direct.listing"
    assert listed["explanation"]["because"][0] == {
        "kind": "direct", "category": "fraud", "direction": None, "share": None, "min_hops": None, "threshold": None
    }  # fmt: skip
    assert "direct.listing" in listed["explanation"]["text"] and "fraud" in listed["explanation"]["text"]
    assert clean["explanation"]["rule"] == "none" and clean["explanation"]["because"] == []
    assert (low["explanation"]["rule"], low["action"], low["risk_score"]) == ("exposure.score", "allow", 2)
    assert "error" in bad and "explanation" not in bad
    unexplained = app_client.post("/v1/screen/batch?explain=false", json={"addresses": [BLOCKED]}, headers=bank)
    assert "explanation" not in unexplained.json()["results"][0]
    wrong = app_client.post("/v1/screen?explain=maybe", json={"address": REVIEWED}, headers=bank)
    assert wrong.status_code == 422 and wrong.json()["error"]["details"]["field"] == "explain"

    # The address view: the explanation and the same in words, for investigators and banks alike.
    inv = keys.headers("investigator")
    plain = app_client.get(f"/v1/addresses/eth/{BLOCKED}", headers=inv).json()
    assert plain["explanation"] is None and plain["explanation_text"] is None
    view = app_client.get(f"/v1/addresses/eth/{BLOCKED}?explain=true", headers=inv).json()
    assert view["explanation"]["rule"] == "exposure.block"
    assert view["explanation_text"] == view["explanation"]["text"]
    assert view["explanation_text"].startswith("Block (score 100, severe): 66.7% of the funds it received came from")
    bank = app_client.get(f"/v1/addresses/eth/{BLOCKED}?explain=true", headers=keys.headers("bank")).json()
    assert bank["explanation"] == view["explanation"] and "listings" not in bank


def test_explanation_of_a_listed_address_raised_by_its_exposure() -> None:
    """A listed mule (money_mule: high, review) paid straight from a sanctioned wallet: the exposure blocks it."""
    why = explain(
        100,
        "severe",
        "block",
        [{"category": "money_mule", "source": "fiu"}],
        {"incoming": [{"category": "sanctions", "share": 0.9, "min_hops": 1}], "outgoing": []},
        ExposurePolicy(),
    )
    assert why["rule"] == "exposure.block"
    assert [b["kind"] for b in why["because"]] == ["direct", "exposure"]
    assert why["text"] == (
        "Block (score 100, severe): listed directly under money_mule, a high-severity category whose mandated "
        "action is review, and 90% of the funds it received came from addresses listed for sanctions, 1 hop away; "
        "the policy blocks exposure to a block category from 50% within 1 hop (rule exposure.block)."
    )
