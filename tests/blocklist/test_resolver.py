"""The feeds load into a real Unbound: blocked names and their subdomains answer NXDOMAIN, licensed names resolve,
also a licensed name under a blocked parent (the pass-through lines are what keep it resolvable).

The RPZ comes over HTTP the way an ISP gets it (only its key; signature and sha256 checked first); the Unbound
``local-zone`` file comes from ``registry blocklist export``."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from blocklist.domains.service import approve, submit
from blocklist.feeds.signing import verify_manifest
from blocklist.models import DomainCreate
from blocklist.routes import FEEDS
from blocklist.tables import FeedAction, FeedEntry
from registry.auth.service import Principal
from registry.auth.tables import Role
from registry.db import state
from registry.db.engine import session_scope
from tests.registry.helpers import insert_case
from tests.support.servers import free_port

pytestmark = pytest.mark.resolver

UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
CHECKCONF = shutil.which("unbound-checkconf") or "/usr/sbin/unbound-checkconf"
INVESTIGATOR = Principal(101, Role.investigator, "FIU", "ivan")
SUPERVISOR = Principal(102, Role.supervisor, "FIU", "sara")
UPSTREAM = {  # what the internet would answer; the resolver forwards to a stand-in serving these
    "shadow-swap.com": "192.0.2.1",
    "www.shadow-swap.com": "192.0.2.1",
    "deep.pay.shadow-swap.com": "192.0.2.1",
    "bybit.kz": "192.0.2.2",
    "api.bybit.kz": "192.0.2.3",
    "unlisted-shop.com": "192.0.2.4",
    "swap-hub.kz": "192.0.2.5",  # blocked parent ...
    "www.swap-hub.kz": "192.0.2.5",
    "other.swap-hub.kz": "192.0.2.6",
    "bybit.swap-hub.kz": "192.0.2.7",  # ... of a licensed name
    "api.bybit.swap-hub.kz": "192.0.2.8",
}
BLOCKED_PARENT, LICENSED_UNDER_IT = "swap-hub.kz", "bybit.swap-hub.kz"


@pytest.fixture(scope="module")
def unbound_bin() -> str:
    if not Path(UNBOUND).exists():
        if os.environ.get("CI"):
            pytest.fail("unbound is not installed: make test installs the Debian package")
        pytest.skip("unbound not installed (apt-get install unbound)")
    return UNBOUND


def _block(engine: Engine, domain: str) -> None:
    with session_scope(engine) as s:
        case_id = insert_case(engine, f"R-{domain}", "ivan")
        entry = submit(s, case_id, DomainCreate(domain=domain, legal_basis="unlicensed exchange"), INVESTIGATOR)
        approve(s, entry.id, SUPERVISOR, "evidence reviewed")


def _licensed_under_blocked_parent(engine: Engine) -> None:
    """The feed state an ISP combining feeds may face: a blocked parent and a licensed name under it, both live.

    The product itself never publishes this (a licence for a name under a blocked parent delists the parent, and
    a parent of a licensed name is refused), so the rows are written straight into ``feed_entry`` with a serial
    bump, the way ``sync_feed`` writes them. This is what the RPZ's ``rpz-passthru`` lines and the transparent
    ``local-zone`` are for.
    """
    with session_scope(engine) as s:
        serial = state.bump(s, state.BLOCKLIST)
        s.add(FeedEntry(domain=BLOCKED_PARENT, action=FeedAction.block.value, serial=serial))
        s.add(FeedEntry(domain=LICENSED_UNDER_IT, action=FeedAction.passthru.value, serial=serial))


class Upstream:
    """A minimal authoritative server on a loopback UDP port (dnspython), standing in for the internet."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            q = dns.message.from_wire(data)
            resp = dns.message.make_response(q)
            resp.flags |= dns.flags.AA
            name = q.question[0].name.to_text().rstrip(".").lower()
            ip = UPSTREAM.get(name)
            if ip is None:
                resp.set_rcode(dns.rcode.NXDOMAIN)
            elif q.question[0].rdtype == dns.rdatatype.A:
                resp.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "A", ip))
            self.sock.sendto(resp.to_wire(), addr)

    def close(self) -> None:
        self.sock.close()


def _config(tmp_path: Path, port: int, fmt: str, feed: Path, upstream: int) -> Path:
    server = f"""server:
    interface: 127.0.0.1
    port: {port}
    do-ip6: no
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{tmp_path}"
    pidfile: ""
    use-syslog: no
    logfile: ""
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    module-config: "{"respip " if fmt == "rpz" else ""}iterator"
    num-threads: 1
    do-not-query-localhost: no
    qname-minimisation: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@{upstream}
"""
    if fmt == "rpz":
        server += f"rpz:\n    name: rpz.blocklist.\n    zonefile: {feed}\n"
    else:
        server += f"include: {feed}\n"
    path = tmp_path / "unbound.conf"
    path.write_text(server)
    return path


def _fetch_verified(client: TestClient, isp: dict[str, str], fmt: str) -> bytes:
    """What an ISP does with only its key: fetch the public key, the manifest and the feed, and check both the
    signature and the sha256 before loading anything."""
    pem = client.get("/v1/blocklist/public-key", headers=isp).json()["pem"]
    public_key = load_pem_public_key(pem.encode())
    assert isinstance(public_key, Ed25519PublicKey)
    manifest = client.get("/v1/blocklist/manifest", headers=isp).json()
    verify_manifest(manifest, public_key)
    body = client.get("/v1/blocklist", params={"format": fmt}, headers=isp).content
    assert hashlib.sha256(body).hexdigest() == manifest["formats"][fmt]["sha256"]
    return bytes(body)


@pytest.fixture
def resolver(
    unbound_bin: str,
    tmp_path: Path,
    run_cli: Any,
    app_client: TestClient,
    keys: Any,
    engine: Engine,
    request: pytest.FixtureRequest,
) -> Iterator[int]:
    fmt, via = str(request.param).split("-")
    _block(engine, "shadow-swap.com")
    _licensed_under_blocked_parent(engine)
    feed = tmp_path / f"feed.{fmt}"
    if via == "http":
        cast(FastAPI, app_client.app).state.ctx[FEEDS].refresh()  # the poller does this within a second
        feed.write_bytes(_fetch_verified(app_client, keys.headers("isp"), fmt))
    else:
        out = run_cli("export", "--format", fmt, "--output", str(feed))  # as an operator's cron job would
        assert out.exit_code == 0, out.output
    upstream = Upstream()
    request.addfinalizer(upstream.close)  # noqa: PT021 - set up before the try below; closed even if unbound fails
    port = free_port()
    conf = _config(tmp_path, port, fmt, feed, upstream.port)
    check = subprocess.run([CHECKCONF, str(conf)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.Popen([unbound_bin, "-d", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                dns.query.udp(dns.message.make_query("unlisted-shop.com", "A"), "127.0.0.1", port=port, timeout=0.5)
                break
            except (dns.exception.Timeout, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise RuntimeError(f"unbound did not start: {out[-2000:]}") from None
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _ask(port: int, name: str) -> tuple[int, list[str]]:
    resp = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=3)
    addrs = [r.to_text() for rr in resp.answer if rr.rdtype == dns.rdatatype.A for r in rr]
    return resp.rcode(), addrs


@pytest.mark.parametrize("resolver", ["rpz-http", "unbound-cli"], indirect=True)
def test_feed_blocks_in_a_real_resolver(resolver: int) -> None:
    for name in ("shadow-swap.com", "www.shadow-swap.com", "deep.pay.shadow-swap.com"):
        assert _ask(resolver, name)[0] == dns.rcode.NXDOMAIN, name
    assert _ask(resolver, "bybit.kz") == (dns.rcode.NOERROR, ["192.0.2.2"])  # licensed: passes through
    assert _ask(resolver, "api.bybit.kz") == (dns.rcode.NOERROR, ["192.0.2.3"])
    assert _ask(resolver, "unlisted-shop.com") == (dns.rcode.NOERROR, ["192.0.2.4"])


@pytest.mark.parametrize("resolver", ["rpz-http", "unbound-cli"], indirect=True)
def test_licensed_name_under_a_blocked_parent_resolves_and_the_rest_of_the_parent_does_not(resolver: int) -> None:
    """RPZ: ``bybit.swap-hub.kz CNAME rpz-passthru.`` (and its ``*.``) beat ``*.swap-hub.kz CNAME .``, the exact
    and the more specific wildcard trigger winning. Unbound's format expresses the same with a ``transparent``
    local-zone under the ``always_nxdomain`` one (the most specific local-zone wins). Drop the pass-through lines
    and the licensed names answer NXDOMAIN here."""
    for name in (BLOCKED_PARENT, "www.swap-hub.kz", "other.swap-hub.kz"):
        assert _ask(resolver, name)[0] == dns.rcode.NXDOMAIN, name
    assert _ask(resolver, LICENSED_UNDER_IT) == (dns.rcode.NOERROR, ["192.0.2.7"])
    assert _ask(resolver, "api.bybit.swap-hub.kz") == (dns.rcode.NOERROR, ["192.0.2.8"])
