"""OFAC import on the real published data: every valid address listed where it belongs, every invalid one reported,
the designations of sdn_advanced.xml shown to banks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from registry.db.engine import session_scope
from registry.errors import Conflict
from registry.imports import ofac
from registry.imports.service import apply_sanctions
from registry.imports.sources import read_sources
from tests.registry.helpers import screen_until_version
from tests.registry.migration_db import migrate, scratch_database
from tests.support.keys import Keys
from tests.support.paths import SHARED_DATA

OFAC_DIR = SHARED_DATA / "ofac"


def _import(engine: Engine, locations: list[str], force: bool = False) -> Any:
    items, scope = read_sources(locations)
    entries, rejected = ofac.dedupe(items)
    with session_scope(engine) as s:
        return apply_sanctions(s, entries, rejected, scope, force=force)


# What the published per-asset files in ../shared/data/ofac hold, pinned by hand (issue 18): the number of address
# lines of each file, and every entry that is not an address of its file's asset, with what must happen to it.
# The test counts the lines itself; a change to the files, or to the assets the product knows, fails it.
LINES = {
    "ARB": 1, "BCH": 7, "BSC": 1, "BSV": 1, "BTG": 1, "DASH": 3, "ETC": 1, "ETH": 152, "LTC": 10, "TRX": 6,
    "USDC": 2, "USDT": 26, "XBT": 435, "XMR": 3, "XRP": 1, "XVG": 1, "ZEC": 3,
}  # fmt: skip
REJECTED = {  # (asset, value) → reason: valid on no chain the registry knows
    ("XMR", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"): "characters",  # a hex string
}
REHOMED = {  # (asset, value) → the chain it is listed on: not an address of its asset, valid on that chain
    ("XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"): "tron",
}


def _file_lines() -> dict[str, list[str]]:
    """Address lines per asset, read straight from the files (no product code)."""
    out: dict[str, list[str]] = {}
    for f in sorted(OFAC_DIR.glob("sanctioned_addresses_*.txt")):
        asset = f.name.removeprefix("sanctioned_addresses_").removesuffix(".txt")
        out[asset] = [line.strip() for line in f.read_text().splitlines() if line.strip()]
    return out


def test_every_asset_lists_exactly_its_lines_minus_the_rejected(engine: Engine) -> None:
    lines = _file_lines()
    assert {a: len(v) for a, v in lines.items()} == LINES, "the published lists changed: review the pinned entries"
    for asset, value in REJECTED | REHOMED:
        assert value in lines[asset]
    report = _import(engine, [str(OFAC_DIR)])
    assert {(r.asset, r.value): r.code for r in report.rejected} == REJECTED
    assert {(e.asset, e.address): e.chain for e in report.rehomed} == REHOMED
    assert all(r.origin.startswith(f"sanctioned_addresses_{r.asset}.txt:") for r in report.rejected)
    with engine.connect() as c:
        listed = dict(
            c.execute(
                text(
                    "SELECT external_ref, count(*) FROM listing WHERE source = 'ofac' AND status = 'active' "
                    "GROUP BY external_ref"
                )
            ).all()
        )
    expected = {asset: n - sum(1 for a, _ in REJECTED if a == asset) for asset, n in LINES.items()}
    assert listed == expected
    assert report.added == sum(expected.values())


def test_import_is_idempotent_and_delists_what_left_the_list(engine: Engine, tmp_path: Path) -> None:
    first = _import(engine, [str(OFAC_DIR)])
    again = _import(engine, [str(OFAC_DIR)])
    assert again.added == 0 and again.delisted == 0 and again.unchanged == first.added

    trx = (OFAC_DIR / "sanctioned_addresses_TRX.txt").read_text().splitlines()
    shorter = tmp_path / "sanctioned_addresses_TRX.txt"
    shorter.write_text("\n".join(trx[:-1]) + "\n")
    r = _import(engine, [str(shorter)])
    assert r.delisted == 1 and r.added == 0
    with engine.connect() as c:
        reason = c.execute(
            text("SELECT decision_reason FROM listing WHERE address = :a"), {"a": trx[-1].strip()}
        ).scalar()
        eth_active = c.execute(
            text("SELECT count(*) FROM listing WHERE external_ref='ETH' AND status='active'")
        ).scalar()
    assert "no longer on the OFAC" in str(reason)
    assert eth_active and eth_active > 100  # importing TRX alone never touches other assets


def test_a_list_that_shrank_by_half_is_refused(engine: Engine, tmp_path: Path) -> None:
    _import(engine, [str(OFAC_DIR)])
    stub = tmp_path / "sanctioned_addresses_XBT.txt"
    stub.write_text("123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX\n")
    with pytest.raises(Conflict):
        _import(engine, [str(stub)])
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM listing WHERE status='delisted'")).scalar() == 0


SDN_XML = """<?xml version="1.0" encoding="utf-8"?>
<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">
  <ReferenceValueSets>
    <FeatureTypeValues>
      <FeatureType ID="344">Digital Currency Address - XBT</FeatureType>
      <FeatureType ID="345">Digital Currency Address - ETH</FeatureType>
      <FeatureType ID="887">Digital Currency Address - USDT</FeatureType>
      <FeatureType ID="8">Place of Birth</FeatureType>
    </FeatureTypeValues>
  </ReferenceValueSets>
  <DistinctParties>
    <DistinctParty FixedRef="1">
      <Profile ID="1">
        <Feature ID="1" FeatureTypeID="344"><FeatureVersion ID="1">
          <VersionDetail DetailTypeID="1432">1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2</VersionDetail>
        </FeatureVersion></Feature>
        <Feature ID="2" FeatureTypeID="8"><FeatureVersion ID="2">
          <VersionDetail DetailTypeID="1432">Almaty</VersionDetail></FeatureVersion></Feature>
      </Profile>
    </DistinctParty>
    <DistinctParty FixedRef="2">
      <Profile ID="2">
        <Feature ID="3" FeatureTypeID="345"><FeatureVersion ID="3">
          <VersionDetail DetailTypeID="1432">0x8589427373d6d84e98730d7795d8f6f8731fda16</VersionDetail>
        </FeatureVersion></Feature>
        <Feature ID="4" FeatureTypeID="887"><FeatureVersion ID="4">
          <VersionDetail DetailTypeID="1432">TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre</VersionDetail>
        </FeatureVersion></Feature>
        <Feature ID="5" FeatureTypeID="344"><FeatureVersion ID="5">
          <VersionDetail DetailTypeID="1432">not-an-address</VersionDetail>
        </FeatureVersion></Feature>
      </Profile>
    </DistinctParty>
  </DistinctParties>
</Sanctions>
"""


def test_sdn_advanced_xml(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "sdn_advanced.xml"
    path.write_text(SDN_XML)
    report = _import(engine, [str(path)])
    assert report.added == 3
    [bad] = report.rejected
    line = next(i for i, t in enumerate(SDN_XML.splitlines(), 1) if "not-an-address" in t)
    assert bad.value == "not-an-address" and bad.origin == f"sdn_advanced.xml:{line}"
    # the old namespace parses the same way
    old = SDN_XML.replace(
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML",
        "http://www.un.org/sanctions/1.0",
    )
    items = list(ofac.parse_sdn_advanced(old.encode()))
    assert sum(isinstance(i, ofac.SanctionEntry) for i in items) == 3


def test_xml_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
    evil = SDN_XML.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file://{secret}">]>',
    ).replace("0x8589427373d6d84e98730d7795d8f6f8731fda16", "&x;")
    items = list(ofac.parse_sdn_advanced(evil.encode()))
    values = {i.address for i in items if isinstance(i, ofac.SanctionEntry)}
    assert "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2" in values  # from the genuine XBT feature …
    assert len([i for i in items if isinstance(i, ofac.SanctionEntry) and i.asset == "ETH"]) == 0  # … not the file


TRON_IN_XBT = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"


def _screen(app_client: TestClient, keys: Keys, address: str, version: int, chain: str | None = None) -> Any:
    return screen_until_version(app_client, keys.headers("bank"), address, version, chain=chain)


def _status(engine: Engine, address: str) -> list[tuple[str, str, str]]:
    with engine.connect() as c:
        rows = c.execute(
            text("SELECT chain, external_ref, status FROM listing WHERE address = :a ORDER BY id"), {"a": address}
        ).all()
    return [(str(a), str(b), str(s)) for a, b, s in rows]


def test_an_address_filed_under_the_wrong_asset_is_listed_where_it_belongs(
    engine: Engine, app_client: TestClient, keys: Keys, tmp_path: Path
) -> None:
    """OFAC's XBT list carries a Tron address: a sanctioned address all the same. It is listed on Tron, reported
    as re-homed, blocked for banks, and delisted when it leaves the XBT list (and only then)."""
    report = _import(engine, [str(OFAC_DIR)])
    [moved] = report.rehomed
    assert (moved.asset, moved.chain, moved.address) == ("XBT", "tron", TRON_IN_XBT)
    assert moved.origin == f"sanctioned_addresses_XBT.txt:{_file_lines()['XBT'].index(TRON_IN_XBT) + 1}"
    assert _status(engine, TRON_IN_XBT) == [("tron", "XBT", "active")]
    r = _screen(app_client, keys, TRON_IN_XBT, report.registry_version)
    assert (r["chain"], r["action"], [d["category"] for d in r["direct"]]) == ("tron", "block", ["sanctions"])

    again = _import(engine, [str(OFAC_DIR)])
    assert (again.added, again.delisted, len(again.rehomed)) == (0, 0, 1)
    trx_only = _import(engine, [str(OFAC_DIR / "sanctioned_addresses_TRX.txt")])
    assert trx_only.delisted == 0 and _status(engine, TRON_IN_XBT) == [("tron", "XBT", "active")]

    xbt = tmp_path / "sanctioned_addresses_XBT.txt"
    xbt.write_text("".join(f"{v}\n" for v in _file_lines()["XBT"] if v != TRON_IN_XBT))
    gone = _import(engine, [str(xbt)])
    assert (gone.added, gone.delisted, gone.rehomed) == (0, 1, [])
    assert _status(engine, TRON_IN_XBT) == [("tron", "XBT", "delisted")]
    assert _screen(app_client, keys, TRON_IN_XBT, gone.registry_version)["action"] == "allow"


def test_an_address_on_two_assets_lists_stays_listed_while_one_still_names_it(
    engine: Engine, app_client: TestClient, keys: Keys, tmp_path: Path
) -> None:
    """An Ethereum address on both the ETH and the USDT list is one listing per list: leaving the ETH list delists
    the ETH one; the USDT list still sanctions it, and the bank sees one sanctions item."""
    lines = _file_lines()
    both = next(v for v in lines["ETH"] if v.lower() in {u.lower() for u in lines["USDT"]})
    full = _import(engine, [str(OFAC_DIR)])
    assert len(_screen(app_client, keys, both, full.registry_version)["direct"]) == 1  # one item, two listings
    eth = tmp_path / "sanctioned_addresses_ETH.txt"
    eth.write_text("".join(f"{v}\n" for v in lines["ETH"] if v != both))
    r = _import(engine, [str(eth)])
    assert r.delisted == 1
    assert sorted(_status(engine, both.lower())) == [("eth", "ETH", "delisted"), ("eth", "USDT", "active")]
    hit = _screen(app_client, keys, both, r.registry_version)
    assert hit["action"] == "block" and len(hit["direct"]) == 1


SAMPLE_XML = Path(__file__).parent / "vectors" / "sdn_advanced_sample.xml"


def test_sanctions_hits_carry_the_designation(engine: Engine, app_client: TestClient, keys: Keys) -> None:
    """From sdn_advanced.xml the bank sees who was designated, under which programmes and when (OFAC's date;
    ``listed_since`` stays the time of our import). The per-asset text lists name nobody: designation null."""
    report = _import(engine, [str(SAMPLE_XML)])
    assert (report.added, [r.value for r in report.rejected]) == (4, ["not-an-address"])
    entity = {"name": "NORTHWIND OTC LLC", "programs": ["CYBER2", "DPRK3"], "designated_on": "2022-08-08"}
    person = {"name": "DOE, Jane Quinn", "programs": ["CYBER2", "RUSSIA-EO14024"], "designated_on": "2023-11-20"}
    for address, want in [
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", {**entity, "sdn_id": "47001"}),
        (TRON_IN_XBT, {**entity, "sdn_id": "47001"}),  # re-homed from the XBT feature, designation and all
        ("0x8589427373d6d84e98730d7795d8f6f8731fda16", {**person, "sdn_id": "47002"}),
    ]:
        r = _screen(app_client, keys, address, report.registry_version)
        [hit] = r["direct"]
        assert hit["designation"] == want, address
        assert hit["listed_since"][:10] != want["designated_on"]

    ltc = _import(engine, [str(OFAC_DIR / "sanctioned_addresses_LTC.txt")])
    [hit] = _screen(app_client, keys, _file_lines()["LTC"][0], ltc.registry_version, chain="ltc")["direct"]
    assert hit["source"] == "ofac" and hit["designation"] is None


def test_a_changed_designation_is_updated_in_place(
    engine: Engine, app_client: TestClient, keys: Keys, tmp_path: Path
) -> None:
    _import(engine, [str(SAMPLE_XML)])
    amended = tmp_path / "sdn_advanced.xml"
    amended.write_text(SAMPLE_XML.read_text().replace("<Comment>DPRK3</Comment>", "<Comment>DPRK4</Comment>"))
    r = _import(engine, [str(amended)])
    assert (r.added, r.updated, r.delisted) == (0, 3, 0)  # the three addresses of the amended entry
    hit = _screen(app_client, keys, TRON_IN_XBT, r.registry_version)["direct"][0]
    assert hit["designation"]["programs"] == ["CYBER2", "DPRK4"]
    xbt = tmp_path / "sanctioned_addresses_XBT.txt"
    xbt.write_text("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2\n" + TRON_IN_XBT + "\n")
    again = _import(engine, [str(xbt)])  # a list without names …
    assert (again.updated, again.unchanged) == (0, 2)
    with engine.connect() as c:
        assert (
            c.execute(text("SELECT designation_programs FROM listing WHERE address = :a"), {"a": TRON_IN_XBT}).scalar()
            == '["CYBER2", "DPRK4"]'
        )  # … never erases what the XML said


# From the CashAddr spec's translation rule (version 0x00 ↔ type P2PKH, same hash): the legacy form of the BCH
# list's qpf2cphc… entry, and the CashAddr form of its legacy 18M8bJWM… entry.
BCH_PAIRS = [
    ("18Y8VPic2pZsvyLaYVdSLQdCuT2nAJJ3hd", "bitcoincash:qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq"),
    ("18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", "bitcoincash:qpgf0ztxq3mwfq6eg5versgfdzq9c3pwv5jsk6wnay"),
]


def test_a_bch_listing_matches_a_screening_in_the_other_form(
    engine: Engine, app_client: TestClient, keys: Keys
) -> None:
    """The BCH list mixes CashAddr (without prefix) and legacy entries; banks screen either form."""
    r = _import(engine, [str(OFAC_DIR / "sanctioned_addresses_BCH.txt")])
    for legacy, cashaddr in BCH_PAIRS:
        for form in (legacy, cashaddr, cashaddr.removeprefix("bitcoincash:").upper()):
            hit = _screen(app_client, keys, form, r.registry_version, chain="bch")
            assert (hit["address"], hit["action"]) == (cashaddr, "block"), form


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_rewrites_stored_bch_addresses_to_the_one_form(kind: str, tmp_path: Path) -> None:
    """Listings and entity addresses stored in the old forms (CashAddr payload, legacy base58) take the canonical
    one; one that would duplicate an open listing of its case is left as it was."""
    with scratch_database(kind, tmp_path) as url:
        migrate(url, "0009_faults")
        engine = create_engine(url, poolclass=NullPool)
        (legacy, cashaddr), (legacy2, cashaddr2) = BCH_PAIRS
        now = "2026-01-01 00:00:00+00:00"
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO cases (id, number, title, secrecy, created_by, created_org, created_at) "
                    "VALUES (1, 'C-1', 't', 'restricted', 1, 'FIU', :t)"
                ),
                {"t": now},
            )
            listing = (
                "INSERT INTO listing (id, case_id, chain, family, address, category, confidence, source, "
                "legal_basis, evidence_note, status, submitted_by, created_at) VALUES "
                "(:id, :case, 'bch', 'bch', :a, :cat, 60, :src, 'b', '', :st, 's', :t)"
            )
            for lid, case, address, category, source, status in [
                (1, None, cashaddr.removeprefix("bitcoincash:"), "sanctions", "ofac", "active"),
                (2, None, legacy2, "sanctions", "ofac", "active"),
                (3, 1, legacy, "fraud", "fiu", "active"),
                (4, 1, cashaddr, "fraud", "fiu", "active"),  # the same address, open in the same case already
                (5, 1, "not-a-bch-address", "fraud", "fiu", "rejected"),
            ]:
                c.execute(
                    text(listing),
                    {"id": lid, "case": case, "a": address, "cat": category, "src": source, "st": status, "t": now},
                )
            c.execute(
                text(
                    "INSERT INTO entity (id, name, kind, licensed_service, created_at) VALUES (1, 'x', 'other', :f, :t)"
                ),
                {"f": False, "t": now},
            )
            c.execute(
                text("INSERT INTO entity_address (entity_id, chain, address) VALUES (1, 'bch', :a)"), {"a": legacy2}
            )
        migrate(url, "heads")
        with engine.connect() as c:
            got = dict(c.execute(text("SELECT id, address FROM listing ORDER BY id")).all())
            entity = c.execute(text("SELECT address FROM entity_address")).scalar()
        engine.dispose()
    assert got == {1: cashaddr, 2: cashaddr2, 3: legacy, 4: cashaddr, 5: "not-a-bch-address"}
    assert entity == cashaddr2


def test_a_list_of_an_asset_the_registry_does_not_know_is_listed_where_valid(engine: Engine, tmp_path: Path) -> None:
    """A new OFAC asset code (here SOL) must not make sanctioned addresses screen clean: its entries that are
    addresses of a known chain are listed there (re-homed), the others rejected with reason ``asset``; the next
    import of that list delists what left it."""
    sol = tmp_path / "sanctioned_addresses_SOL.txt"
    sol.write_text("0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM\n")
    r = _import(engine, [str(sol)])
    assert [(e.chain, e.address) for e in r.rehomed] == [("evm", "0x098b716b8aaf21512996dc57eb0615e2383e2f96")]
    assert [(x.value, x.code) for x in r.rejected] == [("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "asset")]
    assert _import(engine, [str(sol)]).added == 0
    sol.write_text("9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM\n")
    assert _import(engine, [str(sol)], force=True).delisted == 1
    assert _status(engine, "0x098b716b8aaf21512996dc57eb0615e2383e2f96") == [("evm", "SOL", "delisted")]
