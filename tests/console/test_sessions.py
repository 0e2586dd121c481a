"""Signing in to the console: the session cookie, CSRF, idle timeout, sign-out, revoked keys, audit, menus by role.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from registry.app import create_app
from registry.audit.service import CLI
from registry.audit.tables import AuditEvent
from registry.auth.service import revoke_key
from registry.auth.tables import ApiKey
from registry.console.settings import get_console_settings
from registry.console.tables import ConsoleSession
from registry.db.engine import session_scope
from registry.db.types import utcnow
from registry.settings import Settings
from tests.console.helpers import form_token, sign_in, signed_in
from tests.support.keys import Keys

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
"""Page logic with nothing database-specific in it: one backend is enough (the sessions' SQL runs on both)."""


def _events(engine: Engine, prefix: str) -> list[AuditEvent]:
    with session_scope(engine) as s:
        q = select(AuditEvent).where(col(AuditEvent.action).startswith(prefix)).order_by(col(AuditEvent.id))
        return list(s.exec(q).all())


def test_sign_in_opens_a_server_side_session_with_a_strict_cookie(
    app_client: TestClient, keys: Keys, engine: Engine
) -> None:
    key = keys.create("investigator", holder="Aliya Bekova")
    r = sign_in(app_client, key)
    assert r.status_code == 303 and r.headers["location"] == "/console/cases"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("console_session="))
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attrs
    assert "secure" not in attrs  # development: plain HTTP on localhost
    token = cookie.split(";")[0].split("=", 1)[1]
    with session_scope(engine) as s:
        [row] = s.exec(select(ConsoleSession)).all()
    assert row.holder == "aliya bekova" and row.role == "investigator" and row.ended_at is None
    assert token not in (row.token_hash, row.csrf_token)  # the database holds the token's hash only
    [event] = _events(engine, "console.signin")
    assert event.action == "console.signin" and event.after and event.after["person"] == "aliya bekova"
    assert event.entity_id == str(row.id)
    assert key not in str(event.after)


@SQLITE_ONLY
def test_outside_development_the_cookie_is_secure_and_host_only(db_url: str, engine: Engine, keys: Keys) -> None:
    settings = Settings(
        env="production",
        database_url=db_url,
        key_pepper="test-pepper-0123456789abcdef0123456789abcdef",
        audit_signing_key="11" * 32,
        snapshot_poll_seconds=0.1,
    )
    key = keys.create("supervisor", holder="Prod Person")
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        r = sign_in(client, key)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie") if "console_session=" in c)
        assert cookie.startswith("__Host-console_session=")
        assert "secure" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert client.get("/console/queue").status_code == 200


def test_refused_sign_ins_are_audited_and_name_no_secret(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    bank = keys.create("bank", org="Demo Bank")
    r = sign_in(app_client, "rk_not-a-real-key-at-all")
    assert r.status_code == 401 and "console_session=" not in r.headers.get("set-cookie", "")
    r = sign_in(app_client, bank)
    assert r.status_code == 401
    unknown, role = _events(engine, "console.signin_refused")
    assert unknown.after == {"reason": "unknown_key", "client": "testclient", "key_prefix": "rk_not-a-r"}
    assert unknown.actor_kind == "system"
    assert role.after is not None and role.after["reason"] == "role" and role.actor_role == "bank"
    assert bank not in str(role.after) and role.after["key_prefix"] == bank[:10]
    with session_scope(engine) as s:
        assert s.exec(select(ConsoleSession)).all() == []


def test_a_session_unused_for_the_idle_time_ends(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    signed_in(app_client, keys.create("investigator", holder="Idle Person"))
    assert app_client.get("/console/cases").status_code == 200
    idle = timedelta(minutes=get_console_settings().idle_minutes + 1)
    with session_scope(engine) as s:
        s.execute(update(ConsoleSession).values(last_seen_at=utcnow() - idle))
    r = app_client.get("/console/cases", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/signin?next=/console/cases&ended=idle"
    with session_scope(engine) as s:
        [row] = s.exec(select(ConsoleSession)).all()
    assert row.end_reason == "idle"
    [ended] = _events(engine, "console.signout")
    assert ended.after == {"person": "idle person", "reason": "idle"}
    # the page answers with the sign-in form, saying why
    assert "бездействия" in app_client.get(r.headers["location"]).text


def test_revoking_the_key_ends_its_sessions(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    key = keys.create("supervisor", holder="Revoked Person")
    signed_in(app_client, key)
    with session_scope(engine) as s:
        key_id = s.exec(select(ApiKey.id).where(ApiKey.holder == "revoked person")).one()
        revoke_key(s, int(key_id or 0), CLI)
    r = app_client.get("/console/queue", follow_redirects=False)
    assert r.status_code == 303 and "ended=revoked" in r.headers["location"]


@SQLITE_ONLY
def test_sign_out_ends_the_session_for_good(app_client: TestClient, keys: Keys) -> None:
    csrf = signed_in(app_client, keys.create("investigator", holder="Leaving Person"))
    old = dict(app_client.cookies)
    r = app_client.post("/console/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert 'console_session=""' in r.headers["set-cookie"] or "Max-Age=0" in r.headers["set-cookie"]
    app_client.cookies.clear()
    app_client.cookies.update(old)  # the stolen cookie of a session that ended opens nothing
    assert app_client.get("/console/cases", follow_redirects=False).status_code == 303


def test_every_form_needs_the_sessions_csrf_token(app_client: TestClient, keys: Keys, engine: Engine) -> None:
    csrf = signed_in(app_client, keys.create("investigator", holder="Form Person"))
    for data in ({"number": "N-1", "title": "t"}, {"number": "N-2", "title": "t", "csrf_token": "forged"}):
        r = app_client.post("/console/cases", data=data, follow_redirects=False)
        assert r.status_code == 403, r.text[:500]
        assert "Форма устарела" in r.text  # the page says what happened, in the person's language
    r = app_client.post("/console/cases", data={"number": "N-3", "title": "t"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200  # the header htmx sends is accepted too
    r = app_client.post("/console/signout", data={}, follow_redirects=False)
    assert r.status_code == 403
    # the sign-in form's own token (login CSRF): a post without it signs nobody in
    app_client.cookies.clear()
    r = app_client.post("/console/signin", data={"key": "rk_x"}, follow_redirects=False)
    assert r.status_code == 403
    with session_scope(engine) as s:
        numbers = set(s.exec(select(AuditEvent.entity_id).where(AuditEvent.action == "case.create")).all())
    assert len(numbers) == 1


@SQLITE_ONLY
def test_menus_and_pages_follow_the_role(app_client: TestClient, keys: Keys) -> None:
    signed_in(app_client, keys.create("investigator", holder="Menu Investigator"))
    page = app_client.get("/console/cases").text
    assert 'href="/console/cases"' in page and 'href="/console/queue"' not in page
    assert app_client.get("/console/queue").status_code == 403
    assert app_client.get("/console/audit").status_code == 403
    app_client.cookies.clear()
    signed_in(app_client, keys.create("supervisor", holder="Menu Supervisor"))
    page = app_client.get("/console/queue").text
    assert all(f'href="/console/{p}"' in page for p in ("queue", "requests", "domains", "register", "jobs", "audit"))
    r = app_client.post("/console/cases", data={"number": "X", "title": "y", "csrf_token": form_token(page)})
    assert r.status_code == 403  # supervisors do not open cases


@SQLITE_ONLY
def test_after_sign_in_only_a_console_path_is_followed(app_client: TestClient, keys: Keys) -> None:
    key = keys.create("investigator", holder="Next Person")
    page = app_client.get("/console/signin?next=//evil.example/console")
    r = app_client.post(
        "/console/signin",
        data={"key": key, "csrf_token": form_token(page.text), "next": "//evil.example/console"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/cases"


@SQLITE_ONLY
def test_sign_in_attempts_are_limited_per_client(
    db_url: str, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRY_CONSOLE_SIGNIN_PER_MINUTE", "3")
    get_console_settings.cache_clear()
    try:
        with TestClient(create_app(settings, engine)) as client:
            codes = [sign_in(client, f"rk_wrong-{i}").status_code for i in range(5)]
    finally:
        get_console_settings.cache_clear()
    assert codes == [401, 401, 401, 429, 429]
    assert len(_events(engine, "console.signin_refused")) == 3  # a flood does not flood the audit log


def test_the_audit_page_filters_by_person_action_and_object(app_client: TestClient, keys: Keys) -> None:
    inv = keys.create("investigator", holder="Audit Investigator")
    csrf = signed_in(app_client, inv)
    app_client.post("/console/cases", data={"number": "AUD-1", "title": "audited", "csrf_token": csrf})
    app_client.cookies.clear()
    signed_in(app_client, keys.create("supervisor", holder="Audit Supervisor"))
    page = app_client.get("/console/audit", params={"person": "Audit Investigator"}).text
    assert "case.create" in page and "console.signin" in page and "key.create" not in page
    page = app_client.get("/console/audit", params={"person": "audit investigator", "action": "case."}).text
    assert "case.create" in page and "console.signin" not in page
    assert "<td>Audit Investigator</td>" in page  # the actor by name as written, not by key id
    assert "No events match" in app_client.get("/console/audit?object=case:999&lang=en").text
    assert app_client.get("/console/audit", params={"since": "yesterday"}).status_code == 422
