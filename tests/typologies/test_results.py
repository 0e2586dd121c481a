"""Red flags in screening results and the address view, with their indicator values; behaviour alone reviews and
never blocks."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from registry.screening.policy import behaviour_verdict
from registry.screening.snapshot import CLEAN, DirectHit, Snapshot, verdict_from_hits, with_red_flags
from tests.scoring.factories import add_listing
from tests.support.keys import Keys
from tests.typologies.factories import addr, mop_network

MOP, LISTED_MOP, CLEAN_ADDRESS = addr(100), addr(500), addr(900)
FLAG = {"typology": "mop_passthrough", "version": 1, "title": "t", "indicators": []}


def test_behaviour_raises_to_review_and_never_to_block() -> None:
    assert behaviour_verdict(0, "low", "allow") == (50, "medium", "review")
    assert behaviour_verdict(30, "low", "review") == (50, "medium", "review")
    assert behaviour_verdict(80, "high", "review") == (80, "high", "review")
    assert behaviour_verdict(100, "severe", "block") == (100, "severe", "block")  # a listing's block stays
    v = with_red_flags(CLEAN, (FLAG, FLAG, FLAG))
    assert (v.risk_score, v.risk_level, v.action, v.red_flags) == (50, "medium", "review", (FLAG, FLAG, FLAG))


def test_red_flags_outlive_an_expiring_listing() -> None:
    now = time.time()
    hit = DirectHit("fraud", "fiu", 70, "2026-01-01T00:00:00Z", now + 60)
    v = with_red_flags(verdict_from_hits((hit,)), (FLAG,))
    snap = Snapshot(1, {"evm:x": v})
    assert snap.verdict("evm:x", now).risk_score == 80  # fraud: high, review
    later = snap.verdict("evm:x", now + 120)  # the listing has expired; the behaviour has not
    assert (later.action, later.risk_level, later.red_flags, later.direct) == ("review", "medium", (FLAG,), ())


def test_screening_and_the_address_view_carry_red_flags(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    mop_network(engine)  # MOP: unlisted, flagged by behaviour only
    mop_network(engine, mop=500, sink=600, first_victim=1100)  # LISTED_MOP: sanctioned, and behaving like a mop
    add_listing(engine, LISTED_MOP, "sanctions")
    rescore(engine, scoring, "t")
    app_client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]
    bank = keys.headers("bank")

    r = app_client.post("/v1/screen", json={"address": MOP, "chain": "eth"}, headers=bank)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["action"], body["risk_level"], body["risk_score"]) == ("review", "medium", 50)
    assert body["direct"] == [] and body["exposure"] == {"incoming": [], "outgoing": []}
    [flag] = body["red_flags"]
    assert flag["typology"] == "mop_passthrough" and flag["version"] == 1
    values = {i["name"]: (i["value"], i["op"], i["threshold"]) for i in flag["indicators"]}
    assert values["senders"] == (6, ">=", 5) and values["dwell_hours"] == (6, "<=", 48)
    ranges = [(i["value"], i["op"], i["threshold"]) for i in flag["indicators"] if i["name"] == "pass_through"]
    assert ranges == [(0.98, ">=", 0.8), (0.98, "<=", 1.25)]  # a range is two conditions
    assert all(0 <= i["percentile"] <= 100 for i in flag["indicators"])

    r = app_client.post("/v1/screen/batch", json={"addresses": [LISTED_MOP, CLEAN_ADDRESS, MOP]}, headers=bank)
    listed, clean, mop = r.json()["results"]
    assert listed["action"] == "block" and listed["risk_level"] == "severe"  # the listing blocks, not behaviour
    assert [f["typology"] for f in listed["red_flags"]] == ["mop_passthrough"]
    assert clean["red_flags"] == [] and clean["action"] == "allow"
    assert mop["red_flags"] == body["red_flags"]

    explained = app_client.post("/v1/screen?explain=true", json={"address": MOP}, headers=bank).json()["explanation"]
    assert explained["rule"] == "behaviour.review" and "mop_passthrough" in explained["text"]
    assert [(b["kind"], b["category"]) for b in explained["because"]] == [("typology", "mop_passthrough")]

    view = app_client.get(f"/v1/addresses/eth/{MOP}", headers=keys.headers("investigator")).json()
    assert view["action"] == "review" and view["red_flags"] == body["red_flags"]
    for_bank = app_client.get(f"/v1/addresses/eth/{MOP}", headers=bank).json()
    assert for_bank["red_flags"] == body["red_flags"] and "listings" not in for_bank
    why = app_client.get(f"/v1/addresses/eth/{LISTED_MOP}?explain=true", headers=bank).json()["explanation"]
    assert why["rule"] == "direct.listing"  # the sanctions listing decides; its red flags change nothing
