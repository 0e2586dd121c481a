"""Follow the money over HTTP on the hand-computed graph of ``world.py``: traces, paths, destinations,
counterparties, and listing what was found (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from tests.investigations.world import (
    A_SENT_USD,
    C_SHARE,
    D_SHARE,
    ETH,
    TOKEN,
    USDT,
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    L,
    M,
    X,
    build,
)
from tests.support.keys import Keys


def refresh(client: TestClient) -> None:
    client.app.state.ctx.snapshot.refresh(force=True)  # type: ignore[attr-defined]


@pytest.fixture
def world(app_client: TestClient, engine: Engine) -> dict[str, list[str]]:
    txs = build(engine)
    refresh(app_client)
    return txs


def by_address(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {x["address"]: x for x in items}


def test_trace_forward_backward_and_paths(
    app_client: TestClient, engine: Engine, keys: Keys, world: dict[str, list[str]], scoring: ScoringSettings
) -> None:
    inv = keys.headers("investigator")
    r = app_client.get(f"/v1/addresses/eth/{L}/trace?direction=forward&hops=3&min_share=0", headers=inv)
    assert r.status_code == 200, r.text
    body = r.json()
    nodes = by_address(body["nodes"])
    assert body["nodes"][0]["address"] == L and nodes[L]["hops"] == 0 and nodes[L]["share"] == 1.0
    expected = {A: (0.6, 1), B: (0.3, 1), X: (0.1, 1), C: (C_SHARE, 2), D: (D_SHARE, 2), M: (0.225, 2), G: (C_SHARE, 3)}
    assert set(nodes) == {L, *expected}  # E behind the licensed exchange, F behind the listed mixer, H dust: absent
    for address, (share, hops) in expected.items():
        assert nodes[address]["share"] == pytest.approx(share, abs=1e-6), address
        assert nodes[address]["hops"] == hops, address
    assert nodes[X]["licensed"] and nodes[X]["entity"]["name"] == "Licensed Exchange KZ" and not nodes[X]["expanded"]
    assert nodes[M]["listed"] == ["mixer"] and not nodes[M]["expanded"]
    assert nodes[L]["listed"] == ["fraud"]
    assert body["total"] == pytest.approx(10 * 3000.0)  # L sent 10 ETH at 3,000
    assert nodes[A]["value"] == pytest.approx(0.6 * 30_000)
    edges = {(e["from"], e["to"]): e for e in body["edges"]}
    assert edges[(L, A)]["transfers"] == 2 and edges[(L, A)]["value"] == pytest.approx(18_000)
    assert edges[(B, C)]["share"] == pytest.approx(0.075, abs=1e-6) and edges[(B, C)]["hop_share"] == 0.25
    assert edges[(D, L)]["share"] == pytest.approx(D_SHARE, abs=1e-6)  # money back to the origin, where it stops
    assert body["returned"] == pytest.approx(D_SHARE, abs=1e-6)
    for address, node in nodes.items():  # a node's share is what its edges bring in
        if address != L:
            brought = sum(e["share"] for e in body["edges"] if e["to"] == address)
            assert brought == pytest.approx(node["share"], abs=1e-5), address
    # One more hop: L is listed, so the money D sent back does not go round again.
    deeper = by_address(app_client.get(f"/v1/addresses/eth/{L}/trace?hops=4&min_share=0", headers=inv).json()["nodes"])
    assert deeper[A]["share"] == pytest.approx(0.6, abs=1e-6) and E not in deeper and F not in deeper
    # The scoring agrees: L's outgoing exposure to the mixer category is the share that reached M.
    rescore(engine, scoring, "t1")
    refresh(app_client)
    view = app_client.get(f"/v1/addresses/eth/{L}", headers=inv).json()
    out = {e["category"]: e for e in view["exposure"]["outgoing"]}
    assert out["mixer"]["share"] == pytest.approx(nodes[M]["share"], abs=1e-6)
    assert out["fraud"]["share"] == pytest.approx(body["returned"], abs=1e-6)  # L is a fraud address itself
    # min_share and limit cut the answer, and say so.
    small = app_client.get(f"/v1/addresses/eth/{L}/trace?min_share=0.25&limit=3", headers=inv).json()
    assert [n["address"] for n in small["nodes"]] == [L, A, *sorted([C, G])[:1]]
    assert small["truncated"] is True
    assert all(e["from"] in {L, A, C, G} and e["to"] in {L, A, C, G} for e in small["edges"])

    # Backward, and the paths with their transactions.
    sup = keys.headers("supervisor")
    body = app_client.get(f"/v1/addresses/eth/{G}/trace?direction=backward&hops=3&min_share=0", headers=sup).json()
    nodes = by_address(body["nodes"])
    # G got everything from C; C got 12,100 USD from A and 3,000 from B; A and B got theirs from L alone.
    c_from_a = 12_100 / 15_100
    expected = {C: (1.0, 1), A: (c_from_a, 2), B: (1 - c_from_a, 2), L: (1.0, 3)}
    assert set(nodes) == {G, *expected}
    for address, (share, hops) in expected.items():
        assert nodes[address]["share"] == pytest.approx(share, abs=1e-6), address
        assert nodes[address]["hops"] == hops, address

    r = app_client.get(f"/v1/addresses/eth/{G}/paths?category=fraud&max_hops=4", headers=sup)
    assert r.status_code == 200, r.text
    paths = r.json()["paths"]
    assert [[(h["from"], h["to"]) for h in p["hops"]] for p in paths] == [
        [(L, A), (A, C), (C, G)],
        [(L, B), (B, C), (C, G)],
    ]
    assert [p["direction"] for p in paths] == ["incoming", "incoming"] and paths[0]["category"] == "fraud"
    assert paths[0]["share"] == pytest.approx(c_from_a, abs=1e-6)
    assert paths[1]["share"] == pytest.approx(1 - c_from_a, abs=1e-6)
    first = paths[0]["hops"][0]
    assert sorted(t["tx_id"] for t in first["transactions"]) == sorted(world["LA"])
    big = first["transactions"][0]  # the largest first
    assert big["amount"] == {
        "network": "eth",
        "asset": "native",
        "symbol": "ETH",
        "decimals": 18,
        "amount": "4",
        "raw": str(4 * ETH),
        "value": pytest.approx(12_000.0),
    }
    assert big["position"] == {"kind": "call", "index": None} and big["block_time"].startswith("2026-03-01T12:00")
    usdt = [t for t in paths[0]["hops"][1]["transactions"] if t["amount"]["asset"] == USDT]
    assert usdt[0]["amount"]["amount"] == "100" and usdt[0]["amount"]["symbol"] == "USDT"
    assert usdt[0]["position"] == {"kind": "log", "index": 3}

    # Between two addresses: the money went L -> … -> G (outgoing from L), two ways.
    to = app_client.get(f"/v1/addresses/eth/{L}/paths?to={G}", headers=sup).json()["paths"]
    assert [(p["direction"], [h["to"] for h in p["hops"]]) for p in to] == [
        ("outgoing", [A, C, G]),
        ("outgoing", [B, C, G]),
    ]
    assert to[0]["share"] == pytest.approx(0.6 * 12_100 / A_SENT_USD, abs=1e-6)
    assert to[0]["category"] is None
    bad = app_client.get(f"/v1/addresses/eth/{L}/paths", headers=sup)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "to"
    bad = app_client.get(f"/v1/addresses/eth/{L}/paths?category=nonsense", headers=sup)
    assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "category"
    bad = app_client.get(f"/v1/addresses/eth/{L}/paths?to=0x1234", headers=sup)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_address"


def test_counterparties_totals_sort_pages_and_human_amounts(
    app_client: TestClient, keys: Keys, world: dict[str, list[str]]
) -> None:
    inv = keys.headers("investigator")
    url = f"/v1/addresses/eth/{A}/counterparties"
    r = app_client.get(url, headers=inv)
    assert r.status_code == 200, r.text
    body = r.json()
    # In: L (6 ETH in two transfers). Out: C (4 ETH + 100 USDT), D (2 ETH + the unknown token twice), H (dust).
    # Not A itself (a self-transfer is no counterparty).
    assert body["total"] == 4 and body["next"] is None
    assert [(x["address"], x["direction"]) for x in body["items"]] == [(L, "in"), (C, "out"), (D, "out"), (H, "out")]
    items = by_address(body["items"])
    assert items[L]["value"] == pytest.approx(18_000) and items[L]["transfers"] == 2
    assert items[L]["amounts"] == [
        {"network": "eth", "asset": "native", "symbol": "ETH", "decimals": 18, "amount": "6", "raw": str(6 * ETH),
         "value": pytest.approx(18_000.0)}
    ]  # fmt: skip
    assert items[L]["first_seen"].startswith("2026-03-01") and items[L]["last_seen"].startswith("2026-03-02")
    assert items[L]["listing"] == {"categories": ["fraud"], "status": "active"}
    assert items[L]["risk"]["action"] == "review" and items[L]["risk"]["level"] == "high"
    c_amounts = {a["asset"]: a for a in items[C]["amounts"]}
    assert c_amounts[USDT]["amount"] == "100" and c_amounts[USDT]["raw"] == "100000000"
    assert items[C]["value"] == pytest.approx(12_100) and items[C]["transfers"] == 2
    assert [a["asset"] for a in items[C]["amounts"]] == ["native", USDT]  # largest value first
    token = {a["asset"]: a for a in items[D]["amounts"]}[TOKEN]
    # Unknown token: no symbol, no decimals, the raw amount, exact past 2**64 (SQLite sums it in slices).
    assert token == {"network": "eth", "asset": TOKEN, "symbol": None, "decimals": None,
                     "amount": str(2 * 10**30), "raw": str(2 * 10**30), "value": 0.0}  # fmt: skip
    assert items[D]["transfers"] == 3 and items[D]["last_seen"].startswith("2026-03-04")  # unknown time ignored
    assert items[H]["amounts"][0]["amount"] == "0.0001" and items[H]["value"] == pytest.approx(0.3)
    assert items[L]["entity"] is None

    # Pages of two by count, then by first seen ascending.
    page1 = app_client.get(url + "?sort=count&limit=2", headers=inv).json()
    assert [x["address"] for x in page1["items"]] == [D, L] and page1["total"] == 4  # L before C: a tie, by address
    page2 = app_client.get(url + f"?sort=count&limit=2&after={page1['next']}", headers=inv).json()
    assert [x["address"] for x in page2["items"]] == [C, H] and page2["next"] is None
    early = app_client.get(url + "?sort=first_seen&order=asc&direction=out", headers=inv).json()
    assert [x["address"] for x in early["items"]] == [C, D, H] and early["total"] == 3
    mismatch = app_client.get(url + f"?sort=value&limit=2&after={page1['next']}", headers=inv)
    assert mismatch.status_code == 422 and mismatch.json()["error"]["details"]["reason"] == "cursor_mismatch"
    assert app_client.get(url + "?after=garbage", headers=inv).status_code == 422
    # L's payees name the entity behind the exchange's address.
    ex = by_address(app_client.get(f"/v1/addresses/eth/{L}/counterparties?direction=out", headers=inv).json()["items"])
    assert set(ex) == {A, B, X}
    entity = ex[X]["entity"]
    assert (entity["name"], entity["kind"], entity["licensed"]) == ("Licensed Exchange KZ", "exchange", True)

    # An address nothing moved through: itself, no edges, nothing to rank; on any EVM network.
    nobody = "0x" + "77" * 20
    empty = app_client.get(f"/v1/addresses/bsc/{nobody}/trace", headers=inv).json()
    assert [n["address"] for n in empty["nodes"]] == [nobody] and empty["edges"] == [] and empty["total"] == 0
    assert empty["chain"] == "bsc"
    assert app_client.get(f"/v1/addresses/bsc/{nobody}/destinations", headers=inv).json()["items"] == []
    assert app_client.get(f"/v1/addresses/bsc/{nobody}/counterparties", headers=inv).json()["total"] == 0
    assert by_address(app_client.get(f"/v1/addresses/bsc/{L}/counterparties", headers=inv).json()["items"])[A]

    # Who may follow the money: investigators and supervisors; banks and ISPs get 403; bad addresses a clear 422.
    urls = [
        f"/v1/addresses/eth/{L}/counterparties",
        f"/v1/addresses/eth/{L}/trace",
        f"/v1/addresses/eth/{L}/paths?to={A}",
        f"/v1/addresses/eth/{L}/destinations",
    ]
    for role in ("bank", "isp"):
        h = keys.headers(role)
        for u in urls:
            assert app_client.get(u, headers=h).status_code == 403, (role, u)
        assert app_client.post("/v1/cases/1/candidates", json={}, headers=h).status_code == 403
    # submitting is an investigator's act (as a listing is); supervisors approve
    assert app_client.post("/v1/cases/1/candidates", json={}, headers=keys.headers("supervisor")).status_code == 403
    for u in urls:
        bad = app_client.get(u.replace(L, "0x52908400098527886E0F7030069857D2E4169Ee7"), headers=inv)
        assert bad.status_code == 422 and bad.json()["error"]["details"]["reason"] == "checksum", u
        chain = app_client.get(u.replace("/eth/", "/dogecoin/"), headers=inv)
        assert chain.status_code == 422 and chain.json()["error"]["details"]["reason"] == "chain", u
    assert app_client.get(f"/v1/addresses/eth/{L}/trace?hops=7", headers=inv).status_code == 422


def test_where_did_it_go_and_list_the_candidates(
    app_client: TestClient, engine: Engine, keys: Keys, world: dict[str, list[str]]
) -> None:
    inv = keys.headers("investigator", holder="Aigerim Investigator")
    sup1 = keys.headers("supervisor", holder="Supervisor One")
    sup2 = keys.headers("supervisor", holder="Supervisor Two")
    r = app_client.get(f"/v1/addresses/eth/{L}/destinations?hops=3", headers=inv)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    shares = [(x["address"], round(x["share"], 6)) for x in items]
    expected = sorted(
        [(A, 0.6), (B, 0.3), (X, 0.1), (C, C_SHARE), (D, D_SHARE), (M, 0.225), (G, C_SHARE)],
        key=lambda x: (-round(x[1], 6), x[0]),
    )
    assert shares == [(a, round(s, 6)) for a, s in expected]
    assert [x["rank"] for x in items] == list(range(1, 8))
    cand = {x["address"]: x["candidate"] for x in items}
    assert cand == {A: True, B: True, C: True, D: True, G: True, X: False, M: False}
    assert by_address(items)[X]["licensed"] and by_address(items)[M]["listed"] == ["mixer"]

    case = app_client.post("/v1/cases", json={"number": "MOP-1", "title": "Mop network"}, headers=inv).json()
    body = {
        "chain": "eth",
        "addresses": [C, D.upper().replace("0X", "0x")],
        "reason": "received most of the fraud proceeds within two hops",
        "derived_from": {"chain": "eth", "address": L},
    }
    # All or nothing: one bad address, nothing is listed; a licensed exchange is refused.
    bad = app_client.post(f"/v1/cases/{case['id']}/candidates", json={**body, "addresses": [C, "0x1234"]}, headers=inv)
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"]["errors"][0]["field"] == "addresses[1]"
    lic = app_client.post(f"/v1/cases/{case['id']}/candidates", json={**body, "addresses": [C, X]}, headers=inv)
    assert lic.status_code == 409 and lic.json()["error"]["code"] == "licensed_entity"
    assert app_client.get(f"/v1/cases/{case['id']}", headers=inv).json()["listings"] == []

    r = app_client.post(f"/v1/cases/{case['id']}/candidates", json=body, headers=inv)
    assert r.status_code == 201, r.text
    listings = r.json()["listings"]
    assert [(x["address"], x["category"], x["confidence"], x["status"]) for x in listings] == [
        (C, "money_mule", 10, "pending"),
        (D, "money_mule", 10, "pending"),
    ]
    assert listings[0]["submitted_holder"] == "aigerim investigator" and L in listings[0]["evidence_note"]
    again = app_client.post(f"/v1/cases/{case['id']}/candidates", json=body, headers=inv)
    assert again.status_code == 409  # already pending in this case
    # Only investigators submit (supervisors decide); the submitter holding a supervisor key too cannot approve
    # what they submitted (the holder compared normalised); another supervisor can.
    more = {**body, "addresses": [G], "confidence": "operational_information"}
    assert app_client.post(f"/v1/cases/{case['id']}/candidates", json=more, headers=sup1).status_code == 403
    own = app_client.post(f"/v1/cases/{case['id']}/candidates", json=more, headers=inv)
    assert own.status_code == 201 and own.json()["listings"][0]["confidence"] == 40
    gid = own.json()["listings"][0]["id"]
    same_person = keys.headers("supervisor", holder="  AIGERIM   Investigator")
    refused = app_client.post(f"/v1/listings/{gid}/approve", json={}, headers=same_person)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "four_eyes"
    assert app_client.post(f"/v1/listings/{gid}/approve", json={}, headers=sup2).status_code == 200
    assert app_client.post(f"/v1/listings/{listings[0]['id']}/approve", json={}, headers=sup1).status_code == 200
    audit = app_client.get("/v1/audit?limit=1000&entity_type=listing", headers=keys.headers("admin")).json()
    submitted = [e for e in audit if e["action"] == "listing.submit"]
    assert len(submitted) == 3  # one event per listing (the refused attempts left none)
    refresh(app_client)
    after = by_address(app_client.get(f"/v1/addresses/eth/{L}/destinations", headers=inv).json()["items"])
    assert after[C]["listed"] == ["money_mule"] and after[C]["candidate"] is False

    # An investigator outside the case gets 403 (404 for a secret case), as the cases feature answers.
    owner = keys.headers("investigator", holder="Case Owner")
    open_case = app_client.post("/v1/cases", json={"number": "OPEN-1", "title": "t"}, headers=owner).json()
    secret = app_client.post("/v1/cases", json={"number": "SEC-1", "title": "t", "secrecy": "secret"}, headers=owner)
    other = {"chain": "eth", "addresses": [A], "reason": "r", "derived_from": {"chain": "eth", "address": L}}
    outsider = app_client.post(f"/v1/cases/{open_case['id']}/candidates", json=other, headers=inv)
    assert outsider.status_code == 403
    hidden = app_client.post(f"/v1/cases/{secret.json()['id']}/candidates", json=other, headers=inv)
    assert hidden.status_code == 404
    weak = app_client.post(
        f"/v1/cases/{open_case['id']}/candidates", json={**other, "confidence": "hunch"}, headers=owner
    )
    assert weak.status_code == 422
