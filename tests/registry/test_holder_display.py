"""Persons by name as written: a key keeps its holder normalised (four eyes compares that) and as given, case kept
(people read that). Lists, decision requests, the evidence pack and the console show the name; the fields clients
compare keep the normalised person; a second key spelled "БОРИС КИМ" is still the same person for four eyes."""

from __future__ import annotations

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.auth.persons import display_holder, normalize_holder, pick_display_names
from registry.auth.service import display_names
from registry.db.engine import session_scope
from tests.console.helpers import signed_in
from tests.registry.helpers import approve, new_case, screen_until_version, submit
from tests.support.keys import Keys

WALLET = "0x" + "4d" * 20
OTHER = "0x" + "4e" * 20


def test_the_display_form_keeps_the_case_and_nothing_else() -> None:
    assert display_holder("  Борис\u00a0 Ким ") == "Борис Ким"
    assert display_holder("Ａｌｉｃｅ  Smith") == "Alice Smith"  # NFKC, as the normalised form
    assert display_holder("   ") is None and display_holder(None) is None
    assert normalize_holder(display_holder("БОРИС  КИМ")) == normalize_holder("Борис Ким") == "борис ким"


def test_the_newest_key_names_the_person_and_an_unknown_one_reads_as_itself() -> None:
    known = [("борис ким", "Борис Ким"), ("alice smith", "Alice Smith"), ("борис ким", "Борис КИМ")]
    assert pick_display_names({"борис ким", "alice smith", "nobody"}, known) == {
        "борис ким": "Борис КИМ",
        "alice smith": "Alice Smith",
        "nobody": "nobody",
    }


def test_display_names_come_from_the_most_recent_key_in_one_lookup(engine: Engine, keys: Keys) -> None:
    keys.create("investigator", holder="Alice  Smith")
    keys.create("supervisor", holder="alice smith")  # a later key of the same person, spelled otherwise
    keys.create("supervisor", holder="Борис Ким")
    with session_scope(engine) as s:
        names = display_names(s, ["alice smith", "борис ким", "БОРИС КИМ", "nobody", None])
    assert names == {
        "alice smith": "alice smith",
        "борис ким": "Борис Ким",
        "БОРИС КИМ": "Борис Ким",
        "nobody": "nobody",
    }


def test_people_read_names_as_written_and_four_eyes_still_compares_persons(
    app_client: TestClient, engine: Engine, keys: Keys
) -> None:
    inv = keys.headers("investigator", holder="Alice  Smith")
    sup_key = keys.create("supervisor", holder="Борис Ким")
    sup = {"Authorization": f"Bearer {sup_key}"}
    case = new_case(app_client, inv, title="Shadow exchanger")
    listing = submit(app_client, inv, case["id"], WALLET)
    assert (listing["submitted_holder"], listing["submitted_holder_name"]) == ("alice smith", "Alice Smith")
    waiting = submit(app_client, inv, case["id"], OTHER)

    [queued] = [x for x in app_client.get("/v1/listings/pending", headers=sup).json() if x["id"] == waiting["id"]]
    assert queued["submitted_holder_name"] == "Alice Smith"
    decided = approve(app_client, sup, listing["id"])
    assert (decided["decided_holder"], decided["decided_holder_name"]) == ("борис ким", "Борис Ким")

    # The API: the normalised person where clients compare, the name beside it.
    body = app_client.get(f"/v1/cases/{case['id']}", headers=inv).json()
    [member] = body["members"]
    assert (member["person"], member["person_name"]) == ("alice smith", "Alice Smith")
    [x] = [x for x in body["listings"] if x["id"] == listing["id"]]
    assert (x["submitted_holder"], x["decided_holder"]) == ("alice smith", "борис ким")
    assert (x["submitted_holder_name"], x["decided_holder_name"]) == ("Alice Smith", "Борис Ким")

    # The evidence pack: JSON keeps the persons normalised and adds their names; the CSV carries the names too.
    bank = keys.headers("bank")
    screen_until_version(app_client, bank, WALLET, int(decided["registry_version"]))
    r = app_client.get(f"/v1/addresses/eth/{WALLET}/evidence", params={"format": "json"}, headers=sup)
    assert r.status_code == 200, r.text
    c = json.loads(r.content)["content"]
    assert c["generated"]["for"]["person"] == "борис ким" and c["generated"]["for"]["person_name"] == "Борис Ким"
    [p] = c["listings"]
    assert (p["submitted_by"], p["decided_by"]) == ("alice smith", "борис ким")
    assert (p["submitted_by_name"], p["decided_by_name"]) == ("Alice Smith", "Борис Ким")
    rows = list(csv.reader(io.StringIO(app_client.get(f"/v1/addresses/eth/{WALLET}/evidence?format=csv",
                                                      headers=sup).text)))  # fmt: skip
    assert ["generated_for_name", "Борис Ким"] in rows
    header = rows[rows.index(["listings"]) + 1]
    [line] = [row for row in rows[rows.index(["listings"]) + 2 :] if len(row) == len(header)][:1]
    named = dict(zip(header, line, strict=True))
    assert (named["submitted_by"], named["submitted_by_name"]) == ("alice smith", "Alice Smith")
    assert named["decided_by_name"] == "Борис Ким"

    # A delisting request names its asker.
    asked = app_client.post(f"/v1/listings/{listing['id']}/delist", json={"reason": "court order"}, headers=sup)
    assert asked.status_code == 202, asked.text
    assert (asked.json()["requested_holder"], asked.json()["requested_holder_name"]) == ("борис ким", "Борис Ким")
    [req] = app_client.get("/v1/requests", headers=sup).json()
    assert req["requested_holder_name"] == "Борис Ким"
    # Exchanger domains name their persons the same way, one at a time and in the queue.
    domain = app_client.post(
        f"/v1/cases/{case['id']}/domains",
        json={"domain": "obmen-usdt-almaty.com", "legal_basis": "Art. 218 CC"},
        headers=inv,
    )
    assert domain.status_code == 201, domain.text
    assert (domain.json()["submitted_holder"], domain.json()["submitted_holder_name"]) == ("alice smith", "Alice Smith")
    judged = app_client.post(f"/v1/domains/{domain.json()['id']}/approve", json={}, headers=sup)
    assert judged.status_code == 200, judged.text
    assert judged.json()["decided_holder_name"] == "Борис Ким"
    [listed] = [d for d in app_client.get("/v1/domains", headers=sup).json() if d["id"] == domain.json()["id"]]
    assert (listed["submitted_holder_name"], listed["decided_holder_name"]) == ("Alice Smith", "Борис Ким")
    # So does every other route that opens a request (an entity's licensed mark here).
    entity = app_client.post("/v1/entities", json={"name": "Shadow OTC", "kind": "exchanger"}, headers=inv).json()
    mark = app_client.post(
        f"/v1/entities/{entity['id']}/licensed",
        json={"licensed": True, "licence_number": "AFSA-A-LA-2024-0027", "reason": "register entry"},
        headers=sup,
    )
    assert mark.status_code == 202, mark.text
    assert mark.json()["requested_holder_name"] == "Борис Ким"

    # The console: the signed-in person, the case page, the queue, the requests, the audit log.
    signed_in(app_client, sup_key)
    page = app_client.get(f"/console/cases/{case['id']}?lang=en")
    assert page.status_code == 200
    assert "Борис Ким" in page.text and "Alice Smith" in page.text
    assert "борис ким" not in page.text and "alice smith" not in page.text
    queue = app_client.get("/console/queue?lang=en").text
    assert "Alice Smith" in queue and "alice smith" not in queue
    requests = app_client.get("/console/requests?lang=en").text
    assert "<td>Борис Ким</td>" in requests and "борис ким" not in requests
    audit = app_client.get("/console/audit", params={"person": "ALICE SMITH", "action": "listing."}).text
    assert "<td>Alice Smith</td>" in audit
    app_client.cookies.clear()

    # A second key of the same person, spelled in capitals, is the same person for four eyes.
    same = keys.headers("investigator", holder="БОРИС КИМ")
    own = new_case(app_client, same, title="own case")
    mine = submit(app_client, same, own["id"], OTHER)
    assert mine["submitted_holder"] == "борис ким"
    refused = app_client.post(f"/v1/listings/{mine['id']}/approve", json={}, headers=sup)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "four_eyes"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the command line, not the database
def test_keys_create_stores_both_forms(engine: Engine, keys: Keys) -> None:
    from sqlmodel import select

    from registry.auth.tables import ApiKey

    keys.create("supervisor", holder=" Әлия  Сәрсенова ")
    with session_scope(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.holder == "әлия сәрсенова")).one()
        assert row.holder_display == "Әлия Сәрсенова"
