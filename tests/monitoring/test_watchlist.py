"""Watchlists over HTTP: bulk adds (JSON and CSV), all or nothing, refs that are not personal data, paging,
export, removal, and each bank seeing only its own; the agency sees counts."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.monitoring.watchlist import check_ref, parse_csv, parse_json
from tests.monitoring.helpers import bank, watch
from tests.support.keys import Keys

EVM = ["0x" + f"{i:040x}" for i in range(1, 2001)]
BTC = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
TRON = "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"


def test_refs_are_ids_not_personal_data() -> None:
    for ok in ("C-000123", "cust.42", "a1b2c3d4e5f6", "acct:9/12#3", "1234567890", "12345678901"):
        assert check_ref(ok) is None, ok
    for bad, reason in [
        ("", "missing"),
        (None, "missing"),
        ("Ivan Petrov", "characters"),
        ("ivan@bank.kz", "characters"),
        ("-x", "characters"),
        ("x" * 65, "string_too_long"),
        ("880101300123", "personal_data"),  # 12 digits: an IIN
        ("4400430012345678", "personal_data"),  # a card number
        (42, "string_type"),
    ]:
        found = check_ref(bad)
        assert found is not None and found[0] == reason, (bad, found)


def test_parsing_is_all_or_nothing_with_positions() -> None:
    parsed = parse_json({"items": [{"address": EVM[0], "ref": "A"}, {"address": "0x12", "ref": "B"}]}, 10)
    assert parsed.total_errors == 1 and parsed.errors[0]["field"] == "items[1].address"
    assert parsed.errors[0]["reason"] == "length"
    assert parse_json({"items": [{"address": EVM[0], "ref": "A"}] * 11}, 10).too_many == 11
    assert parse_json({"items": [EVM[0], {"address": TRON}]}, 10, need_ref=False).total_errors == 0
    csv_errors = parse_csv(f"address,ref\n{EVM[0]},A\n{EVM[1]},Ivan Petrov\n".encode(), 10)
    assert [(e["line"], e["column"]) for e in csv_errors.errors] == [(3, "ref")]
    assert parse_csv(b"address,name\n", 10).errors[0]["column"] == "ref"
    assert parse_csv(b"ref,chain,address\r\nA,btc," + BTC.upper().encode() + b"\r\n", 10).items[0].address == BTC


def test_a_bank_watches_lists_exports_and_removes_its_own(client: TestClient, keys: Keys, engine: Engine) -> None:
    a, b = bank(keys, "Bank A"), bank(keys, "Bank B")
    first = watch(client, a, *[(x, f"C-{i}") for i, x in enumerate(EVM[:1500])])
    assert first == {"received": 1500, "added": 1500, "already_watched": 0, "removed": 0, "watched": 1500}
    again = watch(client, a, (EVM[0], "C-NEW"), (EVM[1500], "C-1500"), (EVM[1500], "C-1500b"))
    assert again == {"received": 3, "added": 1, "already_watched": 1, "removed": 0, "watched": 1501}

    rows = "address,chain,ref\n" + f"{TRON},tron,T-1\n{BTC},,B-1\n"
    r = client.post("/v1/watchlist/import", content=rows, headers={**a, "Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    r = client.post("/v1/watchlist/import", content=rows, headers={**a, "Content-Type": "application/json"})
    assert r.status_code == 415

    # all or nothing: one bad item, nothing changes, the errors name their places
    bad = {"items": [{"address": EVM[1600], "ref": "ok"}, {"address": EVM[1601], "ref": "880101300123"}]}
    r = client.post("/v1/watchlist", json=bad, headers=a)
    assert r.status_code == 422 and r.json()["error"]["details"]["errors"][0]["field"] == "items[1].ref", r.text
    r = client.post(
        "/v1/watchlist/import",
        content=f"address,ref\n{EVM[1600]},ok\nnot-an-address,x\n",
        headers={**a, "Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_csv"
    assert r.json()["error"]["details"]["errors"][0]["line"] == 3
    r = client.post("/v1/watchlist", content=b'{"items": [', headers=a)
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.post("/v1/watchlist", content=b'{"items": [{"address": "a\\u0000", "ref": "x"}]}', headers=a)
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "nul_character"

    # paging
    seen: list[str] = []
    after = 0
    while True:
        page = client.get("/v1/watchlist", params={"after_id": after, "limit": 1000}, headers=a).json()
        seen += [x["address"] for x in page["items"]]
        if page["next_after_id"] is None:
            break
        after = page["next_after_id"]
    assert len(seen) == 1503 and len(set(seen)) == 1503
    assert client.get("/v1/watchlist", headers=b).json() == {"items": [], "next_after_id": None}

    # export: CSV of the bank's own list, with the refs it gave
    r = client.get("/v1/watchlist/export", headers=a)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    exported = list(csv.DictReader(io.StringIO(r.text)))
    assert len(exported) == 1503
    by_address = {x["address"]: x for x in exported}
    assert by_address[EVM[0]]["ref"] == "C-NEW" and by_address[EVM[1500]]["ref"] == "C-1500b"
    assert by_address[TRON]["chain"] == "tron" and by_address[BTC]["chain"] == "btc"
    assert client.get("/v1/watchlist/export", headers=b).text.strip() == "address,chain,ref,added_at"

    # removal: bulk and by id; another bank cannot remove or see A's rows
    r = client.post("/v1/watchlist/remove", json={"items": [EVM[0], {"address": TRON}]}, headers=a)
    assert r.json()["removed"] == 2 and r.json()["watched"] == 1501
    one = client.get("/v1/watchlist", params={"limit": 1}, headers=a).json()["items"][0]
    assert client.delete(f"/v1/watchlist/{one['id']}", headers=b).status_code == 404
    assert client.delete(f"/v1/watchlist/{one['id']}", headers=a).status_code == 204
    assert client.delete(f"/v1/watchlist/{one['id']}", headers=a).status_code == 404

    # the agency: counts per bank, no addresses; banks and others cannot read them
    watch(client, b, (EVM[5], "B-1"))
    summary = client.get("/v1/monitoring/summary", headers=keys.headers("supervisor", holder="sup-1")).json()
    assert {x["bank"]: x["watched"] for x in summary["banks"]} == {"Bank A": 1500, "Bank B": 1}
    assert EVM[5] not in str(summary) and "B-1" not in str(summary)
    assert client.get("/v1/monitoring/summary", headers=keys.headers("admin")).status_code == 200
    assert client.get("/v1/monitoring/summary", headers=a).status_code == 403
    for path in ("/v1/watchlist", "/v1/alerts"):
        assert client.get(path, headers=keys.headers("supervisor", holder="sup-2")).status_code == 403
    audit = client.get("/v1/audit", params={"entity_type": "watchlist"}, headers=keys.headers("admin")).json()
    assert [e["action"] for e in audit][:2] == ["watchlist.add", "watchlist.add"]
    assert EVM[0] not in str(audit)

    # unknown fields and bodies of the wrong shape: 422, nothing changes
    for path in ("/v1/watchlist", "/v1/watchlist/remove"):
        r = client.post(path, json={"items": [], "extra": 1}, headers=a)
        assert r.status_code == 422 and r.json()["error"]["details"]["errors"][0]["reason"] == "extra_forbidden"
        assert client.post(path, json=[1, 2], headers=a).status_code == 422

    # 100,000 addresses in one call: past the general 4 MiB body limit, under the CSV one
    c = bank(keys, "Bank C")
    items = [{"address": "0x" + f"{i:040x}", "ref": f"C-{i}"} for i in range(100_000)]
    r = client.post("/v1/watchlist", json={"items": items}, headers=c)
    assert r.status_code == 200 and r.json()["watched"] == 100_000, r.text[:500]
    r = client.post("/v1/watchlist", json={"items": [*items, {"address": EVM[0], "ref": "x"}]}, headers=c)
    assert r.status_code == 413 and r.json()["error"]["details"]["max_batch"] == 100_000

    webhook_access(client, keys)


def webhook_access(client: TestClient, keys: Keys) -> None:
    """Who may register a webhook (the bank, for itself), what a bad URL gets, what the audit keeps."""
    a = bank(keys, "Bank W")
    for url, reason in [
        ("ftp://bank.example/hook", "url_scheme"),
        ("file:///etc/passwd", "url_scheme"),
        ("https://user:pw@bank.example/hook", "url_credentials"),
        ("https:///nohost", "url_host"),
    ]:
        r = client.post("/v1/webhooks", json={"url": url}, headers=a)
        assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == reason, (url, r.text)
    for role in ("supervisor", "admin", "investigator", "isp"):
        r = client.post(
            "/v1/webhooks", json={"url": "https://bank.example/h"}, headers=keys.headers(role, holder=f"{role}-1")
        )
        assert r.status_code == 403, role
    assert client.get("/v1/webhooks", headers=a).status_code == 404
    r = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h"}, headers=a)
    secret = r.json()["secret"]
    r2 = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:10/h"}, headers=a)
    assert r2.status_code == 201 and r2.json()["secret"] is None and r2.json()["url"].endswith(":10/h")
    assert client.get("/v1/webhooks", headers=bank(keys, "Bank X")).status_code == 404  # per bank
    audit = client.get("/v1/audit", params={"entity_type": "webhook_endpoint"}, headers=keys.headers("admin")).json()
    assert [e["action"] for e in audit] == ["webhook.create", "webhook.update"]
    assert secret not in str(audit) and secret[6:20] not in str(audit)  # a fingerprint, never the secret
    assert client.delete("/v1/webhooks", headers=a).json() == {"alerts_left_for_pull": 0}
    assert client.get("/v1/webhooks", headers=a).status_code == 404
