"""The public check page over HTTP: no sign-in, no cookie, no script, a rate limit per client, nothing from cases."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.app import create_app
from registry.check.settings import get_check_settings
from registry.settings import Settings
from tests.registry.helpers import approve, new_case, submit
from tests.support.keys import Keys

MULE = "0x" + "ab" * 20
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Page logic with nothing database-specific in it: one backend is enough."""


def test_a_listed_wallet_is_high_risk_with_its_meaning_and_no_case_data(app_client: TestClient, keys: Keys) -> None:
    inv, sup = keys.headers("investigator"), keys.headers("supervisor")
    case = new_case(app_client, inv, number="SECRET-CASE-7", title="Operation Quiet River")
    listing = submit(app_client, inv, case["id"], MULE, category="money_mule", legal_basis="Art. 218 secret basis")
    approve(app_client, sup, listing["id"])
    r = app_client.get("/check", params={"address": MULE, "lang": "en"})
    assert r.status_code == 200
    assert 'data-high-risk="yes"' in r.text
    assert "money mule" in r.text.lower() and "Banks must check payments" in r.text
    for secret in ("SECRET-CASE-7", "Operation Quiet River", "secret basis", "investigator-"):
        assert secret not in r.text
    assert "set-cookie" not in r.headers
    clean = app_client.get("/check", params={"address": "0x" + "cd" * 20, "lang": "en"})
    assert 'data-high-risk="no"' in clean.text
    bad = app_client.get("/check", params={"address": "0xnope"})
    assert 'data-high-risk="invalid"' in bad.text


@SQLITE_ONLY
def test_the_page_needs_no_script_and_sets_no_cookie(app_client: TestClient) -> None:
    for path in ("/check", "/check?domain=bybit.kz", "/check/mops", "/check?lang=kk"):
        r = app_client.get(path)
        assert r.status_code == 200
        assert "<script" not in r.text and "set-cookie" not in r.headers
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="kk">' in app_client.get("/check?lang=kk").text
    assert '<html lang="ru">' in app_client.get("/check").text  # Russian by default


@SQLITE_ONLY
def test_a_website_answer_names_the_licence(app_client: TestClient) -> None:
    page = app_client.get("/check", params={"domain": "https://www.bybit.kz/ru/", "lang": "en"}).text
    assert 'data-verdict="licensed"' in page
    found = re.search(r"licence ([^ <]+) \(AFSA\)", page)
    assert found and found.group(1) != "—"
    assert 'data-verdict="lookalike"' in app_client.get("/check", params={"domain": "bybit-kz.com"}).text
    assert 'data-verdict="unknown"' in app_client.get("/check", params={"domain": "example.org"}).text
    assert 'data-verdict="invalid"' in app_client.get("/check", params={"domain": "not a domain!"}).text


@SQLITE_ONLY
def test_each_client_has_its_own_rate_limit(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_CHECK_PER_MINUTE", "1")
    monkeypatch.setenv("REGISTRY_CHECK_BURST", "3")
    get_check_settings.cache_clear()
    try:
        app = create_app(settings, engine)
        other = TestClient(app, client=("203.0.113.9", 4000))  # the same app, another address (no second lifespan)
        with TestClient(app) as client:
            codes = [client.get("/check", params={"domain": "example.org"}).status_code for _ in range(5)]
            assert codes == [200, 200, 200, 429, 429]
            limited = client.get("/check", params={"address": MULE})
            assert int(limited.headers["retry-after"]) >= 1 and "set-cookie" not in limited.headers
            assert client.get("/check/mops").status_code == 200  # reading is not asking
            assert other.get("/check", params={"domain": "example.org"}).status_code == 200
    finally:
        get_check_settings.cache_clear()
