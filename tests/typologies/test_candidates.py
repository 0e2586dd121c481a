"""A case's candidates: flagged addresses linked by flow to the case's addresses, ranked with the evidence; accepting
one (the investigations API's POST on the same path) lists it pending as money_mule, heuristic, for a second person."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.scoring.rescore import rescore
from registry.scoring.settings import ScoringSettings
from tests.registry.helpers import new_case, submit
from tests.support.keys import Keys
from tests.typologies.factories import add_entity, add_timed, addr

SOURCE, M1, RELAY, M2, EXCHANGE, PLAIN, LONER = (addr(n) for n in (1, 10, 20, 30, 40, 50, 60))


def _mop_edges(mop: str, first_victim: int, start: float) -> list[tuple[str, str, float, float]]:
    edges = [(addr(first_victim + i), mop, 400.0 + i, start + i) for i in range(6)]
    return edges


def _world(engine: Engine) -> None:
    """SOURCE (the case's listed wallet) pays M1 1,000 directly and RELAY 1,000, which pays M2; both mops also get
    six victims' money and pass everything on within hours. SOURCE also pays the licensed EXCHANGE 2,000 and an
    ordinary PLAIN 500 (kept). LONER is a mop nobody in the case paid."""
    edges = [
        (SOURCE, M1, 1000.0, 0.0),
        (SOURCE, RELAY, 1000.0, 0.0),
        (SOURCE, EXCHANGE, 2000.0, 0.0),
        (SOURCE, PLAIN, 500.0, 0.0),
        (RELAY, M2, 990.0, 2.0),
        (addr(70), RELAY, 5.0, 1.0),
    ]
    for mop, first in ((M1, 100), (M2, 200), (LONER, 300)):
        edges += _mop_edges(mop, first, 3.0)
        received = sum(e[2] for e in edges if e[1] == mop)
        edges.append((mop, addr(900), round(received * 0.99, 2), 12.0))
    add_timed(engine, edges)
    add_entity(engine, EXCHANGE, kind="exchange", licensed=True, name="Licensed Exchange")


def test_candidates_ranked_with_evidence_and_accepted_for_four_eyes(
    app_client: TestClient, engine: Engine, keys: Keys, scoring: ScoringSettings
) -> None:
    inv = keys.headers("investigator", holder="Dana Investigator")
    case = new_case(app_client, inv)
    listing = submit(app_client, inv, case["id"], SOURCE, category="fraud")
    _world(engine)
    rescore(engine, scoring, "t")
    app_client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]

    r = app_client.get(f"/v1/cases/{case['id']}/candidates", headers=inv)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["seeds"] == 1 and body["hops"] == 3
    assert [c["address"] for c in body["items"]] == [M1, M2]  # no LONER (unlinked), EXCHANGE, PLAIN or SOURCE
    first, second = body["items"]
    assert (first["rank"], second["rank"]) == (1, 2)
    [link] = first["links"]
    # SOURCE sent 1,000 of its 4,500 to M1 directly: a share of 2/9 at one hop.
    assert (link["case_address"], link["direction"], link["hops"], link["share"]) == (SOURCE, "forward", 1, 0.222222)
    assert link["path"] == [{"from_address": SOURCE, "to_address": M1, "share": 0.222222}]
    # M2: 1,000 of 4,500 to RELAY, which passed 990 of 990 on: 2/9 again, at two hops, ranked after the direct one.
    [link2] = second["links"]
    assert link2["hops"] == 2 and link2["share"] == 0.222222
    assert [h["to_address"] for h in link2["path"]] == [RELAY, M2]
    assert first["typologies"] == ["mop_passthrough"] and first["red_flags"][0]["indicators"]
    assert first["indicators"]["senders"]["value"] == 7 and first["score"] == 0.222222

    other = keys.headers("investigator", holder="Not A Member")
    assert app_client.get(f"/v1/cases/{case['id']}/candidates", headers=other).status_code == 403
    assert app_client.get(f"/v1/cases/{case['id']}/candidates", headers=keys.headers("bank")).status_code == 403
    sup = keys.headers("supervisor", holder="Erlan Supervisor")
    assert app_client.get(f"/v1/cases/{case['id']}/candidates", headers=sup).status_code == 200

    accept = first["accept"]
    assert accept["body"]["category"] == "money_mule" and accept["body"]["confidence"] == "heuristic"
    r = app_client.post(accept["path"], json=accept["body"], headers=inv)
    assert r.status_code == 201, r.text
    [pending] = r.json()["listings"]
    assert (pending["address"], pending["status"], pending["category"], pending["confidence"]) == (
        M1,
        "pending",
        "money_mule",
        10,
    )
    # Four eyes: the same person as a supervisor may not approve it; another supervisor may.
    same = keys.headers("supervisor", holder="Dana Investigator")
    refused = app_client.post(f"/v1/listings/{pending['id']}/approve", json={}, headers=same)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "four_eyes"
    assert app_client.post(f"/v1/listings/{pending['id']}/approve", json={}, headers=sup).status_code == 200
    # Listed in the case now: no longer offered.
    again = app_client.get(f"/v1/cases/{case['id']}/candidates", headers=inv).json()
    assert [c["address"] for c in again["items"]] == [M2]
    assert listing["status"] == "pending"  # the source was only submitted: pending listings are traced too
