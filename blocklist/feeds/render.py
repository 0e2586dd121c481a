"""Feed renderers: pure functions from the feed (one serial) to the bytes an ISP's software loads.

Output depends on the feed alone (no clock, no host name), so every worker renders byte-identical files for a
serial and the sha256 in the signed manifest matches whichever worker served the file.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from blocklist.feeds.service import FeedData

FORMATS = ("txt", "hosts", "rpz", "unbound", "dnsmasq", "adblock", "squid", "json", "csv")
MEDIA_TYPES = {
    "txt": "text/plain; charset=utf-8",
    "hosts": "text/plain; charset=utf-8",
    "rpz": "text/dns; charset=utf-8",
    "unbound": "text/plain; charset=utf-8",
    "dnsmasq": "text/plain; charset=utf-8",
    "adblock": "text/plain; charset=utf-8",
    "squid": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}
FILE_NAMES = {
    "txt": "blocklist.txt",
    "hosts": "blocklist.hosts",
    "rpz": "blocklist.rpz.zone",
    "unbound": "blocklist.unbound.conf",
    "dnsmasq": "blocklist.dnsmasq.conf",
    "adblock": "blocklist.adblock.txt",
    "squid": "blocklist.squid.txt",
    "json": "blocklist.json",
    "csv": "blocklist.csv",
}
TITLE = "Unlicensed crypto exchangers (blocklist)"
RPZ_TTL = 300


def _lines(header: list[str], body: list[str]) -> bytes:
    return ("\n".join(header + body) + "\n").encode()


def render_txt(f: FeedData) -> bytes:
    return _lines(
        [f"# {TITLE}", f"# serial {f.serial}", f"# {len(f.blocked)} domains; each blocks its subdomains"],
        f.blocked,
    )


def render_hosts(f: FeedData) -> bytes:
    """``0.0.0.0 d`` and ``0.0.0.0 www.d`` for every blocked domain.

    A hosts file has no wildcards: it blocks exactly the names listed, and ``obmenka-usdt.kz`` alone left
    ``www.obmenka-usdt.kz`` open (issue 10). The ``www.`` name is the one subdomain every shop answers on, so it is
    listed too, unless that name is licensed (a pass-through) or listed in its own right. Any other subdomain
    cannot be covered by a hosts file: resolvers should load the ``rpz`` or ``dnsmasq`` format."""
    passthru = set(f.passthru)
    blocked = set(f.blocked)
    body: list[str] = []
    for d in f.blocked:
        body.append(f"0.0.0.0 {d}")
        www = f"www.{d}"
        if not d.startswith("www.") and www not in passthru and www not in blocked:
            body.append(f"0.0.0.0 {www}")
    head = [
        f"# {TITLE}",
        f"# serial {f.serial}",
        "# exact names only: each domain and its www. name; other subdomains need the rpz or dnsmasq format",
    ]
    return _lines(head, body)


def render_rpz(f: FeedData) -> bytes:
    """A response policy zone; names are relative, so the ISP picks the zone name (``$ORIGIN``) in its config.

    ``CNAME .`` answers NXDOMAIN; ``*.d`` covers subdomains; ``CNAME rpz-passthru.`` exempts licensed domains,
    and an exact QNAME trigger wins over a wildcard, so a licensed name stays resolvable under a blocked one.
    """
    head = [
        f"; {TITLE}",
        f"$TTL {RPZ_TTL}",
        f"@ SOA localhost. hostmaster.localhost. {f.serial} 300 60 604800 {RPZ_TTL}",
        "@ NS localhost.",
    ]
    body: list[str] = []
    for d in f.blocked:
        body.append(f"{d} CNAME .")
        body.append(f"*.{d} CNAME .")
    for d in f.passthru:
        body.append(f"{d} CNAME rpz-passthru.")
        body.append(f"*.{d} CNAME rpz-passthru.")
    return _lines(head, body)


def render_unbound(f: FeedData) -> bytes:
    # The most specific local-zone wins in Unbound: a transparent zone for a licensed name beats a block above it.
    head = [f"# {TITLE}", f"# serial {f.serial}", "server:"]
    body = [f'    local-zone: "{d}." always_nxdomain' for d in f.blocked]
    body += [f'    local-zone: "{d}." transparent' for d in f.passthru]
    return _lines(head, body)


def render_dnsmasq(f: FeedData) -> bytes:
    # address=/d/ with no address answers NXDOMAIN for d and every subdomain; server=/d/# sends d to the usual
    # upstreams (the more specific match wins), which keeps licensed names resolvable.
    body = [f"address=/{d}/" for d in f.blocked] + [f"server=/{d}/#" for d in f.passthru]
    return _lines([f"# {TITLE}", f"# serial {f.serial}"], body)


def render_adblock(f: FeedData) -> bytes:
    head = ["[Adblock Plus 2.0]", f"! Title: {TITLE}", f"! Version: {f.serial}"]
    return _lines(head, [f"||{d}^" for d in f.blocked] + [f"@@||{d}^" for d in f.passthru])


def _without_covered(domains: list[str]) -> list[str]:
    """Drop names already covered by a listed parent: Squid refuses overlapping dstdomain entries."""
    listed = set(domains)
    out = []
    for d in domains:
        i = d.find(".")
        while i != -1:
            parent = d[i + 1 :]
            if "." not in parent or parent in listed:  # a bare TLD is never listed
                break
            i = d.find(".", i + 1)
        if i == -1 or "." not in d[i + 1 :]:
            out.append(d)
    return out


def render_squid(f: FeedData) -> bytes:
    return _lines([f"# {TITLE}", f"# serial {f.serial}"], [f".{d}" for d in _without_covered(f.blocked)])


def render_json(f: FeedData) -> bytes:
    return orjson.dumps(
        {"serial": f.serial, "blocked": f.blocked, "passthru": f.passthru, "subdomains": True},
        option=orjson.OPT_APPEND_NEWLINE,
    )


def render_csv(f: FeedData) -> bytes:
    # Domains are LDH punycode (no comma, quote or newline), so no CSV quoting is ever needed.
    rows = [f"{d},block" for d in f.blocked] + [f"{d},pass" for d in f.passthru]
    return _lines(["domain,action"], rows)


RENDERERS: dict[str, Callable[[FeedData], bytes]] = {
    "txt": render_txt,
    "hosts": render_hosts,
    "rpz": render_rpz,
    "unbound": render_unbound,
    "dnsmasq": render_dnsmasq,
    "adblock": render_adblock,
    "squid": render_squid,
    "json": render_json,
    "csv": render_csv,
}


def render(fmt: str, feed: FeedData) -> bytes:
    return RENDERERS[fmt](feed)
