"""The address view over HTTP: investigators get paths and cases, banks a reduced explanation, others nothing."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from tests.scoring.factories import add_licensed, add_listing, add_transfers, addr
from tests.support.keys import Keys

L, A, B, C, U, X = addr(1), addr(2), addr(3), addr(4), addr(5), addr(6)


def scored_world(engine: Engine, client: TestClient, scoring: ScoringSettings) -> dict[str, list[str]]:
    """L (fraud, case C-42) -> A -> B, with clean money from U into B; B also pays X (listed mixer)."""
    add_listing(engine, L, "fraud", case_number="C-42")
    add_listing(engine, X, "mixer", case_number="C-43")
    txs = {
        "LA": add_transfers(engine, [(L, A, 2), (L, A, 1)]),
        "AB": add_transfers(engine, [(A, B, 3)]),
        "UB": add_transfers(engine, [(U, B, 9)]),
        "BX": add_transfers(engine, [(B, X, 4), (B, C, 4)]),
    }
    rescore(engine, scoring, "t1")
    client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]
    return txs


def test_investigator_sees_paths_transactions_and_cases(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    txs = scored_world(engine, app_client, scoring)
    r = app_client.get(f"/v1/addresses/eth/{B}", headers=keys.headers("investigator"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["family"] == "evm" and body["listings"] == []
    [inc] = body["exposure"]["incoming"]
    assert (inc["category"], inc["share"], inc["min_hops"]) == ("fraud", 0.25, 2)
    [path] = inc["paths"]
    assert path["share"] == 0.25
    first, second = path["hops"]
    assert (first["from_address"], first["to_address"], first["share"]) == (L, A, 1.0)
    assert (second["from_address"], second["to_address"], second["share"]) == (A, B, 0.25)
    assert sorted(t["tx_id"] for t in first["transactions"]) == sorted(txs["LA"])
    assert [t["tx_id"] for t in second["transactions"]] == txs["AB"]
    assert first["transactions"][0]["amount"] == str(2 * 10**18)  # the larger transfer first
    [out] = body["exposure"]["outgoing"]
    assert (out["category"], out["share"], out["min_hops"]) == ("mixer", 0.5, 1)
    assert out["paths"][0]["hops"][0]["to_address"] == X

    r = app_client.get(f"/v1/addresses/eth/{L}", headers=keys.headers("supervisor"))
    assert r.status_code == 200
    listed = r.json()
    assert [x["case_number"] for x in listed["listings"]] == ["C-42"]
    assert listed["direct"][0]["category"] == "fraud" and listed["action"] == "review"


def test_bank_gets_categories_hops_and_shares_only(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    scored_world(engine, app_client, scoring)
    r = app_client.get(f"/v1/addresses/eth/{B}", headers=keys.headers("bank"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert "listings" not in body
    [inc] = body["exposure"]["incoming"]
    assert inc == {
        "category": "fraud",
        "share": 0.25,
        "min_hops": 2,
        "paths": [{"share": 0.25, "hop_shares": [1.0, 0.25]}],
    }
    text = r.text.lower()
    for secret in (L, A, X, "c-42", "c-43", "case", "tx_id"):
        assert secret not in text
    listed = app_client.get(f"/v1/addresses/eth/{L}", headers=keys.headers("bank")).json()
    assert listed["direct"][0]["category"] == "fraud"
    assert "c-42" not in orjson.dumps(listed).decode().lower()


def test_screening_carries_exposure(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    scored_world(engine, app_client, scoring)
    r = app_client.post("/v1/screen", json={"address": C, "chain": "eth"}, headers=keys.headers("bank"))
    assert r.status_code == 200, r.text
    body = r.json()
    # C received only from B, whose money is 1/4 fraud.
    assert body["exposure"]["incoming"] == [{"category": "fraud", "share": 0.25, "min_hops": 3}]
    assert body["direct"] == [] and body["action"] == "review"


def test_roles_and_bad_input(app_client: TestClient, engine: Engine, keys: Keys) -> None:
    assert app_client.get(f"/v1/addresses/eth/{B}").status_code == 401
    assert app_client.get(f"/v1/addresses/eth/{B}", headers=keys.headers("isp")).status_code == 403
    assert app_client.get(f"/v1/addresses/eth/{B}", headers=keys.headers("admin")).status_code == 403
    inv = keys.headers("investigator")
    r = app_client.get("/v1/addresses/eth/0x1234", headers=inv)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_address"
    r = app_client.get(f"/v1/addresses/dogecoin/{B}", headers=inv)
    assert r.status_code == 422
    # EIP-55 checksum failure: mixed case that is not the checksum.
    r = app_client.get("/v1/addresses/eth/0x52908400098527886E0F7030069857D2E4169Ee7", headers=inv)
    assert r.status_code == 422


def test_unknown_address_is_clean_not_404(app_client: TestClient, keys: Keys) -> None:
    r = app_client.get(f"/v1/addresses/bsc/{addr(999)}", headers=keys.headers("investigator"))
    assert r.status_code == 200
    body = r.json()
    assert body["risk_score"] == 0 and body["exposure"] == {"incoming": [], "outgoing": []}
    assert body["chain"] == "bsc" and body["family"] == "evm"


def test_paths_follow_the_scoring_rules(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    """No path through a licensed exchange, none through a listed address, dust ignored: the shares match."""
    ex, mixer = addr(70), addr(71)
    add_listing(engine, L, "fraud")
    add_listing(engine, mixer, "mixer")
    add_licensed(engine, ex)
    add_transfers(engine, [(L, ex, 5), (ex, A, 5)])  # through the exchange: stops there
    add_transfers(engine, [(L, mixer, 5), (mixer, A, 5)])  # through the listed mixer: a mixer source, no fraud
    add_transfers(engine, [(L, B, 10), (B, A, 10)])  # the one fraud path: A got 10 of 20, B's 10 are all fraud
    add_transfers(engine, [(L, A, 0.0001)])  # dust: not an edge
    rescore(engine, scoring, "t1")
    app_client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]
    body = app_client.get(f"/v1/addresses/eth/{A}", headers=keys.headers("investigator")).json()
    by_cat = {e["category"]: e for e in body["exposure"]["incoming"]}
    assert set(by_cat) == {"fraud", "mixer"}
    assert by_cat["fraud"]["share"] == 0.5 and by_cat["fraud"]["min_hops"] == 2
    [fraud] = by_cat["fraud"]["paths"]
    assert [(h["from_address"], h["to_address"]) for h in fraud["hops"]] == [(L, B), (B, A)]
    assert fraud["share"] == by_cat["fraud"]["share"]
    [mix] = by_cat["mixer"]["paths"]
    assert [(h["from_address"], h["to_address"], h["share"]) for h in mix["hops"]] == [(mixer, A, 0.25)]
    assert by_cat["mixer"]["share"] == 0.25
