"""Feed renderers and signing, on a small feed: every format parses the way the consuming software reads it."""

from __future__ import annotations

import csv
import io

import dns.name
import dns.rdatatype
import dns.zone
import orjson
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from blocklist.feeds.cache import publish
from blocklist.feeds.render import FORMATS, render
from blocklist.feeds.service import FeedData
from blocklist.feeds.signing import Signer, parse_private_key, verify_manifest

FEED = FeedData(
    serial=42,
    blocked=["a-swap.com", "pay.a-swap.com", "xn--90aiufb.xn--p1ai", "z-swap.co.uk"],
    passthru=["bybit.kz"],
)


def test_rpz_is_a_valid_zone_with_the_serial_and_wildcards() -> None:
    zone = dns.zone.from_text(render("rpz", FEED).decode(), origin="rpz.isp.example.", relativize=False)
    soa = zone.find_rdataset("rpz.isp.example.", dns.rdatatype.SOA)[0]
    assert soa.serial == 42
    for d in FEED.blocked:
        for owner in (d, f"*.{d}"):
            rr = zone.find_rdataset(f"{owner}.rpz.isp.example.", dns.rdatatype.CNAME)[0]
            assert rr.target == dns.name.root  # CNAME . = NXDOMAIN
    rr = zone.find_rdataset("bybit.kz.rpz.isp.example.", dns.rdatatype.CNAME)[0]
    assert rr.target.to_text() == "rpz-passthru."


def test_line_formats() -> None:
    lines = {fmt: render(fmt, FEED).decode().splitlines() for fmt in FORMATS}
    assert [x for x in lines["txt"] if not x.startswith("#")] == FEED.blocked
    assert "0.0.0.0 a-swap.com" in lines["hosts"] and "0.0.0.0 bybit.kz" not in lines["hosts"]
    assert 'local-zone: "a-swap.com." always_nxdomain' in [x.strip() for x in lines["unbound"]]
    assert 'local-zone: "bybit.kz." transparent' in [x.strip() for x in lines["unbound"]]
    assert "address=/a-swap.com/" in lines["dnsmasq"] and "server=/bybit.kz/#" in lines["dnsmasq"]
    assert "||a-swap.com^" in lines["adblock"] and "@@||bybit.kz^" in lines["adblock"]
    assert lines["adblock"][0] == "[Adblock Plus 2.0]" and "! Version: 42" in lines["adblock"]
    squid = [x for x in lines["squid"] if not x.startswith("#")]
    assert squid == [".a-swap.com", ".xn--90aiufb.xn--p1ai", ".z-swap.co.uk"]  # pay.a-swap.com is covered
    rows = list(csv.DictReader(io.StringIO(render("csv", FEED).decode())))
    assert {(r["domain"], r["action"]) for r in rows} == {(d, "block") for d in FEED.blocked} | {("bybit.kz", "pass")}
    js = orjson.loads(render("json", FEED))
    assert js["serial"] == 42 and js["blocked"] == FEED.blocked and js["passthru"] == ["bybit.kz"]


def test_renders_are_deterministic_so_every_worker_serves_the_signed_bytes() -> None:
    signer = Signer(parse_private_key("11" * 32))
    a, b = publish(FEED, signer), publish(FEED, signer)
    assert a.bodies == b.bodies and a.etags == b.etags and a.manifest == b.manifest
    assert len(set(a.etags.values())) == len(FORMATS)
    other = publish(FeedData(43, FEED.blocked, FEED.passthru), signer)
    assert all(other.etags[f] != a.etags[f] for f in FORMATS)  # a new serial never reuses an ETag


def test_pem_and_hex_keys_and_signature_checks() -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    ).hex()
    from_pem, from_hex = Signer(parse_private_key(pem)), Signer(parse_private_key(seed))
    assert from_pem.public_raw == from_hex.public_raw == key.public_key().public_bytes_raw()
    manifest = publish(FEED, from_pem).manifest
    verify_manifest(manifest, key.public_key())
    with pytest.raises(InvalidSignature):
        verify_manifest(manifest, Ed25519PrivateKey.generate().public_key())
    forged = {**manifest, "formats": {**manifest["formats"], "rpz": {**manifest["formats"]["rpz"], "sha256": "0" * 64}}}
    with pytest.raises(InvalidSignature):
        verify_manifest(forged, key.public_key())


def test_hosts_lists_the_www_name_of_every_blocked_domain_but_never_a_licensed_one() -> None:
    """A hosts file has no wildcards: ``obmenka-usdt.kz`` alone left ``www.obmenka-usdt.kz`` open (issue 10)."""
    feed = FeedData(
        serial=7,
        blocked=["a-swap.com", "obmenka-usdt.kz", "swap-kz.com", "www.swap-kz.com"],
        passthru=["bybit.kz", "www.a-swap.com"],  # a licensed www. name under a blocked one stays resolvable
    )
    body = render("hosts", feed).decode()
    names = [x.split()[1] for x in body.splitlines() if x and not x.startswith("#")]
    assert names == [
        "a-swap.com",
        "obmenka-usdt.kz",
        "www.obmenka-usdt.kz",
        "swap-kz.com",
        "www.swap-kz.com",  # listed once, though it is also the www. name of swap-kz.com (and no www.www.)
    ]
    assert all(x.startswith("0.0.0.0 ") for x in body.splitlines() if x and not x.startswith("#"))
    assert "rpz or dnsmasq" in body.splitlines()[2]  # the limitation is said where the ISP reads the file
    # the other formats already cover every subdomain and are unchanged: no www. names in them
    assert "www.obmenka-usdt.kz" not in render("txt", feed).decode()
    assert "address=/obmenka-usdt.kz/" in render("dnsmasq", feed).decode()
