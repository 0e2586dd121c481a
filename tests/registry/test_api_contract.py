"""What a bank's, ISP's or investigator's developer expects of the API as a contract.

- ``/docs`` and ``/redoc`` work offline: every script, style sheet and icon is served by the app itself;
- a JSON body is read as JSON whatever Content-Type it came with, the same on every route (the screening fast path
  and the FastAPI routes alike); the CSV import refuses anything but CSV with 415;
- every error body is ``{"error": {"code": str, "message": str, "details": {...}}}``, ``details`` always an
  object, and a batch's per-item error is the same object beside the item's ``index``;
- every route has a short, unique operation id and every schema a unique name, so that a generated client
  (``openapi-python-client``) has every route, and it works against a live server;
- approving takes an optional reason, rejecting and delisting require one, on listings and domains alike;
- entities are created, read and linked to addresses over the API, never marked licensed there.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.app import create_app
from registry.db.engine import make_engine
from registry.settings import Settings
from tests.registry.helpers import new_case, submit
from tests.support.keys import Keys
from tests.support.paths import PEPPER
from tests.support.servers import LiveServer

LISTED = "0x8589427373d6d84e98730d7795d8f6f8731fda16"
TRON = "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"
CSV_HEADER = "address,category,confidence,legal_basis\n"


# --- /docs offline -------------------------------------------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(found["src"] or "")
        if tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_app(app_client: TestClient, page: str) -> None:
    r = app_client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    parser = _Assets()
    parser.feed(r.text)
    assert len(parser.urls) >= 2, parser.urls  # the script and at least the icon (Swagger UI: its CSS too)
    assert "http://" not in r.text and "https://" not in r.text, "the page names an outside address"
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = app_client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, (url, asset.status_code)
    assert app_client.get("/openapi.json").status_code == 200


# --- JSON whatever the content type; CSV only as CSV ------------------------------------------------------------

NOT_JSON_TYPES = [None, "application/x-www-form-urlencoded", "text/plain", "application/json; charset=utf-8"]


def _raw(headers: dict[str, str], content_type: str | None) -> dict[str, str]:
    """Headers for a raw body: ``content_type`` None sends no Content-Type at all."""
    out = dict(headers)
    if content_type is not None:
        out["Content-Type"] = content_type
    return out


@pytest.mark.parametrize("content_type", NOT_JSON_TYPES)
def test_json_routes_read_json_whatever_the_content_type(
    app_client: TestClient, keys: Keys, content_type: str | None
) -> None:
    inv = keys.headers("investigator", holder="Ivan Investigator")
    sup = keys.headers("supervisor", holder="Sara Supervisor")
    bank = keys.headers("bank")

    def post(url: str, body: Any, headers: dict[str, str]) -> Any:
        return app_client.post(url, content=json.dumps(body).encode(), headers=_raw(headers, content_type))

    case = post("/v1/cases", {"number": f"CT-{uuid.uuid4().hex[:6]}", "title": "curl -d"}, inv)
    assert case.status_code == 201, case.text
    cid = case.json()["id"]
    listing = {"address": LISTED, "category": "fraud", "confidence": 70, "legal_basis": "CPC art. 230"}
    lid = post(f"/v1/cases/{cid}/listings", listing, inv)
    assert lid.status_code == 201, lid.text
    assert post(f"/v1/listings/{lid.json()['id']}/approve", {"reason": "checked"}, sup).status_code == 200
    assert post("/v1/screen", {"address": TRON}, bank).status_code == 200
    assert post("/v1/screen/batch", {"addresses": [TRON]}, bank).status_code == 200
    assert post("/v1/domains/check", {"domain": "example.kz"}, bank).status_code == 200
    entity = post("/v1/entities", {"name": "Shadow OTC", "kind": "exchanger"}, inv)
    assert entity.status_code == 201, entity.text

    # a body that is not JSON is the same 400 on the fast path and on the FastAPI routes
    for url in ("/v1/screen", "/v1/cases"):
        who = bank if url == "/v1/screen" else inv
        broken = app_client.post(url, content=b"address=0x85", headers=_raw(who, content_type))
        assert broken.status_code == 400, (url, broken.text)
        err = broken.json()["error"]
        assert err["code"] == "malformed_json" and err["details"]["reason"] == "json_invalid", err


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_csv_import_refuses_other_media_types_with_415(
    app_client: TestClient, keys: Keys, content_type: str | None
) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    url = f"/v1/cases/{case['id']}/listings/import"
    body = (CSV_HEADER + f"{TRON},fraud,70,CPC art. 230\n").encode()
    r = app_client.post(url, content=body, headers=_raw(inv, content_type))
    assert r.status_code == 415, r.text
    err = r.json()["error"]
    assert err["code"] == "unsupported_media_type" and "Content-Type: text/csv" in err["message"]
    assert err["details"]["header"] == "Content-Type" and "text/csv" in err["details"]["accepted"]
    ok = app_client.post(url, content=body, headers=_raw(inv, "Text/CSV; charset=utf-8"))
    assert ok.status_code == 201, ok.text


# --- one error shape ---------------------------------------------------------------------------------------------


def _assert_error_shape(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err["code"], str) and isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["details"], dict), err
    if code is not None:
        assert err["code"] == code, err
    details: dict[str, Any] = err["details"]
    return details


def test_every_error_has_one_shape(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator", holder="Ivan Investigator")
    same_person = keys.headers("supervisor", holder="ivan  INVESTIGATOR")  # the submitter, with a supervisor key
    sup = keys.headers("supervisor", holder="Sara Supervisor")
    bank = keys.headers("bank")
    case = new_case(app_client, inv, number="DUP-1")
    cid = case["id"]
    listing = submit(app_client, inv, cid, LISTED)
    csv = {**inv, "Content-Type": "text/csv"}
    c = app_client

    table: list[tuple[Any, int, str | None]] = [
        (c.post("/v1/screen", json={"address": LISTED}), 401, "unauthenticated"),
        (c.get("/v1/cases"), 401, "unauthenticated"),
        (c.post("/v1/screen", json={"address": LISTED}, headers=inv), 403, "forbidden"),
        (c.get("/v1/listings/pending", headers=inv), 403, "forbidden"),
        (c.post("/v1/screen", content=b"{", headers=bank), 400, "malformed_json"),
        (c.post("/v1/cases", content=b"{", headers=inv), 400, "malformed_json"),
        (c.post("/v1/screen", json=["x"], headers=bank), 422, "invalid_input"),
        (c.post("/v1/screen", json={"address": LISTED, "colour": 1}, headers=bank), 422, "invalid_input"),
        (c.post("/v1/screen", json={"address": 5}, headers=bank), 422, "invalid_input"),
        (c.post("/v1/screen/batch", json={"addresses": 5}, headers=bank), 422, "invalid_input"),
        (c.post("/v1/screen/batch", json={"addresses": ["x"] * 10_001}, headers=bank), 413, "payload_too_large"),
        (c.post("/v1/cases", json={}, headers=inv), 422, "invalid_input"),
        (c.post("/v1/cases", json={"number": "DUP-1", "title": "again"}, headers=inv), 409, "conflict"),
        (c.get("/v1/cases?limit=0", headers=inv), 422, "invalid_input"),
        (c.get("/v1/cases/99999", headers=inv), 404, "not_found"),
        (c.get("/v1/cases/abc", headers=inv), 422, "invalid_input"),
        (c.get("/v1/no-such-route"), 404, "not_found"),
        (c.delete("/v1/cases"), 405, "method_not_allowed"),
        (c.post(f"/v1/cases/{cid}/listings/import", content=b"a,b\n", headers=csv), 422, "invalid_csv"),
        (c.post(f"/v1/cases/{cid}/listings/import", content=b"a,b\n", headers=inv), 415, "unsupported_media_type"),
        (c.post(f"/v1/cases/{cid}/listings", json={**_listing(LISTED)}, headers=inv), 409, "conflict"),
        (c.post(f"/v1/listings/{listing['id']}/approve", json={}, headers=sup), 200, None),
        (c.post(f"/v1/listings/{listing['id']}/reject", json={}, headers=sup), 422, "invalid_input"),
        (c.post("/v1/listings/99999/approve", headers=sup), 404, "not_found"),
        (c.post("/v1/cases", json={"number": "N\u0000", "title": "t"}, headers=inv), 422, "invalid_input"),
        (c.post("/v1/cases", content=b"x" * 5_000_000, headers=inv), 413, "payload_too_large"),
        (c.post("/v1/domains/check", json={"domain": "com"}, headers=bank), 422, "invalid_domain"),
        (c.post("/v1/entities", json={"name": "X", "licensed_service": True}, headers=inv), 422, "invalid_input"),
        (c.get("/v1/entities/99999", headers=inv), 404, "not_found"),
        (c.get("/v1/addresses/eth/0x1234", headers=inv), 422, "invalid_address"),
    ]
    for r, status, code in table:
        if status < 400:
            assert r.status_code == status, r.text
            continue
        _assert_error_shape(r, status, code)

    # the keys clients already read
    details = _assert_error_shape(c.post("/v1/screen", json={"address": "0x1234"}, headers=bank), 422)
    assert details == {"field": "address", "reason": "length"}
    details = _assert_error_shape(c.post("/v1/cases", json={"number": "DUP-1", "title": "x"}, headers=inv), 409)
    assert details == {"id": cid}
    details = _assert_error_shape(c.post("/v1/cases", json={"title": 5}, headers=inv), 422)
    assert {(e["in"], e["field"], e["reason"]) for e in details["errors"]} == {
        ("body", "number", "missing"),
        ("body", "title", "string_type"),
    }
    assert all(isinstance(e["message"], str) and e["message"] for e in details["errors"])
    details = _assert_error_shape(c.get("/v1/cases?limit=0", headers=inv), 422)
    assert details["errors"][0]["in"] == "query" and details["errors"][0]["field"] == "limit"
    details = _assert_error_shape(c.post(f"/v1/cases/{cid}/listings/import", content=b"a,b\n", headers=csv), 422)
    assert set(details) >= {"errors", "total", "truncated"} and details["errors"][0]["line"] >= 1
    details = _assert_error_shape(c.post("/v1/cases", content=b"x" * 5_000_000, headers=inv), 413)
    assert details["max_bytes"] > 0
    twice = CSV_HEADER + f"{LISTED},fraud,70,CPC\n"
    details = _assert_error_shape(c.post(f"/v1/cases/{cid}/listings/import", content=twice, headers=csv), 409)
    assert details["duplicates"] and LISTED in details["duplicates"][0]
    mine = submit(app_client, inv, cid, TRON)
    details = _assert_error_shape(c.post(f"/v1/listings/{mine['id']}/approve", headers=same_person), 403, "four_eyes")
    assert details == {"person": "ivan investigator"}
    assert _assert_error_shape(c.get("/v1/no-such-route"), 404) == {}


def _listing(address: str) -> dict[str, Any]:
    return {
        "address": address,
        "category": "fraud",
        "confidence": 70,
        "legal_basis": "Criminal Procedure Code art. 230",
    }


def test_batch_item_errors_have_the_shape_of_an_error(app_client: TestClient, keys: Keys) -> None:
    bank = keys.headers("bank")
    items = [TRON, "0x8589427373D6d84e98730d7795d8f6f8731fda16", 5, {"address": TRON, "colour": "red"}]
    r = app_client.post("/v1/screen/batch", json={"addresses": items}, headers=bank)
    assert r.status_code == 200, r.text
    good, checksum, not_a_string, extra = r.json()["results"]
    assert "error" not in good and good["address"] == TRON
    for i, item in ((1, checksum), (2, not_a_string), (3, extra)):
        assert item["index"] == i
        err = item["error"]
        assert isinstance(err["code"], str) and isinstance(err["message"], str) and isinstance(err["details"], dict)
        assert err["reason"] == err["details"]["reason"]  # the old place, kept for clients written against it
    assert checksum["error"]["code"] == "invalid_address" and checksum["error"]["details"] == {"reason": "checksum"}
    assert not_a_string["error"]["code"] == "invalid_input"


# --- operation ids and schema names --------------------------------------------------------------------------------

STABLE_IDS = {
    ("post", "/v1/screen"): "screen",
    ("post", "/v1/screen/batch"): "screen_batch",
    ("post", "/v1/cases"): "create_case",
    ("get", "/v1/cases"): "list_cases",
    ("get", "/v1/cases/{case_id}"): "get_case",
    ("post", "/v1/cases/{case_id}/listings/import"): "import_listings",
    ("post", "/v1/listings/{listing_id}/approve"): "approve_listing",
    ("post", "/v1/listings/{listing_id}/reject"): "reject_listing",
    ("post", "/v1/listings/{listing_id}/delist"): "request_listing_delisting",
    ("post", "/v1/listings/{listing_id}/delist/confirm"): "confirm_listing_delisting",
    ("post", "/v1/domains/{domain_id}/approve"): "approve_domain",
    ("post", "/v1/entities"): "create_entity",
    ("get", "/v1/entities/{entity_id}"): "get_entity",
    ("post", "/v1/entities/{entity_id}/addresses"): "link_entity_address",
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[str, Any]:
    """The OpenAPI document, once per module (it does not depend on the database's contents)."""
    path = tmp_path_factory.mktemp("spec") / "registry.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    try:
        doc: dict[str, Any] = create_app(
            Settings(database_url=f"sqlite:///{path}", key_pepper=PEPPER), engine
        ).openapi()
    finally:
        engine.dispose()
    return doc


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m, p): op for p, ops in spec["paths"].items() for m, op in ops.items()}


def test_operation_ids_are_short_unique_and_stable(spec: dict[str, Any]) -> None:
    ops = _operations(spec)
    ids = [op.get("operationId", "") for op in ops.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    bad = [i for i in ids if not re.fullmatch(r"[a-z][a-z0-9_]*", i) or len(i) > 40]
    assert bad == []
    assert {k: ops[k]["operationId"] for k in STABLE_IDS} == STABLE_IDS


def test_schema_names_are_unique_and_plain(spec: dict[str, Any]) -> None:
    names = list(spec["components"]["schemas"])
    # FastAPI names two models of one name after their modules (registry__cases__models__Decision): that is a clash
    assert [n for n in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", n)] == []


# --- a generated client, against a live server ----------------------------------------------------------------------

CLIENT_PACKAGE = "registry_api_client"
GENERATOR_CONFIG = {
    # openapi-python-client sends raw bodies only as application/octet-stream: it then sends ours as text/csv
    "content_type_overrides": {"text/csv": "application/octet-stream"},
    "post_hooks": [],
}


@pytest.fixture(scope="module")
def generated(spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """``openapi-python-client generate`` from the app's own document, offline, once per module."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(spec))
    (work / "config.json").write_text(json.dumps(GENERATOR_CONFIG))
    tool = Path(sys.executable).parent / "openapi-python-client"
    out = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            str(work / "openapi.json"),
            "--output-path",
            str(work / CLIENT_PACKAGE),
            "--meta",
            "none",
            "--config",
            str(work / "config.json"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=work,
    )
    output = out.stdout + out.stderr
    assert out.returncode == 0, output
    assert "WARNING" not in output and "will not be generated" not in output, output
    yield work, output
    for name in [m for m in sys.modules if m == CLIENT_PACKAGE or m.startswith(CLIENT_PACKAGE + ".")]:
        del sys.modules[name]
    if str(work) in sys.path:
        sys.path.remove(str(work))


def test_generated_client_has_every_route(spec: dict[str, Any], generated: tuple[Path, str]) -> None:
    work, _ = generated
    modules = {p.stem for p in (work / CLIENT_PACKAGE / "api").rglob("*.py") if p.stem != "__init__"}
    ids = {op["operationId"] for op in _operations(spec).values()}
    assert ids - modules == set()


def _load(work: Path, name: str) -> ModuleType:
    if str(work) not in sys.path:
        sys.path.insert(0, str(work))
    return importlib.import_module(f"{CLIENT_PACKAGE}.{name}")


def test_generated_client_drives_the_api(
    generated: tuple[Path, str], live_server: LiveServer, keys: Keys, engine: Engine
) -> None:
    work, _ = generated
    client_mod = _load(work, "client")
    models = _load(work, "models")
    types = _load(work, "types")
    api = {
        name: _load(work, f"api.{tag}.{name}")
        for tag, name in [
            ("screening", "screen"),
            ("screening", "screen_batch"),
            ("cases_and_listings", "create_case"),
            ("cases_and_listings", "import_listings"),
            ("cases_and_listings", "list_pending_listings"),
            ("cases_and_listings", "approve_listing"),
            ("entities", "create_entity"),
            ("entities", "link_entity_address"),
            ("entities", "get_entity"),
        ]
    }

    def client(role: str, holder: str | None = None) -> Any:
        token = keys.create(role, holder=holder)
        return client_mod.AuthenticatedClient(
            base_url=live_server.base_url, token=token, raise_on_unexpected_status=True
        )

    bank = client("bank")
    inv = client("investigator", "Ivan Investigator")
    sup = client("supervisor", "Sara Supervisor")

    before = api["screen"].sync_detailed(client=bank, body=models.ScreenScreenRequest(address=TRON))
    assert before.status_code == 200 and before.parsed.action == "allow", before.content

    created = api["create_case"].sync_detailed(client=inv, body=models.CaseCreate(number="GEN-1", title="generated"))
    assert created.status_code == 201, created.content
    case_id = created.parsed.id
    again = api["create_case"].sync_detailed(client=inv, body=models.CaseCreate(number="GEN-1", title="generated"))
    assert again.status_code == 409 and isinstance(again.parsed, models.ErrorBody)
    assert again.parsed.error.code == "conflict" and again.parsed.error.details.id == case_id

    rows = (CSV_HEADER + f"{TRON},fraud,70,CPC art. 230\n").encode()
    csv = types.File(payload=io.BytesIO(rows), file_name="rows.csv", mime_type="text/csv")
    imported = api["import_listings"].sync_detailed(case_id=case_id, client=inv, body=csv)
    assert imported.status_code == 201, imported.content
    [listing_id] = imported.parsed.listing_ids

    pending = api["list_pending_listings"].sync_detailed(client=sup)
    assert [x.id for x in pending.parsed] == [listing_id]
    approved = api["approve_listing"].sync_detailed(
        listing_id=listing_id, client=sup, body=models.ListingApproval(reason="evidence reviewed")
    )
    assert approved.status_code == 200 and approved.parsed.status == "active", approved.content

    deadline = time.monotonic() + 10
    while True:
        after = api["screen"].sync_detailed(client=bank, body=models.ScreenScreenRequest(address=TRON))
        if after.parsed.action != "allow" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert after.parsed.action != "allow" and after.parsed.direct[0].category == "fraud", after.content
    batch = api["screen_batch"].sync_detailed(
        client=bank, body=models.ScreenBatchBatchRequest(addresses=[TRON, "0x1234"])
    )
    assert batch.status_code == 200 and batch.parsed.count == 2, batch.content
    item_error = batch.parsed.results[1]
    assert item_error.index == 1 and item_error.error.details["reason"] == "length"

    entity = api["create_entity"].sync_detailed(client=inv, body=models.EntityCreate(name="Shadow OTC"))
    assert entity.status_code == 201, entity.content
    linked = api["link_entity_address"].sync_detailed(
        entity_id=entity.parsed.id, client=inv, body=models.EntityAddressCreate(address=LISTED, chain="bsc")
    )
    assert linked.status_code == 201 and linked.parsed.chain == "evm", linked.content
    got = api["get_entity"].sync_detailed(entity_id=entity.parsed.id, client=sup)
    assert got.parsed.licensed_service is False and [a.address for a in got.parsed.addresses] == [LISTED]


# --- approvals, rejections, delistings: one rule ---------------------------------------------------------------------


def _domain(app_client: TestClient, inv: dict[str, str], case_id: int, name: str) -> int:
    r = app_client.post(f"/v1/cases/{case_id}/domains", json={"domain": name, "legal_basis": "unlicensed"}, headers=inv)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_reasons_optional_to_approve_required_to_reject_or_delist(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator", holder="Ivan Investigator")
    sup = keys.headers("supervisor", holder="Sara Supervisor")
    case = new_case(app_client, inv)
    lids = [submit(app_client, inv, case["id"], a)["id"] for a in (LISTED, TRON)]
    dids = [_domain(app_client, inv, case["id"], f"shadow-{i}-swap.com") for i in range(3)]

    # approving: no body, an empty one, or a reason (listings also take their former field name, note)
    assert app_client.post(f"/v1/listings/{lids[0]}/approve", headers=sup).status_code == 200
    r = app_client.post(f"/v1/listings/{lids[1]}/approve", json={"note": "old clients"}, headers=sup)
    assert r.status_code == 200 and r.json()["decision_reason"] == "old clients", r.text
    assert app_client.post(f"/v1/domains/{dids[0]}/approve", headers=sup).status_code == 200
    r = app_client.post(f"/v1/domains/{dids[1]}/approve", json={"reason": "reviewed"}, headers=sup)
    assert r.status_code == 200 and r.json()["decision_reason"] == "reviewed", r.text
    # rejecting and delisting: a reason, not blank
    for url in (f"/v1/domains/{dids[2]}/reject", f"/v1/listings/{lids[0]}/delist", f"/v1/domains/{dids[0]}/delist"):
        for body in ({}, {"reason": "  "}, None):
            r = app_client.post(url, json=body, headers=sup)
            assert r.status_code == 422, (url, body, r.text)
    assert app_client.post(f"/v1/domains/{dids[2]}/reject", json={"reason": "ok"}, headers=sup).status_code == 200
    assert (
        app_client.post(f"/v1/listings/{lids[0]}/delist", json={"reason": "acquitted"}, headers=sup).status_code == 202
    )


# --- entities over the API ------------------------------------------------------------------------------------------


def test_entities_over_the_api_audited_licensed_by_two_supervisors(
    app_client: TestClient, keys: Keys, engine: Engine
) -> None:
    inv = keys.headers("investigator", holder="Ivan Investigator")
    sup = keys.headers("supervisor", holder="Sara Supervisor")
    created = app_client.post("/v1/entities", json={"name": "  Shadow OTC Almaty ", "kind": "exchanger"}, headers=inv)
    assert created.status_code == 201, created.text
    e = created.json()
    assert (e["name"], e["kind"], e["licensed_service"], e["addresses"]) == (
        "Shadow OTC Almaty",
        "exchanger",
        False,
        [],
    )
    link = app_client.post(f"/v1/entities/{e['id']}/addresses", json={"address": TRON}, headers=sup)
    assert link.status_code == 201 and link.json() == {"entity_id": e["id"], "chain": "tron", "address": TRON}
    again = app_client.post(f"/v1/entities/{e['id']}/addresses", json={"address": TRON}, headers=inv)
    _assert_error_shape(again, 409, "conflict")
    bad = app_client.post(f"/v1/entities/{e['id']}/addresses", json={"address": "0x1234"}, headers=inv)
    assert _assert_error_shape(bad, 422, "invalid_address")["reason"] == "length"
    got = app_client.get(f"/v1/entities/{e['id']}", headers=inv).json()
    assert got["addresses"] == [{"chain": "tron", "address": TRON}]

    # nobody marks an entity licensed alone, nor links addresses to a licensed one alone (it moves exposure)
    for body in ({"name": "X", "licensed_service": True}, {"name": "X", "licence_number": "AFSA-1"}):
        assert app_client.post("/v1/entities", json=body, headers=sup).status_code == 422
    licensed = app_client.post("/v1/entities", json={"name": "Licensed Exchange", "kind": "exchange"}, headers=sup)
    lic_id = licensed.json()["id"]
    ask = {"licensed": True, "licence_number": "AFSA-A-1", "reason": "AFSA register entry"}
    assert app_client.post(f"/v1/entities/{lic_id}/licensed", json=ask, headers=inv).status_code == 403
    req = app_client.post(f"/v1/entities/{lic_id}/licensed", json=ask, headers=sup)
    assert req.status_code == 202 and req.json()["kind"] == "entity.licensed"
    assert app_client.get(f"/v1/entities/{lic_id}", headers=sup).json()["licensed_service"] is False
    own = app_client.post(f"/v1/entities/{lic_id}/licensed/confirm", headers=sup)
    _assert_error_shape(own, 403, "four_eyes")
    sup2 = keys.headers("supervisor")
    done = app_client.post(f"/v1/entities/{lic_id}/licensed/confirm", headers=sup2)
    assert done.status_code == 200 and done.json()["licensed_service"] is True
    assert done.json()["licence_number"] == "AFSA-A-1"
    r = app_client.post(f"/v1/entities/{lic_id}/addresses", json={"address": LISTED}, headers=sup)
    assert _assert_error_shape(r, 409, "licensed_entity")["id"] == lic_id
    link = {"address": LISTED, "reason": "the exchange's attested hot wallet"}
    assert app_client.post(f"/v1/entities/{lic_id}/licensed-addresses", json=link, headers=sup).status_code == 202
    own = app_client.post(f"/v1/entities/{lic_id}/licensed-addresses/confirm", json={"address": LISTED}, headers=sup)
    _assert_error_shape(own, 403, "four_eyes")
    ok = app_client.post(f"/v1/entities/{lic_id}/licensed-addresses/confirm", json={"address": LISTED}, headers=sup2)
    assert ok.status_code == 201
    assert app_client.get(f"/v1/entities/{lic_id}", headers=inv).json()["addresses"][0]["address"] == LISTED
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action, actor_kind FROM audit_event WHERE entity_type = 'entity' ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        ("entity.create", "key"),
        ("entity.link_address", "key"),
        ("entity.create", "key"),
        ("entity.licensed", "key"),
        ("entity.link_address", "key"),
    ]
