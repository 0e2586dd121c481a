"""Reading OFAC's digital-currency addresses: the per-asset text files and the official ``sdn_advanced.xml``.

Pure parsing: bytes in, ``SanctionEntry``/``Rejected`` out. Each entry is checked against its asset's address
rules; an entry that is not an address of its asset (the XBT list carries a Tron address, the XMR list a hex
string) is reported with its value and line, never dropped silently and never allowed to stop the import.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from chains.addresses import AddressError, chain_family, normalize

ASSET_CHAINS: dict[str, tuple[str, ...]] = {
    "XBT": ("btc",),
    "ETH": ("eth",),
    "ETC": ("etc",),
    "ARB": ("arbitrum",),
    "BSC": ("bsc",),
    "TRX": ("tron",),
    "USDT": ("eth", "tron", "btc"),  # ERC-20, TRC-20 and Omni (Bitcoin): the address format decides
    "USDC": ("eth", "tron"),
    "LTC": ("ltc",),
    "BCH": ("bch",),
    "BSV": ("bsv",),
    "BTG": ("btg",),
    "DASH": ("dash",),
    "ZEC": ("zec",),
    "XVG": ("xvg",),
    "XRP": ("xrp",),
    "XMR": ("xmr",),
}
"""OFAC asset code → the chains whose address rules apply."""

FEATURE_PREFIX = "Digital Currency Address - "
_FILE_ASSET = re.compile(r"sanctioned_addresses_([A-Z0-9]+)\.txt$")


@dataclass(frozen=True, slots=True)
class SanctionEntry:
    asset: str
    chain: str
    family: str
    address: str
    origin: str  # file:line, for the report


@dataclass(frozen=True, slots=True)
class Rejected:
    asset: str
    value: str
    origin: str
    reason: str


def check(asset: str, value: str, origin: str) -> SanctionEntry | Rejected:
    chains = ASSET_CHAINS.get(asset)
    if chains is None:
        return Rejected(asset, value, origin, f"asset {asset} is not supported by this registry")
    last: AddressError | None = None
    for chain in chains:
        try:
            norm = normalize(value, chain)
        except AddressError as e:
            last = e
            continue
        return SanctionEntry(asset, norm.chain, chain_family(norm.chain), norm.address, origin)
    assert last is not None
    return Rejected(asset, value, origin, f"not a valid {asset} address ({last.reason}): {last.message}")


def asset_of_file(name: str) -> str | None:
    m = _FILE_ASSET.search(name)
    return m.group(1) if m else None


def parse_text_list(asset: str, name: str, data: bytes) -> Iterator[SanctionEntry | Rejected]:
    """One address per line, as OFAC-derived lists publish them; blank lines and # comments are skipped."""
    for lineno, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        value = raw.strip()
        if not value or value.startswith("#"):
            continue
        yield check(asset, value, f"{name}:{lineno}")


def parse_sdn_advanced(
    data: bytes | io.BufferedIOBase, name: str = "sdn_advanced.xml"
) -> Iterator[SanctionEntry | Rejected]:
    """Stream the official XML (about 100 MB): feature types first, then every party's address features.

    Namespace-agnostic (OFAC moved the namespace once already); entities are not resolved and nothing is
    fetched over the network, so a hostile file cannot read local files or expand billions of entities.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    feature_types: dict[str, str] = {}
    context = etree.iterparse(
        source, events=("end",), resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True
    )
    for _event, el in context:
        tag = etree.QName(el).localname
        if tag == "FeatureType":
            text = (el.text or "").strip()
            if text.startswith(FEATURE_PREFIX):
                feature_types[el.get("ID", "")] = text[len(FEATURE_PREFIX) :].strip()
        elif tag == "Feature":
            asset = feature_types.get(el.get("FeatureTypeID", ""))
            if asset is not None:
                for detail in el.iter("{*}VersionDetail"):
                    value = (detail.text or "").strip()
                    if value:
                        yield check(asset, value, f"{name}:{detail.sourceline}")
            el.clear()
        elif tag in ("DistinctParty", "Profile"):
            el.clear()


def dedupe(items: Iterable[SanctionEntry | Rejected]) -> tuple[list[SanctionEntry], list[Rejected]]:
    entries: dict[tuple[str, str], SanctionEntry] = {}
    rejected: list[Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            entries.setdefault((item.family, item.address), item)
    return list(entries.values()), rejected
