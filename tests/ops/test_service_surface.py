"""Health, readiness, metrics, request ids, rate limits and log redaction."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from blocklist.routes import FEEDS
from registry.ops.observability import JsonFormatter, RedactSecrets
from registry.settings import Settings
from tests.support.keys import Keys


def test_health_readiness_and_metrics(app_client: TestClient, keys: Keys) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok"}
    ready = app_client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["migrations"] == "ok"
    bank = keys.headers("bank")
    app_client.post("/v1/screen", json={"address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}, headers=bank)
    text = app_client.get("/metrics").text
    assert 'registry_http_requests_total{method="POST",route="/v1/screen",status="200"}' in text
    assert 'registry_screenings_total{level="low"}' in text
    assert 'registry_state{name="registry"}' in text
    assert "registry_http_request_seconds_bucket" in text


def test_request_id_is_echoed_or_made(app_client: TestClient) -> None:
    r = app_client.get("/healthz", headers={"X-Request-ID": "bank-req-42"})
    assert r.headers["x-request-id"] == "bank-req-42"
    r = app_client.get("/healthz", headers={"X-Request-ID": "bad id with spaces;;"})
    made = r.headers["x-request-id"]
    assert made != "bad id with spaces;;" and len(made) == 32 and made.isalnum()


def test_rate_limit_answers_429_with_retry_after(db_url: str, engine: object, keys: Keys) -> None:
    from registry.app import create_app
    from tests.support.paths import PEPPER

    settings = Settings(database_url=db_url, key_pepper=PEPPER, rate_limit_per_second=1, rate_limit_burst=3)
    bank = keys.headers("bank")
    with TestClient(create_app(settings, engine)) as client:  # type: ignore[arg-type]
        codes = [client.get("/v1/categories", headers=bank).status_code for _ in range(6)]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        r = client.get("/v1/categories", headers=bank)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # another key has its own bucket
        isp = keys.headers("isp")
        assert client.get("/v1/categories", headers=isp).status_code == 200
        # the blocklist's 304 shortcut charges the same bucket: a polling ISP is limited too
        client.app.state.ctx[FEEDS].refresh()  # type: ignore[attr-defined]
        etag = client.get("/v1/blocklist", headers=isp).headers["ETag"]
        polls = [client.get("/v1/blocklist", headers={**isp, "If-None-Match": etag}).status_code for _ in range(4)]
        assert polls[0] == 304 and polls[-1] == 429


@pytest.mark.parametrize(
    "message",
    ["key rk_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 used", "header Authorization: Bearer s3cr3t-token-value"],
)
def test_logs_never_carry_keys(message: str) -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    RedactSecrets().filter(record)
    line = JsonFormatter().format(record)
    assert "rk_AbCd" not in line and "s3cr3t" not in line and "[redacted]" in line
