"""The CIS export on a populated registry (both databases): it validates against its published schema, is signed
like the blocklist manifest, suppresses small cells, and carries no identifier that is anywhere in the database."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from blocklist.feeds.signing import verify_manifest
from registry.reports.settings import get_report_settings
from tests.reports.conftest import SIGNING_SEED, Populated
from tests.reports.scenario import BANK_ORGS

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "registry" / "reports" / "cis_export.schema.json"

IDENTIFIERS = {
    "listed address": "SELECT address FROM listing",
    "transfer sender": "SELECT from_address FROM transfer",
    "transfer receiver": "SELECT to_address FROM transfer",
    "case number": "SELECT number FROM cases",
    "case title": "SELECT title FROM cases",
    "case member": "SELECT person FROM case_member",
    "key holder": "SELECT holder FROM api_key WHERE holder IS NOT NULL",
    "key prefix": "SELECT prefix FROM api_key",
    "key organisation": "SELECT org FROM api_key",
    "domain": "SELECT domain FROM blocklist_domain",
    "licensed domain": "SELECT domain FROM licensed_domain",
    "entity": "SELECT name FROM entity",
    "licensed firm": "SELECT name FROM licensed_firm",
    "licence number": "SELECT licence_number FROM licensed_firm WHERE licence_number IS NOT NULL",
    "BIN": "SELECT bin FROM licensed_firm WHERE bin IS NOT NULL",
    "legal basis": "SELECT legal_basis FROM listing",
    "decision reason": "SELECT decision_reason FROM listing WHERE decision_reason IS NOT NULL",
    "bank's customer reference": "SELECT ref FROM monitoring_alert",
    "alerted bank": "SELECT bank FROM monitoring_alert",
}
"""Every identifying value the database holds, read by this test's own SQL."""


def _export(populated: Populated, tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "cis.json"
    result = populated.run("export", "cis", "--period", populated.period.label, "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_cis_export_validates_is_signed_and_names_nobody(populated: Populated, tmp_path: Path) -> None:
    s = populated.scenario
    dataset = _export(populated, tmp_path)
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.validate(dataset, schema, format_checker=jsonschema.FormatChecker())
    # the schema is published, without a key, as the file in the package
    r = s.client.get("/v1/exports/cis/schema")
    assert r.status_code == 200 and r.json() == schema

    # signed like the blocklist manifest, by its key: what an ISP's check accepts, and nothing edited
    public = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SIGNING_SEED)).public_key()
    verify_manifest(dataset, public)
    unsigned = {k: v for k, v in dataset.items() if k != "signature"}  # the recipe of docs/reports.md, by hand
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    public.verify(base64.b64decode(dataset["signature"]), canonical)
    r = s.client.get("/v1/exports/cis/public-key")
    assert r.status_code == 200 and r.json()["key_id"] == dataset["key_id"]
    assert bytes.fromhex(r.json()["public_key_hex"]) == public.public_bytes_raw()
    from cryptography.exceptions import InvalidSignature

    forged = json.loads(json.dumps(dataset))
    forged["flows"][0]["direction"] = (
        "listed_to_other" if forged["flows"][0]["direction"] != "listed_to_other" else ("other_to_listed")
    )
    with pytest.raises(InvalidSignature):
        verify_manifest(forged, public)

    # no identifier of the database is in it, anywhere (case-insensitive, keys and values alike)
    body = json.dumps(dataset, ensure_ascii=False).casefold()
    scanned = 0
    with s.engine.connect() as c:
        for what, sql in IDENTIFIERS.items():
            for (value,) in c.execute(text(sql)):
                if value is None or len(str(value).strip()) < 4:
                    continue
                scanned += 1
                assert str(value).casefold() not in body, f"a {what} is in the CIS export: {value!r}"
    assert scanned > 60, "the scan found the scenario's identifiers to look for"
    for org in BANK_ORGS:
        assert org.casefold() not in body
    assert "by_bank" not in body and "screening" not in body
    # and every word in it is a code of a fixed vocabulary or the dataset's own metadata
    meta = {
        dataset["$schema"],
        dataset["dataset"],
        dataset["period"]["label"],
        dataset["period"]["start"],
        dataset["period"]["end"],
        dataset["generated_at"],
        dataset["policy_version"],
        dataset["signature"],
        dataset["key_id"],
        dataset["value_unit"],
        dataset["algorithm"],
        dataset["reporting_country"],
    }
    free = [w for w in _strings(dataset) if w not in meta and not w.replace("_", "").replace("$", "").isalnum()]
    assert free == []


def _cells(dataset: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in dataset["listings"]:
        out[("listed", row["category"], row["chain"], row["source"])] = row["listed"]
        out[("removed", row["category"], row["chain"], row["source"])] = row["removed"]
    for row in dataset["flows"]:
        out[("transfers", row["category"], row["direction"])] = row["transfers"]
        out[("value", row["category"], row["direction"])] = row["reference_value"]
    out[("blocked",)] = dataset["shadow_exchangers_blocked"]
    return out


HIDDEN = {"value": None, "suppressed": True}


def test_small_cells_are_suppressed_below_the_threshold(
    populated: Populated, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = _cells(_export(populated, tmp_path))  # the default threshold: 5
    assert get_report_settings().cis_min_cell == 5
    assert cells[("listed", "fraud", "eth", "national")] == {"value": 7, "suppressed": False}
    assert cells[("listed", "money_mule", "tron", "national")] == {"value": 5, "suppressed": False}
    assert cells[("listed", "sanctions", "eth", "ofac")] == {"value": 6, "suppressed": False}
    assert cells[("removed", "fraud", "eth", "national")] == {"value": 0, "suppressed": False}
    for small in (
        ("listed", "mixer", "eth", "national"),  # 2
        ("listed", "ransomware", "eth", "national"),  # 1
        ("removed", "ransomware", "eth", "national"),  # 1, delisted
        ("removed", "drug_trafficking", "tron", "national"),  # 1, expired
        ("transfers", "fraud", "domestic_licensed_to_listed"),  # 2 transfers …
        ("value", "fraud", "domestic_licensed_to_listed"),  # … and their value with them
        ("transfers", "fraud", "listed_to_domestic_licensed"),
        ("value", "fraud", "listed_to_domestic_licensed"),
        ("transfers", "ransomware", "other_to_listed"),
        ("value", "ransomware", "other_to_listed"),
        ("blocked",),  # two domains
    ):
        assert cells[small] == HIDDEN, small
    assert cells[("transfers", "fraud", "other_to_listed")] == {"value": 6, "suppressed": False}
    assert cells[("value", "fraud", "other_to_listed")] == {"value": 18_000.0, "suppressed": False}
    assert cells[("transfers", "mixer", "listed_to_other")] == {"value": 5, "suppressed": False}
    assert cells[("value", "mixer", "listed_to_other")] == {"value": 1_500.0, "suppressed": False}

    monkeypatch.setenv("REGISTRY_CIS_MIN_CELL", "2")
    get_report_settings.cache_clear()
    try:
        cells = _cells(_export(populated, tmp_path))
    finally:
        monkeypatch.delenv("REGISTRY_CIS_MIN_CELL")
        get_report_settings.cache_clear()
    assert cells[("listed", "mixer", "eth", "national")] == {"value": 2, "suppressed": False}
    assert cells[("blocked",)] == {"value": 2, "suppressed": False}
    assert cells[("value", "fraud", "domestic_licensed_to_listed")] == {"value": 200.0, "suppressed": False}
    assert cells[("listed", "ransomware", "eth", "national")] == HIDDEN


def test_the_cis_export_over_the_api(populated: Populated) -> None:
    s, p = populated.scenario, populated.period
    r = s.client.get("/v1/exports/cis", params={"period": p.label}, headers=s.sup)
    assert r.status_code == 200, r.text
    jsonschema.validate(r.json(), json.loads(SCHEMA_FILE.read_text()))
    assert r.json()["period"]["label"] == p.label
    assert s.client.get("/v1/exports/cis", params={"period": "last year"}, headers=s.sup).status_code == 422
