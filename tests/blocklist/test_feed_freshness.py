"""Feed freshness (issue 9, item 8): the signed manifest says when it was signed and until when it holds, so an old
signed feed replayed to an ISP is refused; an unchanged feed is signed again before it goes stale."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from blocklist.feeds.cache import FeedCache, publish
from blocklist.feeds.export import export_feed
from blocklist.feeds.service import FeedData
from blocklist.feeds.signing import Signer, StaleManifest, check_manifest, signed_payload, verify_manifest
from registry.app import create_app
from registry.settings import Settings
from tests.support.keys import Keys
from tests.support.paths import PEPPER

KEY = Ed25519PrivateKey.from_private_bytes(bytes.fromhex("11" * 32))
PUB = KEY.public_key()
FEED = FeedData(serial=42, blocked=["a-swap.com", "z-swap.co.uk"], passthru=["bybit.kz"])
DAY = 86_400
T0 = 43_200 * 41_667  # the start of a signing period (half a day) in 2027
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _t(iso: str) -> float:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def test_manifest_carries_generated_at_and_valid_until_inside_the_signature() -> None:
    m = publish(FEED, Signer(KEY, DAY), now=T0 + 5).manifest
    assert ISO_Z.fullmatch(m["generated_at"]) and ISO_Z.fullmatch(m["valid_until"])
    assert (m["generated_at"], m["valid_until"]) == (_iso(T0), _iso(T0 + DAY))
    assert b'"generated_at"' in signed_payload(m) and b'"valid_until"' in signed_payload(m)
    verify_manifest(m, PUB)
    for name, value in (
        ("generated_at", _iso(T0 + DAY)),
        ("valid_until", "2099-01-01T00:00:00Z"),
        ("serial", 43),
    ):
        with pytest.raises(InvalidSignature):
            verify_manifest({**m, name: value}, PUB)


def test_an_isp_refuses_an_expired_or_older_manifest() -> None:
    signer = Signer(KEY, DAY)
    old = publish(FEED, signer, now=T0).manifest
    resigned = publish(FEED, signer, now=T0 + DAY // 2).manifest  # same serial, next period
    newer = publish(FeedData(43, FEED.blocked, []), signer, now=T0 + 60).manifest
    check_manifest(old, PUB, now=T0 + 10)
    check_manifest(old, PUB, held=old, now=T0 + 10)  # the same one again
    check_manifest(newer, PUB, held=old, now=T0 + 70)
    check_manifest(resigned, PUB, held=old, now=T0 + DAY // 2)
    with pytest.raises(StaleManifest, match="expired"):
        check_manifest(old, PUB, now=T0 + DAY + 1)
    with pytest.raises(StaleManifest, match="older"):
        check_manifest(old, PUB, held=newer, now=T0 + 70)  # a replayed lower serial
    with pytest.raises(StaleManifest, match="older"):
        check_manifest(old, PUB, held=resigned, now=T0 + DAY // 2)  # same serial, signed earlier
    with pytest.raises(InvalidSignature):
        check_manifest({**old, "valid_until": _iso(T0 + 10 * DAY)}, PUB, now=T0 + 2 * DAY)


def test_workers_sign_the_same_bytes_within_a_signing_period() -> None:
    """Two workers (or the API and the export job) signing the same serial agree, so ETags and ISPs' checks do
    not flap between them; at the turn of the period the manifest changes and the files do not."""
    signer = Signer(KEY, DAY)
    a, b = publish(FEED, signer, now=T0 + 1), publish(FEED, signer, now=T0 + DAY // 2 - 1)
    assert a.manifest_body == b.manifest_body and a.manifest_etag == b.manifest_etag
    c = publish(FEED, signer, now=T0 + DAY // 2)
    assert c.manifest_etag != a.manifest_etag and c.etags == a.etags and c.bodies == a.bodies


def test_the_cache_signs_again_before_the_manifest_goes_stale(seeded: Engine) -> None:
    clock = [float(T0)]
    cache = FeedCache(seeded, Signer(KEY, 10), poll_seconds=60, clock=lambda: clock[0])
    assert cache.refresh(force=True)
    first = cache.current
    assert (first.manifest["generated_at"], first.manifest["valid_until"]) == (_iso(T0), _iso(T0 + 10))
    clock[0] = T0 + 4.9
    assert not cache.refresh() and cache.current is first  # more than half left: nothing to do
    clock[0] = T0 + 5
    assert cache.refresh()  # nothing changed in the feed, yet a new manifest
    second = cache.current
    assert second.serial == first.serial and second.bodies is first.bodies and second.etags == first.etags
    assert (second.manifest["generated_at"], second.manifest["valid_until"]) == (_iso(T0 + 5), _iso(T0 + 15))
    assert second.manifest_etag != first.manifest_etag
    assert second.not_modified["manifest"] != first.not_modified["manifest"]
    assert second.not_modified["rpz"] == first.not_modified["rpz"]
    check_manifest(second.manifest, PUB, held=first.manifest, now=clock[0])
    for step in range(60):  # polled at any moment, the manifest served has at least half its validity left
        clock[0] = T0 + 5 + step * 0.37
        cache.refresh()
        until = _t(cache.current.manifest["valid_until"])
        assert until - clock[0] >= 5 and _t(cache.current.manifest["generated_at"]) <= clock[0]
        check_manifest(cache.current.manifest, PUB, now=clock[0])


def test_the_api_serves_a_manifest_signed_again_with_nothing_changed(
    db_url: str, seeded: Engine, keys: Keys, monkeypatch: pytest.MonkeyPatch, signing_public_key: Any
) -> None:
    monkeypatch.setenv("REGISTRY_FEED_VALIDITY_SECONDS", "2")  # a new signing period every second
    monkeypatch.setenv("REGISTRY_FEED_POLL_SECONDS", "0.05")
    isp = keys.headers("isp")
    with TestClient(create_app(Settings(database_url=db_url, key_pepper=PEPPER), seeded)) as client:
        r1 = client.get("/v1/blocklist/manifest", headers=isp)
        first = r1.json()
        assert _t(first["valid_until"]) - _t(first["generated_at"]) == 2
        check_manifest(first, signing_public_key)
        deadline = time.monotonic() + 10
        while True:
            second = client.get("/v1/blocklist/manifest", headers=isp).json()
            if second["generated_at"] != first["generated_at"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert second["serial"] == first["serial"] and second["formats"] == first["formats"]
        assert _t(second["generated_at"]) > _t(first["generated_at"])
        check_manifest(second, signing_public_key, held=first)
        stale = client.get("/v1/blocklist/manifest", headers={**isp, "If-None-Match": r1.headers["ETag"]})
        assert stale.status_code == 200  # the old ETag no longer matches: the ISP gets the fresh manifest


def test_the_export_directory_gets_a_fresh_manifest_too(tmp_path: Path) -> None:
    """``export_feed`` (for ``REGISTRY_FEED_EXPORT_DIR``): files when the serial moves, the manifest each period."""
    signer = Signer(KEY, 10)
    assert export_feed(tmp_path, FEED, signer, now=T0)
    first = orjson.loads((tmp_path / "manifest.json").read_bytes())
    rpz = tmp_path / "blocklist.rpz.zone"
    written = rpz.stat().st_mtime_ns
    assert not export_feed(tmp_path, FEED, signer, now=T0 + 4.9)
    assert export_feed(tmp_path, FEED, signer, now=T0 + 5)
    second = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert second["generated_at"] == _iso(T0 + 5) and second["formats"] == first["formats"]
    check_manifest(second, PUB, held=first, now=T0 + 5)
    assert rpz.stat().st_mtime_ns == written  # the files did not change
    assert export_feed(tmp_path, FeedData(43, FEED.blocked, []), signer, now=T0 + 6)
    third = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert third["serial"] == 43 and (tmp_path / "SERIAL").read_text() == "43\n"
    assert hashlib.sha256(rpz.read_bytes()).hexdigest() == third["formats"]["rpz"]["sha256"]
