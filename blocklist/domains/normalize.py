"""Turning whatever an investigator pastes (URL, host with port, Unicode, trailing dot) into one canonical host.

Two spellings of one domain must become one feed line, or the feed blocks one and lets the other through; and a
public suffix (``com``, ``co.uk``) must never be accepted, or one submission would block a whole namespace.
The Public Suffix List comes from the ``publicsuffixlist`` package, which ships it: nothing is downloaded at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

from registry.errors import InvalidDomain

MAX_INPUT = 2048
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_PORT = re.compile(r":\d*$")


@dataclass(frozen=True, slots=True)
class NormalizedDomain:
    host: str  # punycode, lower case, no trailing dot
    registrable: str  # the label just under the public suffix, plus the suffix (e.g. bybit.co.uk)
    suffix: str  # the public suffix (co.uk)
    label: str  # the registrable label, decoded to Unicode (bybit); lookalike checks compare these

    @property
    def unicode_host(self) -> str:
        return _to_unicode(self.host)


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # accept_unknown=False: a host under a TLD that does not exist is a typo or an internal name, not a website.
    return PublicSuffixList(accept_unknown=False)


def _to_unicode(host: str) -> str:
    try:
        return str(idna.decode(host))
    except idna.IDNAError:
        return host


def extract_host(raw: str) -> str:
    """The host part of a URL or host[:port][/path]; no validation beyond the shape."""
    s = raw.strip()
    s = _SCHEME.sub("", s, count=1)
    for sep in "/?#\\":
        s = s.split(sep, 1)[0]
    s = s.rsplit("@", 1)[-1]  # user:password@host
    if s.startswith("["):
        raise InvalidDomain(f"{raw[:100]!r} is an IP address, not a domain")
    return _PORT.sub("", s)


def normalize_domain(raw: str) -> NormalizedDomain:
    """Raise ``InvalidDomain`` with a message that says what is wrong; never guess."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidDomain("the domain is empty")
    if len(raw) > MAX_INPUT:
        raise InvalidDomain(f"the input is {len(raw)} characters long; a URL or domain has at most {MAX_INPUT}")
    host = extract_host(raw)
    if host.endswith("."):
        host = host[:-1]  # the root label: bybit.kz. and bybit.kz are one name
    if not host:
        raise InvalidDomain(f"{raw[:100]!r} has no host name")
    if any(not label for label in host.split(".")):
        raise InvalidDomain(f"{host[:100]!r} has an empty label (two dots in a row, or a leading dot)")
    for label in host.split("."):
        if len(label) > 63 and not label.lower().startswith("xn--"):
            raise InvalidDomain(f"a label of {host[:60]!r}… is {len(label)} characters long; DNS allows 63")
    try:
        # UTS 46 (non-transitional, as browsers do) maps case and compatibility forms, then IDNA 2008 encodes.
        ascii_host = idna.encode(host, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as e:
        raise InvalidDomain(f"{host[:100]!r} is not a valid host name: {e}") from None
    ascii_host = ascii_host.lower()
    if len(ascii_host) > 253:
        raise InvalidDomain(f"the host name is {len(ascii_host)} characters long; DNS allows 253")
    labels = ascii_host.split(".")
    if len(labels) < 2:
        raise InvalidDomain(f"{ascii_host!r} is a public suffix (a top-level domain), not a website's domain")
    if labels[-1].isdigit():
        raise InvalidDomain(f"{ascii_host!r} is an IP address, not a domain")
    psl = _psl()
    suffix = psl.publicsuffix(ascii_host)
    if suffix is None:
        raise InvalidDomain(f"{ascii_host!r} is not under a known top-level domain (Public Suffix List)")
    registrable = psl.privatesuffix(ascii_host)
    if registrable is None:
        raise InvalidDomain(
            f"{ascii_host!r} is a public suffix (like com or co.uk): blocking it would block every site under it"
        )
    if labels[0] == "www" and ascii_host != "www." + suffix and ascii_host != registrable:
        ascii_host = ascii_host[4:]  # www.x.kz is how people write x.kz; x.kz and its subdomains are what we mean
    label = _to_unicode(registrable.split(".", 1)[0])
    return NormalizedDomain(host=ascii_host, registrable=registrable, suffix=suffix, label=label)


def parents(host: str) -> list[str]:
    """The host and every parent domain above it (not the bare TLD): the names whose licence would cover it."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def is_within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)
