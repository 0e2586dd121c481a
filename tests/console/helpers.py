"""Signing in to the console with a test client, as a browser would (the sign-in form's token, then the cookie)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, key: str) -> Any:
    """Post the sign-in form; returns the response (a 303 to the role's first page when it worked)."""
    page = client.get("/console/signin")
    assert page.status_code == 200
    return client.post(
        "/console/signin", data={"key": key, "csrf_token": form_token(page.text)}, follow_redirects=False
    )


def signed_in(client: TestClient, key: str) -> str:
    """Sign in and return the session's CSRF token (from the first page)."""
    r = sign_in(client, key)
    assert r.status_code == 303, r.text[:2000]
    page = client.get(r.headers["location"])
    assert page.status_code == 200, page.text[:2000]
    return form_token(page.text)
