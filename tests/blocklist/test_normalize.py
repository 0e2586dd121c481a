from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blocklist.domains.normalize import normalize_domain
from registry.errors import InvalidDomain


@pytest.mark.parametrize(
    ("raw", "host", "registrable"),
    [
        ("bybit-pay.com", "bybit-pay.com", "bybit-pay.com"),
        ("HTTPS://Shadow-Exchange.COM:8443/login?next=/", "shadow-exchange.com", "shadow-exchange.com"),
        ("shadow-exchange.com.", "shadow-exchange.com", "shadow-exchange.com"),
        ("  http://user:pw@cash.obmen.kz:80/path#frag ", "cash.obmen.kz", "obmen.kz"),
        ("www.obmen24.kz", "obmen24.kz", "obmen24.kz"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
        ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
        ("ОБМЕН.РФ", "xn--90aiufb.xn--p1ai", "xn--90aiufb.xn--p1ai"),
        ("обмен.рф", "xn--90aiufb.xn--p1ai", "xn--90aiufb.xn--p1ai"),
        ("a.b.swap.co.uk", "a.b.swap.co.uk", "swap.co.uk"),
        ("ex.com\\evil", "ex.com", "ex.com"),
        ("ＦＵＬＬＷＩＤＴＨ.com", "fullwidth.com", "fullwidth.com"),
    ],
)
def test_normalises_spellings_to_one_host(raw: str, host: str, registrable: str) -> None:
    nd = normalize_domain(raw)
    assert (nd.host, nd.registrable) == (host, registrable)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("com", "public suffix"),
        ("kz", "public suffix"),
        ("co.uk", "public suffix"),
        ("github.io", "public suffix"),
        ("a" * 300 + ".com", "63"),
        (("abcdefghi." * 30) + "com", "too long"),
        ("1.2.3.4", "IP address"),
        ("http://[::1]:8080/", "IP address"),
        ("exchange.invalidtld", "top-level domain"),
        ("a..b.com", "empty label"),
        (".com", "empty label"),
        ("ex.com..", "empty label"),
        ("under_score.com", "not a valid host name"),
        ("-lead.com", "not a valid host name"),
        ("xn--zz.com", "not a valid host name"),
        ("", "empty"),
        ("   ", "empty"),
        ("https:///path", "no host"),
        ("exa mple.com", "not a valid host name"),
    ],
)
def test_refuses_hostile_domains_with_a_reason(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidDomain) as e:
        normalize_domain(raw)
    assert fragment in e.value.message


def test_mixed_script_confusable_keeps_its_own_punycode() -> None:
    latin = normalize_domain("bybit.kz")
    cyrillic_y = normalize_domain("b\u0443bit.kz")
    assert cyrillic_y.host != latin.host and cyrillic_y.host.startswith("xn--")
    assert cyrillic_y.label == "b\u0443bit"


@given(st.text(max_size=80))
def test_never_crashes_and_output_is_a_fixed_point(raw: str) -> None:
    try:
        nd = normalize_domain(raw)
    except InvalidDomain:
        return
    again = normalize_domain(nd.host)
    assert again.host == nd.host
    assert nd.host == nd.host.lower() and nd.host.isascii() and not nd.host.endswith(".")
