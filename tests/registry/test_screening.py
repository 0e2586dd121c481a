"""Screening over the API: result shape, compartmentalisation, batches, logging, hostile input."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.registry.helpers import approve, new_case, screen_until_version, submit
from tests.support.keys import Keys

LISTED = "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"
FIELDS = {
    "address",
    "chain",
    "risk_score",
    "risk_level",
    "action",
    "direct",
    "exposure",
    "red_flags",
    "policy_version",
    "registry_version",
    "screened_at",
}


def _listed(app_client: TestClient, keys: Keys, address: str = LISTED, **kw: object) -> tuple[dict[str, str], int]:
    inv, sup, bank = keys.headers("investigator"), keys.headers("supervisor"), keys.headers("bank")
    case = new_case(app_client, inv, number="SECRET-CASE-77", title="Operation Steppe")
    listing = submit(app_client, inv, case["id"], address, evidence_note="informant R. told us", **kw)
    version = approve(app_client, sup, listing["id"])["registry_version"]
    return bank, version


def test_result_shape_and_no_case_data(app_client: TestClient, keys: Keys) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    bank, version = _listed(app_client, keys, category="terrorist_financing", confidence=100)
    after = datetime.now(UTC)
    r = screen_until_version(app_client, bank, LISTED, version)
    assert set(r) == FIELDS
    # terrorist_financing is severity severe (100) with mandated action block (the taxonomy in the README).
    assert r["chain"] == "tron" and r["risk_score"] == 100
    assert r["risk_level"] == "severe" and r["action"] == "block"
    [direct] = r["direct"]
    listed_since = direct.pop("listed_since")
    assert direct == {"category": "terrorist_financing", "source": "fiu", "confidence": 100}
    # The approval time, as UTC with a Z, taken by the test's own clock around the approval.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", listed_since), listed_since
    assert before <= datetime.fromisoformat(listed_since.replace("Z", "+00:00")) <= after
    assert r["exposure"] == {"incoming": [], "outgoing": []}
    raw = app_client.post("/v1/screen", json={"address": LISTED}, headers=bank).text
    for secret in ("SECRET-CASE-77", "Steppe", "informant", "Criminal Procedure", "case", "evidence", "submitted"):
        assert secret not in raw


def test_unlisted_address_is_clean(app_client: TestClient, keys: Keys) -> None:
    bank = keys.headers("bank")
    r = app_client.post("/v1/screen", json={"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}, headers=bank)
    assert r.status_code == 200
    body = r.json()
    assert (body["risk_score"], body["risk_level"], body["action"], body["direct"]) == (0, "low", "allow", [])


def test_evm_listing_covers_every_evm_network(app_client: TestClient, keys: Keys) -> None:
    addr = "0x2222222222222222222222222222222222222222"
    bank, version = _listed(app_client, keys, address=addr, chain="eth")
    for chain in ("eth", "bsc", "polygon", None):
        r = screen_until_version(app_client, bank, addr, version, chain=chain)
        assert r["direct"], chain
        assert r["chain"] == (chain or "evm")


def test_batch_keeps_input_order_with_per_item_errors(app_client: TestClient, keys: Keys) -> None:
    bank, version = _listed(app_client, keys)
    screen_until_version(app_client, bank, LISTED, version)
    items = [
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        LISTED,
        "0x8589427373d6D84e98730d7795d8f6f8731fda16",
        {"address": LISTED, "chain": "tron"},
        {"address": "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "chain": "doge"},
        42,
        {"address": LISTED, "colour": "red"},
    ]
    r = app_client.post("/v1/screen/batch", json={"addresses": items}, headers=bank)
    assert r.status_code == 200
    res = r.json()["results"]
    assert r.json()["count"] == len(items) == len(res)
    assert res[0]["action"] == "allow" and res[1]["action"] == "review" and res[3]["direct"]
    assert res[2]["error"]["reason"] == "checksum" and res[2]["index"] == 2
    assert res[4]["error"]["reason"] == "chain"
    assert res[5]["error"]["code"] == "invalid_input" and res[5]["index"] == 5
    assert res[6]["error"]["code"] == "invalid_input"


def test_batch_limit_and_shape(app_client: TestClient, keys: Keys) -> None:
    bank = keys.headers("bank")
    too_many = {"addresses": ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"] * 10_001}
    r = app_client.post("/v1/screen/batch", json=too_many, headers=bank)
    assert r.status_code == 413 and r.json()["error"]["details"]["max_batch"] == 10_000
    ok = app_client.post("/v1/screen/batch", json={"addresses": too_many["addresses"][:10_000]}, headers=bank)
    assert ok.status_code == 200 and ok.json()["count"] == 10_000
    for bad in ({"addresses": "x"}, {}, [], {"addresses": [], "more": 1}):
        r = app_client.post("/v1/screen/batch", json=bad, headers=bank)
        assert r.status_code == 422, bad


def test_hostile_single_requests(app_client: TestClient, keys: Keys) -> None:
    bank = keys.headers("bank")
    cases: list[tuple[bytes, int, str]] = [
        (b"{oops", 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b'"0xabc"', 422, "invalid_input"),
        (b'{"address": 5}', 422, "invalid_input"),
        (b'{"address": "0x1", "chain": 7}', 422, "invalid_input"),
        (b'{"address": "0x1", "extra": true}', 422, "invalid_input"),
        (b'{"address": "0x1234"}', 422, "invalid_address"),
        ('{"address": "0x\u0660\u0661"}'.encode(), 422, "invalid_address"),
        (b'{"address": "' + b"A" * 120 + b'"}', 422, "invalid_address"),
    ]
    for body, status, code in cases:
        r = app_client.post("/v1/screen", content=body, headers={**bank, "Content-Type": "application/json"})
        assert r.status_code == status, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)


def test_oversized_body_is_413(app_client: TestClient, keys: Keys) -> None:
    bank = keys.headers("bank")
    big = b'{"addresses": ["' + b"x" * (5 * 1024 * 1024) + b'"]}'
    r = app_client.post("/v1/screen/batch", content=big, headers={**bank, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks() -> object:
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    r = app_client.post("/v1/screen/batch", content=chunks(), headers={**bank, "Content-Type": "application/json"})  # type: ignore[arg-type]
    assert r.status_code == 413


def test_every_screening_is_logged(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    bank = keys.headers("bank")
    app_client.post("/v1/screen", json={"address": LISTED}, headers=bank)
    app_client.post("/v1/screen/batch", json={"addresses": [LISTED, "bad", LISTED]}, headers=bank)
    deadline = time.monotonic() + 5
    rows: list[object] = []
    while time.monotonic() < deadline:
        with engine.connect() as c:
            rows = list(c.execute(text("SELECT address, risk_level, registry_version FROM screening_log")))
        if len(rows) >= 3:
            break
        time.sleep(0.1)
    assert len(rows) == 3  # the invalid item is answered, not logged as a screening
    assert all(r[0] == LISTED for r in rows)  # type: ignore[index]
