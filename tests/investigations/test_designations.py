"""The OFAC designation behind a sanctions listing in the address view (API and console page), as screening results
carry it: investigators and supervisors read what the bank was told."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.db.engine import session_scope
from registry.imports import ofac
from registry.imports.service import apply_sanctions
from registry.imports.sources import read_sources
from tests.console.helpers import signed_in
from tests.scoring.factories import add_listing, addr
from tests.support.keys import Keys

SAMPLE_XML = Path(__file__).parents[1] / "registry" / "vectors" / "sdn_advanced_sample.xml"
SANCTIONED = "0x8589427373d6d84e98730d7795d8f6f8731fda16"  # DOE, Jane Quinn (SDN 47002) in the sample
OURS = addr(77)  # listed by the agency only: no designation
DESIGNATION = {
    "name": "DOE, Jane Quinn",
    "programs": ["CYBER2", "RUSSIA-EO14024"],
    "designated_on": "2023-11-20",
    "sdn_id": "47002",
}


def _listed(engine: Engine, client: TestClient) -> None:
    items, scope = read_sources([str(SAMPLE_XML)])
    entries, rejected = ofac.dedupe(items)
    with session_scope(engine) as s:
        apply_sanctions(s, entries, rejected, scope)
    add_listing(engine, SANCTIONED, "fraud")  # the agency's own listing of the same address, beside OFAC's
    add_listing(engine, OURS, "fraud")
    client.app.state.ctx.snapshot.refresh(force=True)  # type: ignore[attr-defined]


def _by_source(direct: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["source"]: d for d in direct}


def test_the_address_view_carries_the_designation_as_screening_does(
    app_client: TestClient, engine: Engine, keys: Keys
) -> None:
    _listed(engine, app_client)
    bank = keys.headers("bank")
    screened = app_client.post("/v1/screen", json={"address": SANCTIONED, "chain": "eth"}, headers=bank).json()
    assert _by_source(screened["direct"])["ofac"]["designation"] == DESIGNATION

    for role in ("investigator", "supervisor", "bank"):
        r = app_client.get(f"/v1/addresses/eth/{SANCTIONED}", headers=keys.headers(role))
        assert r.status_code == 200, r.text
        hits = _by_source(r.json()["direct"])
        assert hits["ofac"] == _by_source(screened["direct"])["ofac"], role  # the same item, field for field
        assert hits["fiu"]["designation"] is None, role  # the agency's own listing names nobody

    ours = app_client.get(f"/v1/addresses/eth/{OURS}", headers=keys.headers("supervisor")).json()
    assert [d["designation"] for d in ours["direct"]] == [None]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_console_address_page_shows_the_designation(app_client: TestClient, engine: Engine, keys: Keys) -> None:
    _listed(engine, app_client)
    signed_in(app_client, keys.create("investigator", holder="Designation Investigator"))
    page = app_client.get(f"/console/addresses/eth/{SANCTIONED}?lang=en")
    assert page.status_code == 200
    assert 'id="designations"' in page.text and "Sanctions designations" in page.text
    for shown in ("DOE, Jane Quinn", "CYBER2, RUSSIA-EO14024", "2023-11-20", "47002"):
        assert shown in page.text, shown
    russian = app_client.get(f"/console/addresses/eth/{SANCTIONED}?lang=ru").text
    assert "Включение в санкционные списки" in russian and "DOE, Jane Quinn" in russian

    plain = app_client.get(f"/console/addresses/eth/{OURS}?lang=en")
    assert plain.status_code == 200 and 'id="designations"' not in plain.text
