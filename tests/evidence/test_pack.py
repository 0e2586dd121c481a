"""Evidence packs on both databases: what they state, who may take them, and that their sha256 checks out."""

from __future__ import annotations

import csv
import ctypes
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from registry.cli import app
from registry.db.engine import dispose_engines
from registry.evidence import service
from registry.scoring.rescore import rescore
from registry.scoring.settings import get_scoring_settings
from registry.transfers.service import import_files
from tests.registry.helpers import approve, new_case, screen_until_version, submit
from tests.support.keys import Keys

USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
SOURCE = "0x" + "5a" * 20
MOP = "0x" + "6b" * 20
EXCHANGER = "0x" + "7c" * 20
TX1, TX2 = "0x" + "a1" * 32, "0x" + "b2" * 32


@dataclass
class World:
    client: TestClient
    engine: Engine
    inv: dict[str, str]
    sup: dict[str, str]
    bank: dict[str, str]
    outsider: dict[str, str]
    case: dict[str, object]


@pytest.fixture
def world(app_client: TestClient, engine: Engine, keys: Keys, tmp_path: Path) -> World:
    """A fraud source paid a mop 1,250.5 USDT, the mop paid an exchanger; the source is listed by a Kazakh-named
    investigator under a Cyrillic case, approved by a supervisor, and scored."""
    (tmp_path / "t.csv").write_text(
        "network,tx_id,index,block,time,from,to,asset,amount,decimals\n"
        f"eth,{TX1},4,100,2024-06-03T10:00:00Z,{SOURCE},{MOP},{USDT},1250.5,6\n"
        f"eth,{TX2},9,101,,{MOP},{EXCHANGER},{USDT},1250,6\n"
    )
    assert import_files(engine, [tmp_path / "t.csv"]).inserted == 2
    inv = keys.headers("investigator", holder="Әлия Сәрсенова")
    sup = keys.headers("supervisor", holder="Борис Ким")
    case = new_case(app_client, inv, title="Мошенничество с USDT")
    listing = submit(app_client, inv, int(case["id"]), SOURCE, legal_basis="УПК РК ст. 230, постановление")  # type: ignore[arg-type]
    approve(app_client, sup, listing["id"])
    rescore(engine, get_scoring_settings(), "2026.1", trigger="test")
    bank = keys.headers("bank")
    with engine.connect() as c:
        version = int(c.execute(text("SELECT value FROM registry_state WHERE name = 'registry'")).scalar_one())
    screen_until_version(app_client, bank, MOP, version)
    return World(app_client, engine, inv, sup, bank, keys.headers("investigator", holder="someone else"), case)


def pack(w: World, address: str, fmt: str, who: dict[str, str]) -> bytes:
    r = w.client.get(f"/v1/addresses/eth/{address}/evidence", params={"format": fmt}, headers=who)
    assert r.status_code == 200, r.text
    assert r.headers["x-evidence-sha256"]
    assert r.headers["repr-digest"].startswith("sha-256=:")
    return r.content


def test_the_json_pack_states_the_path_the_transfers_and_the_persons(world: World) -> None:
    doc = json.loads(pack(world, MOP, "json", world.sup))
    c = doc["content"]
    assert (
        doc["sha256"]
        == hashlib.sha256(json.dumps(c, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    )
    assert c["subject"] == {"chain": "eth", "family": "evm", "address": MOP}
    [exposure] = [e for e in c["exposure"] if e["direction"] == "incoming"]
    assert (exposure["category"], exposure["share"], exposure["min_hops"]) == ("fraud", "1", 1)
    [path] = exposure["paths"]
    assert [(h["from"], h["to"]) for h in path["hops"]] == [(SOURCE, MOP)]
    [t] = [t for t in c["transfers"] if t["tx_id"] == TX1]
    assert t["amount"]["amount"] == "1250.5" and t["amount"]["symbol"] == "USDT" and t["amount"]["raw"] == "1250500000"
    assert t["time"] == "2024-06-03T10:00:00Z" and t["position"] == {"kind": "log", "index": 4}
    assert c["versions"]["policy"] and c["versions"]["registry"]
    assert c["explanation"]["because"] and "fraud" in c["explanation_text"]
    assert {n["address"]: n["role"] for n in c["graph"]["nodes"]} == {MOP: "subject", SOURCE: "listed"}
    assert c["generated"]["for"]["person"] == "борис ким"

    source = json.loads(pack(world, SOURCE, "json", world.inv))["content"]
    [listing] = source["listings"]
    assert listing["submitted_by"] == "әлия сәрсенова" and listing["decided_by"] == "борис ким"  # persons, not keys
    assert listing["legal_basis"].startswith("УПК РК") and listing["case"]["title"] == "Мошенничество с USDT"
    assert not any(str(v).isdigit() and len(str(v)) < 4 for v in (listing["submitted_by"], listing["decided_by"]))

    # Every pack taken is in the audit log, with its hash and the person.
    with world.engine.connect() as conn:
        rows = conn.execute(text("SELECT entity_id, after FROM audit_event WHERE action = 'evidence.generate'")).all()
    after = [json.loads(a) if isinstance(a, str) else a for _, a in rows]
    assert [r[0] for r in rows] == [f"evm:{MOP}", f"evm:{SOURCE}"]
    assert after[0]["sha256"] == doc["sha256"] and after[0]["person"] == "борис ким"

    # An investigator outside the case gets no case data and no names; banks get nothing; bad input is a 422.
    [listing] = json.loads(pack(world, SOURCE, "json", world.outsider))["content"]["listings"]
    assert listing["restricted"] and listing["case"] is None and listing["legal_basis"] is None
    assert listing["submitted_by"] is None and listing["evidence_note"] is None
    assert world.client.get(f"/v1/addresses/eth/{SOURCE}/evidence", headers=world.bank).status_code == 403
    bad = world.client.get("/v1/addresses/eth/0x123/evidence", headers=world.sup)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_address"
    assert world.client.get(f"/v1/addresses/eth/{SOURCE}/evidence?format=doc", headers=world.sup).status_code == 422


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # rendering does not depend on the database
def test_csv_pdf_and_the_command_verify_and_a_changed_byte_does_not(
    world: World, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = pack(world, MOP, "csv", world.sup)
    assert service.verify(body).ok
    rows = list(csv.reader(io.StringIO(body.decode())))
    header = rows.index(["transfers"]) + 1
    assert rows[header][:4] == ["network", "tx_id", "position", "time_utc"]
    times = {r[1]: r[3] for r in rows[header + 1 :] if len(r) > 3}
    assert times[TX1] == "2024-06-03T10:00:00Z"
    assert not service.verify(body.replace(b"1250.5", b"1250.6")).ok

    pdf = pack(world, SOURCE, "pdf", world.inv)
    checked = service.verify(pdf)
    assert checked.ok, checked
    doc = pdfium.PdfDocument(pdf)
    try:
        text_all = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    assert "DejaVu-Sans" in fonts_of(pdf)  # the font with the Cyrillic glyphs is embedded, not a fallback
    for expected in ("Мошенничество с USDT", "Әлия Сәрсенова", "Борис Ким", "УПК РК", checked.computed or "-"):
        assert expected in text_all.replace("\r\n", " ").replace("\n", " "), expected
    assert not service.verify(forge_attachment(pdf, b'"fraud"', b'"mixer"')).ok
    check_the_command(db_url, tmp_path, monkeypatch)


def check_the_command(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``registry evidence`` writes a pack as a named person; ``registry verify-evidence`` checks it."""
    from registry.settings import get_settings

    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    get_settings.cache_clear()
    out = tmp_path / "pack.json"
    runner = CliRunner()
    try:
        made = runner.invoke(app, ["evidence", "eth", MOP, "--format", "json", "--out", str(out), "--as-holder",
                                   "Борис Ким"])  # fmt: skip
        assert made.exit_code == 0, made.output
        doc = json.loads(out.read_bytes())
        assert doc["sha256"] in made.output and doc["content"]["generated"]["for"]["person"] == "борис ким"
        assert doc["content"]["exposure"][0]["paths"][0]["hops"][0]["from"] == SOURCE
        assert runner.invoke(app, ["verify-evidence", str(out)]).exit_code == 0
        out.write_bytes(out.read_bytes().replace(b'"1250.5"', b'"1350.5"'))
        checked = runner.invoke(app, ["verify-evidence", str(out)])
        assert checked.exit_code == 1 and "MISMATCH" in checked.output
        nobody = runner.invoke(app, ["evidence", "eth", MOP, "--out", str(out), "--as-holder", "nobody"])
        assert nobody.exit_code != 0
    finally:
        dispose_engines()


def fonts_of(pdf: bytes) -> set[str]:
    """The base names of the fonts the first page's text is set in (subset prefix removed)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        names = set()
        for obj in doc[0].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), max_depth=5):
            font = pdfium_c.FPDFTextObj_GetFont(obj)
            size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
            buf = ctypes.create_string_buffer(size)
            pdfium_c.FPDFFont_GetBaseFontName(font, buf, size)
            names.add(buf.value.decode().partition("+")[2] or buf.value.decode())
        return names
    finally:
        doc.close()


def forge_attachment(pdf: bytes, old: bytes, new: bytes) -> bytes:
    """The PDF with its attached content edited (and saved again, as a forger would)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        [attachment] = [doc.get_attachment(i) for i in range(doc.count_attachments())]
        data = bytes(attachment.get_data())
        assert old in data
        attachment.set_data(data.replace(old, new))
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()
    finally:
        doc.close()
