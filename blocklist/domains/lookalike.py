"""Lookalikes of licensed brands: reported to investigators, never blocked automatically.

A lookalike is a hint (a phishing clone, or an unrelated site that happens to be close): only an investigator,
with evidence, may turn it into a blocklist entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from confusable_homoglyphs import categories, confusables

from blocklist.domains.normalize import NormalizedDomain

MIN_BRAND_IN_NAME = 4  # shorter brands occur by chance inside ordinary words
_SEPARATORS = str.maketrans({"-": " ", "_": " "})
# Two-character shapes a skeleton must fold too (UTS 39 maps single characters only).
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


@dataclass(frozen=True, slots=True)
class Brand:
    label: str  # registrable label of a licensed domain (bybit)
    domain: str  # the licensed domain itself (bybit.kz)
    firm: str
    licence_number: str | None


@dataclass(frozen=True, slots=True)
class Lookalike:
    brand: str
    licensed_domain: str
    firm: str
    licence_number: str | None
    kind: str  # same_label | edit_distance | homoglyph | mixed_script | brand_plus_words | brand_in_subdomain
    distance: int
    reason: str


@lru_cache(maxsize=1)
def _skeleton_table() -> dict[str, str]:
    """Unicode confusables (Unicode Consortium data, shipped by confusable_homoglyphs) folded to ASCII."""
    table: dict[str, str] = {}
    for ch, glyphs in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        for g in glyphs:
            c = g["c"]
            if len(c) == 1 and c.isascii() and c.isalnum():
                table[ch] = c.lower()
                break
    table.update({"0": "o", "1": "l", "3": "e", "5": "s", "$": "s", "@": "a", "|": "l", "i": "l"})
    return table


def skeleton(label: str) -> str:
    """A shape key: two labels a reader would confuse get the same skeleton (bуbit / bybit, b1nance / binance)."""
    table = _skeleton_table()
    s = "".join(table.get(table.get(ch, ch), table.get(ch, ch)) for ch in label.lower())  # і → i → l
    for pair, repl in _DIGRAPHS:
        s = s.replace(pair, repl)
    return s


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, cut off above ``limit``.

    Hand-written: labels are at most 63 characters and compared against a few dozen brands, so a banded
    dynamic programme is simpler than another dependency.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _max_distance(brand: str) -> int:
    # Edit distance 2 on a 4-letter brand matches half the dictionary; scale it down for short brands.
    return 2 if len(brand) >= 6 else 1 if len(brand) >= 4 else 0


def find_lookalikes(domain: NormalizedDomain, brands: Iterable[Brand]) -> list[Lookalike]:
    """Every licensed brand the domain imitates, closest first; the licensed names themselves never match."""
    label = domain.label.lower()
    skel = skeleton(label)
    mixed = categories.unique_aliases(label) - {"COMMON"}
    words = label.translate(_SEPARATORS).split()
    sub_labels = (
        domain.host[: -len(domain.registrable)].rstrip(".").split(".") if domain.host != domain.registrable else []
    )
    found: dict[str, Lookalike] = {}

    def add(b: Brand, kind: str, distance: int, reason: str) -> None:
        old = found.get(b.domain)
        if old is None or distance < old.distance:
            found[b.domain] = Lookalike(b.label, b.domain, b.firm, b.licence_number, kind, distance, reason)

    for b in brands:
        if domain.registrable == b.domain:
            continue
        brand = b.label.lower()
        if label == brand:
            add(b, "same_label", 0, f"the name {brand!r} of licensed {b.domain} under another suffix")
            continue
        if len(mixed) > 1 and skel == skeleton(brand):
            scripts = ", ".join(sorted(mixed)).lower()
            add(b, "mixed_script", 0, f"mixes scripts ({scripts}) to spell {brand!r} of licensed {b.domain}")
            continue
        if skel == skeleton(brand):
            add(b, "homoglyph", 0, f"looks like {brand!r} of licensed {b.domain} (confusable characters)")
            continue
        limit = _max_distance(brand)
        d = edit_distance(label, brand, limit)
        if 0 < d <= limit:
            add(b, "edit_distance", d, f"{d} edit(s) away from {brand!r} of licensed {b.domain}")
            continue
        if len(brand) >= MIN_BRAND_IN_NAME and (brand in words or (brand in label and label != brand)):
            add(b, "brand_plus_words", 1, f"the brand {brand!r} of licensed {b.domain} with extra words")
            continue
        if len(brand) >= MIN_BRAND_IN_NAME and any(brand == s or skeleton(s) == skeleton(brand) for s in sub_labels):
            add(b, "brand_in_subdomain", 1, f"the brand {brand!r} of licensed {b.domain} as a subdomain")
    return sorted(found.values(), key=lambda x: (x.distance, x.licensed_domain))
