"""OFAC import on the real published data: every valid address listed, every invalid one reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.db.engine import session_scope
from registry.errors import Conflict
from registry.imports import ofac
from registry.imports.service import apply_sanctions
from registry.imports.sources import read_sources
from tests.conftest import SHARED_DATA

OFAC_DIR = SHARED_DATA / "ofac"


def _lines() -> list[tuple[str, str]]:
    out = []
    for f in sorted(OFAC_DIR.glob("sanctioned_addresses_*.txt")):
        asset = ofac.asset_of_file(f.name)
        assert asset
        out += [(asset, line.strip()) for line in f.read_text().splitlines() if line.strip()]
    return out


def _import(engine: Engine, locations: list[str], force: bool = False) -> object:
    items, scope = read_sources(locations)
    entries, rejected = ofac.dedupe(items)
    with session_scope(engine) as s:
        return apply_sanctions(s, entries, rejected, scope, force=force)


def test_every_line_is_listed_or_reported(engine: Engine) -> None:
    report = _import(engine, [str(OFAC_DIR)])
    lines = _lines()
    rejected = {(r.asset, r.value) for r in report.rejected}  # type: ignore[attr-defined]
    # the XBT list carries a Tron address and the XMR list a hex string: both must be named
    assert ("XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq") in rejected
    assert ("XMR", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320") in rejected
    assert all(":" in r.origin for r in report.rejected)  # type: ignore[attr-defined]
    with engine.connect() as c:
        listed = {
            (f, a)
            for f, a in c.execute(text("SELECT family, address FROM listing WHERE source='ofac' AND status='active'"))
        }
    from chains.addresses import chain_family

    for asset, value in lines:
        if (asset, value) in rejected:
            continue
        entry = ofac.check(asset, value, "x")
        assert isinstance(entry, ofac.SanctionEntry), (asset, value)
        assert (chain_family(entry.chain), entry.address) in listed
    assert report.added == len(listed)  # type: ignore[attr-defined]


def test_import_is_idempotent_and_delists_what_left_the_list(engine: Engine, tmp_path: Path) -> None:
    first = _import(engine, [str(OFAC_DIR)])
    again = _import(engine, [str(OFAC_DIR)])
    assert again.added == 0 and again.delisted == 0 and again.unchanged == first.added  # type: ignore[attr-defined]

    trx = (OFAC_DIR / "sanctioned_addresses_TRX.txt").read_text().splitlines()
    shorter = tmp_path / "sanctioned_addresses_TRX.txt"
    shorter.write_text("\n".join(trx[:-1]) + "\n")
    r = _import(engine, [str(shorter)])
    assert r.delisted == 1 and r.added == 0  # type: ignore[attr-defined]
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
    assert report.added == 3  # type: ignore[attr-defined]
    [bad] = report.rejected  # type: ignore[attr-defined]
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
