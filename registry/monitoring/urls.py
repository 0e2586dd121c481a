"""Which webhook URLs the registry will call.

The worker sends requests from inside the agency's network, so a URL is a way to make the registry reach a host a
bank should not reach through it (SSRF): the agency's own services on loopback or the internal network, a cloud
metadata address. Refused, unless ``REGISTRY_MONITORING_ALLOW_PRIVATE_URLS`` says the banks are reached over a
private network: schemes other than https (and http when ``REGISTRY_MONITORING_ALLOW_PLAIN_HTTP``), credentials in
the URL (they would sit in logs), and hosts that are, or resolve to, loopback, private, link-local, multicast,
reserved or unspecified addresses. An IP literal is checked when the URL is registered; a name is resolved and
checked again before each delivery batch (a name can be pointed elsewhere after registration), and redirects are
never followed. Between that check and the connection a name could still be re-pointed (DNS rebinding), so the
firm defence is the network's: run ``registry worker`` where its egress reaches only the banks' endpoints.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from registry.errors import InvalidInput


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bad = ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
    return bad or ip.is_unspecified or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)


def check_url(url: str, *, allow_private: bool, allow_http: bool) -> str:
    """The URL as stored, or ``InvalidInput`` (422) saying what is wrong with it."""
    u = url.strip()
    try:
        parts = urlsplit(u)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as e:
        raise InvalidInput(f"not a URL: {e}", details={"field": "url", "reason": "url_parsing"}) from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme.lower() not in schemes:
        raise InvalidInput(
            f"the webhook URL must use {' or '.join(schemes)}, not {parts.scheme or 'no scheme'!r}",
            details={"field": "url", "reason": "url_scheme"},
        )
    if not parts.hostname:
        raise InvalidInput("the webhook URL names no host", details={"field": "url", "reason": "url_host"})
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(
            "no credentials in the webhook URL: verify our signature instead (webhook-signature)",
            details={"field": "url", "reason": "url_credentials"},
        )
    if parts.fragment:
        raise InvalidInput("no fragment (#…) in the webhook URL", details={"field": "url", "reason": "url_fragment"})
    if not allow_private:
        try:
            ip = ipaddress.ip_address(parts.hostname)
        except ValueError:
            ip = None
        if ip is not None and _forbidden_ip(ip):
            raise InvalidInput(
                f"{parts.hostname} is a loopback, private or reserved address: the registry does not call into "
                "its own network (REGISTRY_MONITORING_ALLOW_PRIVATE_URLS)",
                details={"field": "url", "reason": "url_private"},
            )
        if parts.hostname.lower() in ("localhost", "localhost.localdomain") or parts.hostname.lower().endswith(
            ".localhost"
        ):
            raise InvalidInput(
                "localhost is this machine: the registry does not call into its own network",
                details={"field": "url", "reason": "url_private"},
            )
    return u


def resolves_privately(url: str) -> str | None:
    """The first forbidden address ``url``'s host resolves to, or None (checked before deliveries)."""
    host = urlsplit(url).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
        return str(ip) if _forbidden_ip(ip) else None
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # the delivery fails on its own, with the resolver's error
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _forbidden_ip(addr):
            return str(addr)
    return None
