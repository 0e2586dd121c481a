"""Reading OFAC's digital-currency addresses: the per-asset text files and the official ``sdn_advanced.xml``.

Pure parsing: bytes in, ``SanctionEntry``/``Rejected`` out. Each entry is checked against its asset's address
rules. An entry that is not an address of its asset but is one of another chain the registry knows (the XBT list
carries a Tron address) is still a sanctioned address: it is listed on the chain it belongs to and reported as
re-homed. Only an entry valid nowhere (the XMR list carries a hex string) is rejected, reported with its value and
line; nothing is dropped silently and nothing stops the import.

From ``sdn_advanced.xml`` each address also carries its designation: the SDN entry's primary name, its programmes
and the date OFAC designated it. The per-asset text files name nobody, so their entries carry none.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date

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

HOME_CHAINS: tuple[str, ...] = ("evm", "tron", "btc", "ltc", "bch", "bsv", "btg", "dash", "zec", "xvg", "xrp", "xmr")
"""One chain per address family the registry knows: where an entry filed under the wrong asset is looked for. An
address valid in several (a legacy ``1…`` form is one key on Bitcoin, Bitcoin Cash and Bitcoin SV) is listed in each,
as it is the same key holder's address on each."""

ALL_ASSETS = "*"
"""In an import's scope: it covers every asset, whatever the code (``sdn_advanced.xml`` is the whole SDN list), so
every OFAC listing missing from it is delisted, including those filed under an asset this table does not name."""

FEATURE_PREFIX = "Digital Currency Address - "
_FILE_ASSET = re.compile(r"sanctioned_addresses_([A-Z0-9]+)\.txt$")


@dataclass(frozen=True, slots=True)
class Designation:
    """What OFAC's SDN entry says about the party an address belongs to."""

    name: str | None
    programs: tuple[str, ...]
    designated_on: date | None
    ref: str | None  # OFAC's id of the entry (the DistinctParty's FixedRef)


@dataclass(frozen=True, slots=True)
class SanctionEntry:
    asset: str  # the list it is filed under: the listing's external_ref, what scopes its delisting
    chain: str
    family: str
    address: str
    origin: str  # file:line, for the report
    rehomed: bool = False  # not an address of ``asset``: listed on ``chain``, where it is valid
    designation: Designation | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    asset: str
    value: str
    origin: str
    reason: str
    code: str = "format"  # the asset's address rule's reason (checksum, length, characters, …); ``asset``: unknown


def check(asset: str, value: str, origin: str) -> list[SanctionEntry] | Rejected:
    """The listings one entry makes: on its asset's chain; failing that (or for an asset this registry does not
    know), on every chain where it is valid."""
    chains = ASSET_CHAINS.get(asset, ())
    last: AddressError | None = None
    for chain in chains:
        try:
            norm = normalize(value, chain)
        except AddressError as e:
            last = e
            continue
        return [SanctionEntry(asset, norm.chain, chain_family(norm.chain), norm.address, origin)]
    homes = [chain_family(c) for c in chains]
    out: list[SanctionEntry] = []
    for chain in HOME_CHAINS:
        if chain in homes:
            continue
        try:
            norm = normalize(value, chain)
        except AddressError:
            continue
        out.append(SanctionEntry(asset, norm.chain, chain_family(norm.chain), norm.address, origin, rehomed=True))
    if out:
        return out
    if last is None:
        return Rejected(
            asset, value, origin, f"asset {asset} is not supported, nor is this an address of a chain it knows", "asset"
        )
    return Rejected(
        asset,
        value,
        origin,
        f"not a valid {asset} address ({last.reason}): {last.message}; nor an address of any other chain",
        last.reason,
    )


def _items(asset: str, value: str, origin: str) -> Iterator[SanctionEntry | Rejected]:
    result = check(asset, value, origin)
    if isinstance(result, Rejected):
        yield result
    else:
        yield from result


def asset_of_file(name: str) -> str | None:
    m = _FILE_ASSET.search(name)
    return m.group(1) if m else None


def parse_text_list(asset: str, name: str, data: bytes) -> Iterator[SanctionEntry | Rejected]:
    """One address per line, as OFAC-derived lists publish them; blank lines and # comments are skipped."""
    for lineno, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        value = raw.strip()
        if not value or value.startswith("#"):
            continue
        yield from _items(asset, value, f"{name}:{lineno}")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next((c for c in el if isinstance(c.tag, str) and _local(c) == name), None)


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and _local(c) == name]


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


def _date(el: etree._Element | None) -> date | None:
    """``<Date><Year/><Month/><Day/></Date>``; None when incomplete."""
    if el is None:
        return None
    try:
        return date(int(_text(_child(el, "Year"))), int(_text(_child(el, "Month"))), int(_text(_child(el, "Day"))))
    except ValueError:
        return None


class _Parties:
    """What the designations need from the reference values and the parties, gathered while streaming."""

    def __init__(self) -> None:
        self.name_part_types: dict[str, str] = {}  # NamePartType ID → "Last Name", "First Name", "Entity Name", …
        self.sanctions_types: dict[str, str] = {}  # SanctionsType ID → "Program", "Block", …
        self.entry_event_types: dict[str, str] = {}  # EntryEventType ID → "Created", …
        self.names: dict[str, str] = {}  # Profile ID → primary name (profiles with addresses only)
        self.refs: dict[str, str] = {}  # Profile ID → the DistinctParty's FixedRef
        self.programs: dict[str, list[str]] = {}
        self.dates: dict[str, date] = {}

    def name(self, identity: etree._Element) -> str | None:
        """The primary alias's documented name; an individual's as OFAC prints it, ``LAST, First Middle``."""
        groups = {
            g.get("ID", ""): self.name_part_types.get(g.get("NamePartTypeID", ""), "")
            for g in identity.iter("{*}NamePartGroup")
        }
        aliases = _children(identity, "Alias")
        alias = next((a for a in aliases if a.get("Primary") == "true"), aliases[0] if aliases else None)
        if alias is None:
            return None
        doc = _child(alias, "DocumentedName")
        if doc is None:
            return None
        last: list[str] = []
        rest: list[str] = []
        for part in doc.iter("{*}NamePartValue"):
            value = _text(part)
            if value:
                (last if groups.get(part.get("NamePartGroupID", "")) == "Last Name" else rest).append(value)
        if last and rest:
            return f"{' '.join(last)}, {' '.join(rest)}"
        return " ".join(last + rest) or None

    def entry(self, el: etree._Element) -> None:
        """A ``SanctionsEntry``: its programmes (measures of type Program) and its earliest creation date. A
        profile may have several entries; their programmes are merged and the earliest date kept."""
        profile = el.get("ProfileID", "")
        if profile not in self.refs:
            return
        programs = self.programs.setdefault(profile, [])
        for measure in _children(el, "SanctionsMeasure"):
            kind = self.sanctions_types.get(measure.get("SanctionsTypeID", ""))
            if kind == "Program" or (kind is None and measure.get("SanctionsTypeID") == "1"):
                code = _text(_child(measure, "Comment"))
                if code and code not in programs:
                    programs.append(code)
        events = _children(el, "EntryEvent")
        created = [e for e in events if self._created(e.get("EntryEventTypeID", ""))]
        for event in created or events:
            when = _date(_child(event, "Date"))
            if when is not None and (profile not in self.dates or when < self.dates[profile]):
                self.dates[profile] = when

    def _created(self, type_id: str) -> bool:
        """The event that designated the party (type "Created"; ID 1 when the file has no reference values)."""
        kind = self.entry_event_types.get(type_id)
        return kind == "Created" if kind is not None else type_id == "1"

    def designation(self, profile: str) -> Designation | None:
        if profile not in self.refs:
            return None
        return Designation(
            self.names.get(profile), tuple(self.programs.get(profile, ())), self.dates.get(profile), self.refs[profile]
        )


def parse_sdn_advanced(
    data: bytes | io.BufferedIOBase, name: str = "sdn_advanced.xml"
) -> Iterator[SanctionEntry | Rejected]:
    """Stream the official XML (about 100 MB): reference values first, then every party's address features and
    primary name, then the sanctions entries (programmes, dates), which come last in the file; the addresses (a
    few hundred) are held until then and handed out with their designation.

    Namespace-agnostic (OFAC moved the namespace once already); entities are not resolved and nothing is
    fetched over the network, so a hostile file cannot read local files or expand billions of entities.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    feature_types: dict[str, str] = {}
    parties = _Parties()
    held: list[tuple[str, SanctionEntry | Rejected]] = []  # (profile ID, item)
    profile_name: str | None = None
    context = etree.iterparse(
        source, events=("end",), resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True
    )
    for _event, el in context:
        tag = _local(el)
        if tag == "FeatureType":
            text = _text(el)
            if text.startswith(FEATURE_PREFIX):
                feature_types[el.get("ID", "")] = text[len(FEATURE_PREFIX) :].strip()
        elif tag == "NamePartType":
            parties.name_part_types[el.get("ID", "")] = _text(el)
        elif tag == "SanctionsType":
            parties.sanctions_types[el.get("ID", "")] = _text(el)
        elif tag == "EntryEventType":
            parties.entry_event_types[el.get("ID", "")] = _text(el)
        elif tag == "Identity":
            if el.get("Primary") == "true" or profile_name is None:
                profile_name = parties.name(el)
        elif tag == "Feature":
            asset = feature_types.get(el.get("FeatureTypeID", ""))
            if asset is not None:
                profile, fixed_ref = _profile_of(el)
                for detail in el.iter("{*}VersionDetail"):
                    value = _text(detail)
                    if value:
                        parties.refs.setdefault(profile, fixed_ref)
                        held += [(profile, item) for item in _items(asset, value, f"{name}:{detail.sourceline}")]
            el.clear()
        elif tag == "Profile":
            if el.get("ID", "") in parties.refs and profile_name:
                parties.names[el.get("ID", "")] = profile_name
            profile_name = None
            el.clear()
        elif tag == "DistinctParty":
            el.clear()
        elif tag == "SanctionsEntry":
            parties.entry(el)
            el.clear()
    for profile, item in held:
        if isinstance(item, SanctionEntry):
            yield replace(item, designation=parties.designation(profile))
        else:
            yield item


def _profile_of(feature: etree._Element) -> tuple[str, str]:
    """The Profile ID that sanctions entries refer to, and the DistinctParty's FixedRef (OFAC's entry id)."""
    profile = ""
    fixed_ref = ""
    for anc in feature.iterancestors():
        local = _local(anc)
        if local == "Profile" and not profile:
            profile = anc.get("ID", "")
        elif local == "DistinctParty":
            fixed_ref = anc.get("FixedRef", "")
            break
    return profile or fixed_ref, fixed_ref or profile


def dedupe(items: Iterable[SanctionEntry | Rejected]) -> tuple[list[SanctionEntry], list[Rejected]]:
    """One entry per list and address: an address on two assets' lists is listed under each, so that leaving one
    list delists only that listing. The first occurrence (and its designation) wins within a list."""
    entries: dict[tuple[str, str, str], SanctionEntry] = {}
    rejected: list[Rejected] = []
    for item in items:
        if isinstance(item, Rejected):
            rejected.append(item)
        else:
            entries.setdefault((item.asset, item.family, item.address), item)
    return list(entries.values()), rejected


def describe_scope(scope: set[str]) -> str:
    return "every asset" if ALL_ASSETS in scope else ", ".join(sorted(scope))
