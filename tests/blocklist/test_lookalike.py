from __future__ import annotations

import pytest

from blocklist.domains.lookalike import Brand, edit_distance, find_lookalikes, skeleton
from blocklist.domains.normalize import normalize_domain

BRANDS = [
    Brand("bybit", "bybit.kz", "Bybit Limited", "AFSA-A-LA-2024-0027"),
    Brand("binance", "binance.com", "Binance Kazakhstan", "AFSA-A-LA-2024-0028"),
    Brand("ataix", "ataix.kz", "ATAIX Eurasia Ltd.", "AFSA-A-LA-2025-0022"),
]


@pytest.mark.parametrize(
    ("domain", "brand", "kind"),
    [
        ("bybit.com", "bybit", "same_label"),
        ("b\u0443bit.kz", "bybit", "mixed_script"),  # Cyrillic у
        ("b1nance.com", "binance", "homoglyph"),
        ("bіnance.com", "binance", "mixed_script"),  # Cyrillic і
        ("binnance.org", "binance", "edit_distance"),
        ("bimance.net", "binance", "edit_distance"),
        ("bybit-kz-pay.com", "bybit", "brand_plus_words"),
        ("bybitkz.net", "bybit", "brand_plus_words"),
        ("bybit.kz.secure-login.com", "bybit", "brand_in_subdomain"),
        ("ataix-exchange.kz", "ataix", "brand_plus_words"),
        ("example.com", None, None),
        ("bybit.kz", None, None),
        ("pay.bybit.kz", None, None),
    ],
)
def test_lookalike_kinds(domain: str, brand: str | None, kind: str | None) -> None:
    found = find_lookalikes(normalize_domain(domain), BRANDS)
    if brand is None:
        assert found == []
        return
    assert found, domain
    assert found[0].brand == brand and found[0].kind == kind
    assert found[0].licensed_domain in found[0].reason


def test_edit_distance_limit_and_values() -> None:
    assert edit_distance("binance", "binance", 2) == 0
    assert edit_distance("binance", "binanse", 2) == 1
    assert edit_distance("binance", "bnanse", 2) == 2
    assert edit_distance("binance", "xyz", 2) == 3


def test_skeleton_folds_confusables() -> None:
    assert skeleton("b\u0443bit") == skeleton("bybit")
    assert skeleton("rnexc") == skeleton("mexc")
    assert skeleton("google") != skeleton("bybit")
