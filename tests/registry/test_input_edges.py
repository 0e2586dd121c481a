"""Input edges an attacker found (issue 9, item 7): text a database refuses, huge integers, two Authorization
headers, batches that cost one rate-limit token, CSV error lists of megabytes, and a CSV row limit that no body
under the general body limit could reach."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from registry.app import create_app
from registry.cases.tables import Listing
from registry.db.engine import session_scope
from registry.http.middleware import unstorable_in_json
from registry.settings import Settings
from tests.registry.helpers import new_case
from tests.support.keys import Keys
from tests.support.paths import PEPPER

HUGE = 9223372036854775808  # 2**63: past BIGINT, let alone INTEGER
ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
CSV_HEADER = "address,chain,category,confidence,legal_basis,evidence_note,valid_until\n"

# registry/audit/routes.py (another engineer's area) declares ``after_id: int = Query(0, ge=0)`` with no upper
# bound; it needs ``le=MAX_ID`` (or ``AfterId`` from registry.http.params). Drop it from here once it has it.
PENDING_ELSEWHERE: set[tuple[str, str, str]] = set()


def _client(engine: Engine, db_url: str, **overrides: Any) -> TestClient:
    return TestClient(create_app(Settings(database_url=db_url, key_pepper=PEPPER, **overrides), engine))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    app = create_app(Settings(database_url="sqlite://", key_pepper=PEPPER))
    return app.openapi()


def _int_params(schema: dict[str, Any]) -> list[tuple[str, str, str, str, dict[str, Any], list[str]]]:
    """(method, path, name, location, schema, roles) of every integer path or query parameter."""
    out = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                sch = p["schema"]
                members = [sch, *sch.get("anyOf", [])]
                ints = [m for m in members if m.get("type") in ("integer", "number")]
                if ints:
                    out.append((method.upper(), path, p["name"], p["in"], ints[0], op.get("x-roles") or ["any"]))
    return out


def _unbounded(schema: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (m, path, name)
        for m, path, name, _, sch, _ in _int_params(schema)
        if sch.get("maximum") is None or sch.get("minimum") is None
    }


# --- integers --------------------------------------------------------------------------------------------------


def test_every_integer_parameter_has_bounds(schema: dict[str, Any]) -> None:
    assert len(_int_params(schema)) > 20  # the walk finds them (ids, after_id, limit, since …)
    assert _unbounded(schema) - PENDING_ELSEWHERE == set()


def test_every_integer_in_a_request_body_has_bounds(schema: dict[str, Any]) -> None:
    comps = schema["components"]["schemas"]
    seen: set[str] = set()

    def refs(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].rsplit("/", 1)[1] not in seen:
                seen.add(node["$ref"].rsplit("/", 1)[1])
                refs(comps[node["$ref"].rsplit("/", 1)[1]])
            for v in node.values():
                refs(v)
        elif isinstance(node, list):
            for v in node:
                refs(v)

    for ops in schema["paths"].values():
        for op in ops.values():
            refs(op.get("requestBody"))
    loose = [
        (name, prop)
        for name in sorted(seen)
        for prop, sch in comps[name].get("properties", {}).items()
        for m in [sch, *sch.get("anyOf", [])]
        if m.get("type") == "integer" and m.get("maximum") is None
    ]
    assert seen and loose == []


def _url(path: str, name: str, location: str, value: int) -> str:
    filled = path
    for part in path.split("/"):
        if part.startswith("{"):
            filled = filled.replace(part, str(value) if part == "{" + name + "}" else "1")
    return filled if location == "path" else f"{filled}?{name}={value}"


def test_huge_integers_are_422_everywhere(
    app_client: TestClient, keys: Keys, schema: dict[str, Any], engine: Engine
) -> None:
    headers = {role: keys.headers(role) for role in ("bank", "investigator", "supervisor", "isp", "admin")}
    headers["any"] = headers["bank"]
    wrong: list[Any] = []
    for method, path, name, location, _, roles in _int_params(schema):
        if (method, path, name) in PENDING_ELSEWHERE:
            continue
        for value in (HUGE, -HUGE - 1, 2**31):
            r = app_client.request(method, _url(path, name, location, value), headers=headers[roles[0]])
            errors = r.json()["error"]["details"].get("errors", []) if r.status_code == 422 else []
            fields = [d.get("field", "") for d in errors]
            if r.status_code != 422 or r.json()["error"]["code"] != "invalid_input" or name not in " ".join(fields):
                wrong.append((method, path, name, value, r.status_code, r.text[:200]))
    assert wrong == []


# --- text a database refuses -------------------------------------------------------------------------------------


def test_unstorable_detection_is_exact() -> None:
    assert unstorable_in_json(b'{"a": "x\\u0000y"}') == ("a", "nul_character")
    assert unstorable_in_json(b'{"a": ["ok", {"b": "\\ud800"}]}') == ("a[1].b", "lone_surrogate")
    assert unstorable_in_json(b'{"a": "\\udc00x"}') == ("a", "lone_surrogate")
    assert unstorable_in_json(b'{"\\u0000k": 1}') == ("\ufffdk", "nul_character")
    assert unstorable_in_json(b'{"a": "\\ud83d\\ude00 \\u00e9"}') is None  # a pair is one emoji
    assert unstorable_in_json(b'{"a": "\\\\u0000"}') is None  # an escaped backslash: the text \u0000
    assert unstorable_in_json(b'{"a": "\\u0000"') is None  # not JSON: the route answers it
    assert unstorable_in_json(b'{"addresses": ["' + b"x" * 100 + b'"]}') is None


def test_nul_in_any_json_body_is_422_before_any_route(app_client: TestClient, schema: dict[str, Any]) -> None:
    """Every route with a body, authenticated or not: the body layer refuses it, one place for all."""
    posted = 0
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if "requestBody" not in op or "text/csv" in op["requestBody"].get("content", {}):
                continue
            url = "/".join("1" if p.startswith("{") else p for p in path.split("/"))
            for body in (b'{"x": "a\\u0000b"}', b'{"x": "\\ud800"}'):
                r = app_client.request(method.upper(), url, content=body, headers={"Content-Type": "application/json"})
                assert r.status_code == 422, (method, path, r.text)
                err = r.json()["error"]
                assert err["code"] == "invalid_input" and err["details"]["in"] == "body", err
                assert err["details"]["reason"] in ("nul_character", "lone_surrogate")
            posted += 1
    assert posted > 10


def test_nul_and_surrogates_never_reach_the_database(app_client: TestClient, keys: Keys) -> None:
    """On PostgreSQL these were 500s (NUL in text; a surrogate is not UTF-8); on SQLite a surrogate was too."""
    inv = keys.headers("investigator")
    for escaped, reason in (
        (b"a\\u0000b", "nul_character"),
        (b"\\ud800", "lone_surrogate"),
        (b"x\\uDFFF", "lone_surrogate"),
    ):
        body = b'{"number": "C-' + uuid.uuid4().hex[:8].encode() + b'", "title": "' + escaped + b'"}'
        r = app_client.post("/v1/cases", content=body, headers={**inv, "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"] == {"in": "body", "field": "title", "reason": reason}
    # what is fine stays fine: an emoji written as a surrogate pair, and the six characters \u0000 as text
    r = app_client.post(
        "/v1/cases",
        content=b'{"number": "C-' + uuid.uuid4().hex[:8].encode() + b'", "title": "\\ud83d\\ude00 \\\\u0000"}',
        headers={**inv, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "\U0001f600 \\u0000"
    # query and path parameters
    for url in ("/v1/cases?q=%00", "/v1/cases?q=a%00b&limit=5"):
        r = app_client.get(url, headers=inv)
        assert r.status_code == 422 and r.json()["error"]["details"]["in"] == "query", r.text
        assert r.json()["error"]["details"]["field"] == "q"
    r = app_client.get("/v1/domains?status=%00", headers=inv)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "status"
    r = app_client.get(f"/v1/addresses/eth/0x%00{'1' * 39}", headers=inv)
    assert r.status_code == 422 and r.json()["error"]["details"]["in"] == "path", r.text


def test_screening_fast_path_refuses_them_too(app_client: TestClient, keys: Keys) -> None:
    bank = {**keys.headers("bank"), "Content-Type": "application/json"}
    for body in (
        b'{"address": "\\u0000"}',
        b'{"address": "\\ud800"}',
        b'{"address": "' + ADDRESS.encode() + b'", "chain": "btc\\u0000"}',
    ):
        r = app_client.post("/v1/screen", content=body, headers=bank)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input", r.text
    batch = b'{"addresses": ["' + ADDRESS.encode() + b'", {"address": "x\\u0000"}]}'
    r = app_client.post("/v1/screen/batch", content=batch, headers=bank)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "addresses[1].address", r.text
    r = app_client.post("/v1/screen", json={"address": ADDRESS}, headers=bank)
    assert r.status_code == 200, r.text


def test_nul_in_a_csv_is_422(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    body = (CSV_HEADER + f"0x{1:040x},eth,fraud,70,x,a\x00b,\n").encode()
    r = app_client.post(
        f"/v1/cases/{case['id']}/listings/import", content=body, headers={**inv, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_csv"
    assert "NUL" in r.json()["error"]["details"]["errors"][0]["reason"]


# --- two Authorization headers -----------------------------------------------------------------------------------


def test_two_authorization_headers_are_400(app_client: TestClient, keys: Keys) -> None:
    bank, other = keys.headers("bank")["Authorization"], keys.headers("bank")["Authorization"]
    for first, second in ((bank, other), (bank, "Bearer rk_unknown"), ("Bearer rk_unknown", bank), (bank, bank)):
        two = [("Authorization", first), ("Authorization", second)]
        r = app_client.get("/v1/categories", headers=two)
        assert r.status_code == 400 and r.json()["error"]["code"] == "ambiguous_credentials", r.text
        r = app_client.post("/v1/screen", json={"address": ADDRESS}, headers=two)  # the screening fast path
        assert r.status_code == 400 and r.json()["error"]["code"] == "ambiguous_credentials", r.text
    assert app_client.get("/v1/categories", headers={"Authorization": bank}).status_code == 200


def test_two_authorization_headers_get_no_304_from_the_feed_short_cut(app_client: TestClient, keys: Keys) -> None:
    isp = keys.headers("isp")["Authorization"]
    etag = app_client.get("/v1/blocklist", headers={"Authorization": isp}).headers["ETag"]
    one = app_client.get("/v1/blocklist", headers={"Authorization": isp, "If-None-Match": etag})
    assert one.status_code == 304
    for path in ("/v1/blocklist", "/v1/blocklist/manifest"):
        r = app_client.get(
            path, headers=[("Authorization", isp), ("Authorization", "Bearer rk_x"), ("If-None-Match", etag)]
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "ambiguous_credentials", r.text


# --- rate limits count addresses ---------------------------------------------------------------------------------


def test_a_batch_takes_one_token_per_address(db_url: str, engine: Engine, keys: Keys) -> None:
    bank, other = keys.headers("bank"), keys.headers("bank")
    batch = {"addresses": [ADDRESS] * 10_000}
    with _client(engine, db_url, rate_limit_addresses_per_second=1000, rate_limit_addresses_burst=15_000) as client:
        assert client.post("/v1/screen/batch", json=batch, headers=bank).status_code == 200
        r = client.post("/v1/screen/batch", json=batch, headers=bank)
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited", r.text
        assert "addresses/s" in r.json()["error"]["message"]
        # 5,000 tokens left, 10,000 needed at 1,000/s: five seconds (one at most spent refilling since)
        assert 4 <= int(r.headers["Retry-After"]) <= 5
        # the refused batch spent nothing: single screens still pass, and the request budget is untouched
        assert client.post("/v1/screen", json={"address": ADDRESS}, headers=bank).status_code == 200
        # every key has its own address budget
        assert client.post("/v1/screen/batch", json=batch, headers=other).status_code == 200


def test_default_address_budget_is_finite_but_fits_a_nightly_batch() -> None:
    s = Settings(database_url="sqlite://", key_pepper=PEPPER)
    assert s.rate_limit_addresses_burst >= 10 * s.max_batch
    assert 0 < s.rate_limit_addresses_per_second < float("inf")


# --- CSV: capped error lists, the row limit reachable over HTTP --------------------------------------------------


def _csv_rows(n: int, start: int = 1) -> Iterator[str]:
    """Realistic rows, ~250 bytes each: an address, a legal basis and an evidence note of a sentence or two."""
    note = "wallet found on the seized phone of the suspect; deposits from 14 victims of the investment scam"
    for i in range(start, start + n):
        yield f'0x{i:040x},eth,fraud,70,Criminal Procedure Code art. 230 (ruling 2-55/2026),"{note}, row {i}",\n'


def _import(client: TestClient, inv: dict[str, str], case_id: int, body: bytes | Iterator[bytes]) -> Any:
    return client.post(
        f"/v1/cases/{case_id}/listings/import", content=body, headers={**inv, "Content-Type": "text/csv"}
    )


def _listings(engine: Engine) -> int:
    with session_scope(engine) as s:
        return int(s.execute(select(func.count()).select_from(Listing)).scalar_one())


def test_csv_error_list_is_capped_with_the_total(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    body = (CSV_HEADER + "0x123,eth,fraud,70,x,,\n" * 75_000).encode()
    r = _import(app_client, inv, case["id"], body)
    assert r.status_code == 422, r.text[:500]
    err = r.json()["error"]
    assert err["code"] == "invalid_csv" and "75000 problem(s)" in err["message"]
    details = err["details"]
    assert details["total"] == 75_000 and details["truncated"] is True and len(details["errors"]) == 1000
    assert details["errors"][0]["line"] == 2 and details["errors"][-1]["line"] == 1001
    assert len(r.content) < 300_000  # it was 9.5 MB
    small = _import(app_client, inv, case["id"], (CSV_HEADER + "0x123,eth,fraud,70,x,,\n" * 3).encode())
    assert small.json()["error"]["details"]["total"] == 3 and small.json()["error"]["details"]["truncated"] is False


@pytest.mark.slow
def test_100k_row_csv_imports_over_http(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    """The documented REGISTRY_MAX_CSV_ROWS, at a realistic width (~25 MB: six times the general body limit).

    ``slow`` (``make soak``): 11 s on SQLite, 34 s on PostgreSQL on the shared 2-core machine (43 s and 65 s while
    ``add_listings`` and the audit's ``record_many`` built an ORM object per row; both insert plain rows now), of
    which parsing the file is 2 s. The row limit itself is checked
    over HTTP in ``make test`` by ``test_over_the_row_limit_is_a_clear_413`` (the same 25 MB, parsed, not stored).
    """
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    body = (CSV_HEADER + "".join(_csv_rows(100_000))).encode()
    assert len(body) > 20 * 1024 * 1024
    started = time.perf_counter()
    r = _import(app_client, inv, case["id"], body)
    took = time.perf_counter() - started
    assert r.status_code == 201, r.text[:500]
    assert r.json()["created"] == 100_000 and _listings(engine) == 100_000
    print(f"100k-row CSV import over HTTP: {took:.1f} s")


def test_over_the_row_limit_is_a_clear_413(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    inv = keys.headers("investigator")
    case = new_case(app_client, inv)
    rows = _csv_rows(100_001)

    def chunks() -> Iterator[bytes]:  # sent as it is made (chunked), as a client streaming a file would
        yield CSV_HEADER.encode()
        batch: list[str] = []
        for row in rows:
            batch.append(row)
            if len(batch) == 5000:
                yield "".join(batch).encode()
                batch.clear()
        yield "".join(batch).encode()

    r = _import(app_client, inv, case["id"], chunks())
    assert r.status_code == 413, r.text[:500]
    err = r.json()["error"]
    assert err["code"] == "payload_too_large" and "REGISTRY_MAX_CSV_ROWS" in err["message"]
    assert err["details"] == {"max_rows": 100_000, "line": 100_002}
    assert _listings(engine) == 0


def test_csv_route_has_its_own_body_limit(db_url: str, engine: Engine, keys: Keys) -> None:
    inv = keys.headers("investigator")
    with _client(engine, db_url, max_csv_bytes=4096, max_body_bytes=100_000) as client:
        case = new_case(client, inv)
        body = (CSV_HEADER + "".join(_csv_rows(40))).encode()
        assert len(body) > 4096
        r = _import(client, inv, case["id"], body)  # declared Content-Length
        assert r.status_code == 413 and "REGISTRY_MAX_CSV_BYTES" in r.json()["error"]["message"], r.text
        r = _import(client, inv, case["id"], iter([body[:3000], body[3000:]]))  # chunked: counted as it comes
        assert r.status_code == 413 and "REGISTRY_MAX_CSV_BYTES" in r.json()["error"]["message"], r.text
        small = (CSV_HEADER + "".join(_csv_rows(5))).encode()
        assert _import(client, inv, case["id"], iter([small[:100], small[100:]])).status_code == 201
        # every other route keeps the general limit
        big = b'{"number": "C-1", "title": "' + b"x" * 200_000 + b'"}'
        r = client.post("/v1/cases", content=big, headers={**inv, "Content-Type": "application/json"})
        assert r.status_code == 413 and "REGISTRY_MAX_BODY_BYTES" in r.json()["error"]["message"]


def test_csv_import_checks_the_case_before_reading_the_upload(app_client: TestClient, keys: Keys) -> None:
    inv = keys.headers("investigator")
    r = _import(app_client, inv, 2**31 - 1, (CSV_HEADER + "".join(_csv_rows(3))).encode())
    assert r.status_code in (403, 404), r.text
