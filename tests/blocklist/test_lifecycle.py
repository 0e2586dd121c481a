"""Licences coming and going, curated licensed domains, the 304 short cut, jobs and the CLI."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr, ValidationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from blocklist.domains.service import approve, submit
from blocklist.feeds.fastpath import NotModifiedShortcut
from blocklist.feeds.service import load_feed
from blocklist.feeds.signing import verify_manifest
from blocklist.jobs import jobs, publish_job
from blocklist.models import DomainCreate
from blocklist.register.refresh import refresh_register
from blocklist.register.sources import AfsaRegister
from blocklist.settings import BlocklistSettings
from blocklist.tables import BlocklistDomain, FeedEntry
from registry.app import create_app
from registry.audit.tables import AuditEvent
from registry.auth.service import Principal
from registry.auth.tables import Role
from registry.db.engine import session_scope
from registry.settings import Settings
from tests.registry.helpers import insert_case
from tests.support.paths import PEPPER

from .conftest import RegisterReplay

INVESTIGATOR = Principal(201, Role.investigator, "FIU", "ivan")
SUPERVISOR = Principal(202, Role.supervisor, "FIU", "sara")


def _case(engine: Engine) -> int:
    return insert_case(engine, f"L-{uuid.uuid4().hex[:10]}", "ivan")


def _feed(engine: Engine) -> tuple[list[str], list[str]]:
    with engine.connect() as c:
        f = load_feed(c)
    return f.blocked, f.passthru


def _entry(engine: Engine, domain: str) -> BlocklistDomain:
    with session_scope(engine) as s:
        rows = s.execute(
            select(BlocklistDomain).where(col(BlocklistDomain.domain) == domain).order_by(col(BlocklistDomain.id))
        ).scalars()
        last: BlocklistDomain = list(rows)[-1]
        return last


def test_licence_ends_then_returns(seeded: Engine, register_site: RegisterReplay) -> None:
    """Suspended → the firm's domain goes to review (not the feed); a supervisor blocks it; the licence comes
    back → the domain leaves the feed at the next refresh and passes through again. All audited."""
    source = AfsaRegister(register_site.url, ["dasp", "fintech"], timeout=5)
    register_site.standard()
    assert refresh_register(seeded, source).outcome == "applied"
    review = _entry(seeded, "intebix.kz")
    assert review.status == "pending" and "suspended" in review.legal_basis.lower()
    assert "intebix.kz" not in _feed(seeded)[0] and "intebix.kz" not in _feed(seeded)[1]

    with session_scope(seeded) as s:
        assert review.id is not None
        approve(s, review.id, SUPERVISOR, "trading while suspended")
    assert "intebix.kz" in _feed(seeded)[0]

    register_site.page("/dasp/?page=2", "dasp_page2_relicensed.html")
    out = refresh_register(seeded, source)
    assert out.outcome == "applied" and out.changed == 1
    entry = _entry(seeded, "intebix.kz")
    assert entry.status == "delisted" and "AFSA-G-LA-2022-0004" in (entry.decision_reason or "")
    blocked, passthru = _feed(seeded)
    assert "intebix.kz" not in blocked and "intebix.kz" in passthru
    with session_scope(seeded) as s:
        actions = set(s.execute(select(AuditEvent.action)).scalars())
    assert {"licensed_firm.update", "blocklist_domain.review", "blocklist_domain.delisted"} <= actions


def test_mapping_a_domain_to_a_licensed_firm_unblocks_it(app_client: TestClient, engine: Engine, keys: Any) -> None:
    inv, sup = keys.headers("investigator", holder="ivan"), keys.headers("supervisor")
    sup2 = keys.headers("supervisor", holder="second supervisor")
    case_id = _case(engine)
    r = app_client.post(
        f"/v1/cases/{case_id}/domains", json={"domain": "bybit-app.kz", "legal_basis": "unlicensed"}, headers=inv
    )
    did = r.json()["id"]
    assert app_client.post(f"/v1/domains/{did}/approve", json={"reason": "ok!"}, headers=sup).status_code == 200
    firms = app_client.get("/v1/licensed", headers=inv).json()["firms"]
    bybit = next(f for f in firms if f["licence_number"] == "AFSA-A-LA-2024-0027")
    # investigators cannot curate the mapping; supervisors can
    body = {"domain": "bybit-app.kz", "note": "bybit.kz terms list it"}
    assert app_client.post(f"/v1/licensed/{bybit['id']}/domains", json=body, headers=inv).status_code == 403
    r = app_client.post(f"/v1/licensed/{bybit['id']}/domains", json=body, headers=sup)
    # it would unblock a blocked name: a second supervisor must confirm it
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending" and r.json()["unblocks"] == ["bybit-app.kz"]
    assert app_client.get(f"/v1/domains/{did}", headers=sup).json()["status"] == "active"
    confirm = "/v1/licensed/domains/bybit-app.kz/confirm"
    assert app_client.post(confirm, json={}, headers=sup).status_code == 403  # the same person
    r = app_client.post(confirm, json={}, headers=sup2)
    assert r.status_code == 200 and r.json()["status"] == "mapped", r.text
    assert app_client.get(f"/v1/domains/{did}", headers=sup).json()["status"] == "delisted"
    blocked, passthru = _feed(engine)
    assert "bybit-app.kz" not in blocked and "bybit-app.kz" in passthru
    again = app_client.post(f"/v1/licensed/{bybit['id']}/domains", json=body, headers=sup)
    assert again.status_code == 409
    # a licensed name under a blocked parent: the parent leaves the feed too (hosts and Squid cannot pass it)
    r = app_client.post(
        f"/v1/cases/{case_id}/domains", json={"domain": "swap-hub.kz", "legal_basis": "unlicensed"}, headers=inv
    )
    parent = r.json()["id"]
    assert app_client.post(f"/v1/domains/{parent}/approve", json={"reason": "ok!"}, headers=sup).status_code == 200
    body = {"domain": "bybit.swap-hub.kz", "note": "white-label front of the licensed firm"}
    r = app_client.post(f"/v1/licensed/{bybit['id']}/domains", json=body, headers=sup)
    assert r.status_code == 202 and r.json()["unblocks"] == ["swap-hub.kz"], r.text
    assert app_client.get(f"/v1/domains/{parent}", headers=sup).json()["status"] == "active"
    assert app_client.post("/v1/licensed/domains/bybit.swap-hub.kz/confirm", json={}, headers=sup2).status_code == 200
    assert app_client.get(f"/v1/domains/{parent}", headers=sup).json()["status"] == "delisted"
    blocked, passthru = _feed(engine)
    assert "swap-hub.kz" not in blocked and "bybit.swap-hub.kz" in passthru
    queue = app_client.get("/v1/domains", params={"status": "delisted"}, headers=sup).json()
    assert [d["domain"] for d in queue] == ["bybit-app.kz", "swap-hub.kz"]
    assert app_client.get("/v1/domains", params={"status": "gone"}, headers=sup).status_code == 422
    assert app_client.get("/v1/domains", headers=keys.headers("bank")).status_code == 403


def test_304_shortcut_never_skips_the_key_check(app_client: TestClient, keys: Any) -> None:
    isp = keys.headers("isp")
    r = app_client.get("/v1/blocklist", params={"format": "hosts"}, headers=isp)
    etag = r.headers["etag"]
    labels = {"route": "/v1/blocklist", "method": "GET", "status": "304"}
    before = REGISTRY.get_sample_value("registry_http_requests_total", labels) or 0.0
    hit = app_client.get("/v1/blocklist", params={"format": "hosts"}, headers={**isp, "If-None-Match": etag})
    assert hit.status_code == 304 and hit.headers["etag"] == etag and hit.content == b""
    # the short cut is still observed under its route's name
    assert REGISTRY.get_sample_value("registry_http_requests_total", labels) == before + 1
    # an ETag is not a credential: without a valid isp key the answer is the route's 401/403
    assert (
        app_client.get("/v1/blocklist", params={"format": "hosts"}, headers={"If-None-Match": etag}).status_code == 401
    )
    bad = {"Authorization": "Bearer rk_not-a-key", "If-None-Match": etag}
    assert app_client.get("/v1/blocklist", params={"format": "hosts"}, headers=bad).status_code == 401
    bank = {**keys.headers("bank"), "If-None-Match": etag}
    assert app_client.get("/v1/blocklist", params={"format": "hosts"}, headers=bank).status_code == 403
    # the ETag of one format does not validate another
    assert (
        app_client.get("/v1/blocklist", params={"format": "rpz"}, headers={**isp, "If-None-Match": etag}).status_code
        == 200
    )
    m = app_client.get("/v1/blocklist/manifest", headers=isp)
    again = app_client.get("/v1/blocklist/manifest", headers={**isp, "If-None-Match": m.headers["etag"]})
    assert again.status_code == 304


def test_production_refuses_to_start_without_a_signing_key(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="REGISTRY_SIGNING_KEY"):
        BlocklistSettings(env="production", signing_key=SecretStr(""))
    with pytest.raises(ValidationError, match="64 hex"):
        BlocklistSettings(signing_key=SecretStr("not-a-key"))
    assert "5f5f" not in repr(BlocklistSettings())  # the key from the environment never shows in a repr
    monkeypatch.delenv("REGISTRY_SIGNING_KEY")
    monkeypatch.setenv("REGISTRY_ENV", "production")
    app = create_app(settings, engine)
    with pytest.raises(ValidationError, match="REGISTRY_SIGNING_KEY"), TestClient(app):
        pass


def test_publish_job_repairs_drift_and_writes_signed_files(
    seeded: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signing_public_key: Ed25519PublicKey
) -> None:
    import orjson

    with session_scope(seeded) as s:
        case_id = _case(seeded)
        entry = submit(s, case_id, DomainCreate(domain="drift-swap.com", legal_basis="unlicensed"), INVESTIGATOR)
        approve(s, entry.id, SUPERVISOR, "evidence reviewed")
    with session_scope(seeded) as s:  # a hand edit of the database: the feed row vanishes
        s.execute(delete(FeedEntry).where(col(FeedEntry.domain) == "drift-swap.com"))
    assert "drift-swap.com" not in _feed(seeded)[0]
    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    monkeypatch.setenv("REGISTRY_FEED_EXPORT_DIR", str(tmp_path / "out"))
    from registry.settings import get_settings

    get_settings.cache_clear()
    try:
        result = cast(dict[str, Any], publish_job(BlocklistSettings()))
    finally:
        get_settings.cache_clear()
    assert result["repaired_serial"] is not None
    assert "drift-swap.com" in _feed(seeded)[0]
    manifest = orjson.loads((tmp_path / "out" / "manifest.json").read_bytes())
    verify_manifest(manifest, signing_public_key)
    rpz = (tmp_path / "out" / "blocklist.rpz.zone").read_bytes()
    import hashlib

    assert hashlib.sha256(rpz).hexdigest() == manifest["formats"]["rpz"]["sha256"]
    assert b"drift-swap.com CNAME ." in rpz
    ids = [j.id for j in jobs(Settings())]
    assert ids == ["blocklist:refresh-register", "blocklist:publish"]


def test_cli_refresh_register_reports_rejection(run_cli: Any, register_site: RegisterReplay) -> None:
    register_site.standard()
    ok = run_cli("refresh-register", "--url", register_site.url)
    assert ok.exit_code == 0 and "applied; 7 firms" in ok.output, ok.output
    register_site.page("/dasp/", "empty_table.html")
    bad = run_cli("refresh-register", "--url", register_site.url)
    assert bad.exit_code == 1 and "rejected" in bad.output and "1 firms where 7" in bad.output
    unknown = run_cli("export", "--format", "bind")
    assert unknown.exit_code == 2 and "unknown format" in unknown.output


def test_app_uses_the_fastpath_hook() -> None:
    app = create_app(Settings(database_url="sqlite://", key_pepper=PEPPER))
    assert any(cast(object, m.cls) is NotModifiedShortcut for m in app.user_middleware)
