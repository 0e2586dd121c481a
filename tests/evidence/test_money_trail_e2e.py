"""Done-when of issue 12, over real HTTP (a ``registry serve`` process) and the real command line: import a transfer
file holding a mop network, list its source (one person submits, another approves), rescore, discover the mops from
the listed wallet ("where did it go"), list one in one action, approve it as a third person, download its evidence
pack as PDF, render the pages to images and find the path graph drawn on them."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner, Result

from registry.cli import app
from registry.db.engine import dispose_engines
from registry.evidence import graph as graphs
from registry.evidence import service
from tests.support.keys import Keys
from tests.support.servers import LiveServer

USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
VICTIMS = ["0x" + f"{i:02x}" * 20 for i in (0x11, 0x12, 0x13)]
SOURCE = "0x" + "a0" * 20
MOPS = ["0x" + f"{i:02x}" * 20 for i in (0xB1, 0xB2, 0xB3, 0xB4)]
EXCHANGER = "0x" + "e0" * 20
CLEAN = ["0x" + f"{i:02x}" * 20 for i in (0xC1, 0xC2)]
FIRST_BLOCK, FIRST_TIME = 20_000_000, 1_717_400_000
LISTED_FACE = graphs.COLOURS[graphs.LISTED][0]
SUBJECT_FACE = graphs.COLOURS[graphs.SUBJECT][0]


def write_etl_files(folder: Path) -> list[Path]:
    """ethereum-etl's token_transfers.csv and blocks.csv of the scheme: victims pay the fraudster, who splits the money
    over four mops, who pass it (less a cut) to an exchanger that clean customers use too."""
    usdt = 10**6  # base units of one USDT (6 decimals)
    split = (4000, 3000, 2000, 1000)
    flows = [(v, SOURCE, 3_400 * usdt) for v in VICTIMS]
    flows += [(SOURCE, m, x * usdt) for m, x in zip(MOPS, split, strict=True)]
    flows += [(m, EXCHANGER, x * 97 // 100 * usdt) for m, x in zip(MOPS, split, strict=True)]  # a 3 % cut
    flows += [(c, EXCHANGER, 25_000 * usdt) for c in CLEAN]
    tt, bl = folder / "token_transfers.csv", folder / "blocks.csv"
    with open(tt, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["token_address", "from_address", "to_address", "value", "transaction_hash", "log_index",
                    "block_number"])  # fmt: skip
        for i, (src, dst, amount) in enumerate(flows):
            w.writerow([USDT, src, dst, amount, "0x" + f"{i + 1:064x}", i % 3, FIRST_BLOCK + i])
    with open(bl, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["number", "hash", "parent_hash", "timestamp", "transaction_count"])
        for i in range(len(flows)):
            w.writerow([FIRST_BLOCK + i, "0x" + f"{i + 7:064x}", "0x" + f"{i + 6:064x}", FIRST_TIME + 12 * i, 1])
    return [tt, bl]


def registry_command(*args: str) -> Result:
    """The ``registry`` command, run in this process (a fresh interpreter costs seconds of imports on a busy machine);
    ``REGISTRY_DATABASE_URL`` is set by the test."""
    return CliRunner().invoke(app, list(args))


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def registry_version(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(text("SELECT value FROM registry_state WHERE name = 'registry'")).scalar_one())


def wait_for_version(client: httpx.Client, bank: dict[str, str], version: int, timeout: float = 20) -> None:
    """Until the server's snapshot (it polls the registry counter) has caught up."""
    deadline = time.monotonic() + timeout
    while True:
        r = ok(client.post("/v1/screen", json={"address": SOURCE, "chain": "eth"}, headers=bank))
        if int(r["registry_version"]) >= version:
            return
        assert time.monotonic() < deadline, f"server stuck at registry version {r['registry_version']} < {version}"
        time.sleep(0.1)


def near(region: np.ndarray, colour: str, tolerance: int = 12) -> int:
    """How many pixels of ``region`` have (about) the colour ``#rrggbb``."""
    want = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(region - want) <= tolerance).all(axis=2).sum())


def boxes_of(tp: Any, needle: str) -> list[tuple[float, float, float, float]]:
    """The PDF boxes (left, bottom, right, top) of every occurrence of ``needle`` on a page's text layer."""
    out = []
    searcher = tp.search(needle, match_case=True)
    while (found := searcher.get_next()) is not None:
        start, count = found
        chars = [tp.get_charbox(k) for k in range(start, start + count)]
        out.append((min(c[0] for c in chars), min(c[1] for c in chars), max(c[2] for c in chars),
                    max(c[3] for c in chars)))  # fmt: skip
    return out


def graph_region(pdf: bytes, labels: list[str], scale: float) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The page holding the graph rendered to an image, and the pixel box of the graph: between the section's
    heading and the caption under the drawing, the full width of the page. Every label must be drawn inside it
    (the graph's text is text, found through the PDF's text layer)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            heading, caption = boxes_of(tp, "Exposure and the money graph"), boxes_of(tp, "Money flows left to right")
            if not heading or not caption:
                continue
            top, bottom = heading[0][1], caption[0][3]  # PDF y grows upwards
            for label in labels:
                inside = [b for b in boxes_of(tp, label) if bottom < b[1] and b[3] < top]
                assert inside, f"{label} is not drawn in the graph"
            height, width = page.get_height(), page.get_width()
            image = page.render(scale=scale).to_pil().convert("RGB")
            return image, (0, int((height - top) * scale), int(width * scale), int((height - bottom) * scale))
        raise AssertionError("no page shows the money graph")
    finally:
        doc.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_from_a_transfer_file_to_the_evidence_pack_of_a_mop(
    live_server: LiveServer, db_url: str, engine: Engine, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.settings import get_settings

    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    get_settings.cache_clear()
    try:
        run_the_case(live_server, engine, keys, tmp_path)
    finally:
        dispose_engines()


def run_the_case(live_server: LiveServer, engine: Engine, keys: Keys, tmp_path: Path) -> None:
    # 1. The transfers a case brought, as ethereum-etl exported them, loaded with the command line.
    imported = registry_command("import", "transfers", "-q", *map(str, write_etl_files(tmp_path)))
    assert imported.exit_code == 0, imported.output
    assert "13 new" in imported.output

    inv = keys.headers("investigator", holder="Айгерим Нурланова")
    sup1 = keys.headers("supervisor", holder="Дмитрий Ли")
    sup2 = keys.headers("supervisor", holder="Сауле Ахметова")
    bank = keys.headers("bank")
    with live_server.client() as client:
        # 2. The fraudster's wallet listed: submitted by one person, approved by another.
        case = ok(client.post("/v1/cases", json={"number": "2026-0412", "title": "Телефонное мошенничество"},
                              headers=inv), 201)  # fmt: skip
        source = ok(
            client.post(
                f"/v1/cases/{case['id']}/listings",
                json={
                    "address": SOURCE,
                    "chain": "eth",
                    "category": "fraud",
                    "confidence": 70,
                    "legal_basis": "Постановление о признании потерпевшим, УПК РК ст. 71",
                },  # fmt: skip
                headers=inv,
            ),
            201,
        )
        ok(client.post(f"/v1/listings/{source['id']}/approve", json={}, headers=sup1))

        # 3. Rescoring picks the imported transfers up.
        scored = registry_command("score")
        assert scored.exit_code == 0, scored.output
        assert "13 transfers" in scored.output
        wait_for_version(client, bank, registry_version(engine))

        # 4. Where did the money go: the mops, ranked, offered as candidates; the exchanger behind them too.
        found = ok(client.get(f"/v1/addresses/eth/{SOURCE}/destinations", params={"hops": 3}, headers=inv))
        first_hop = [d for d in found["items"] if d["hops"] == 1]
        assert [d["address"] for d in first_hop] == MOPS  # largest share first
        assert all(d["candidate"] for d in first_hop)
        assert EXCHANGER in {d["address"] for d in found["items"]}
        mop = first_hop[0]["address"]

        # 5. One action lists the mop (pending); a different supervisor approves it.
        listed = ok(
            client.post(
                f"/v1/cases/{case['id']}/candidates",
                json={
                    "chain": "eth",
                    "addresses": [mop],
                    "category": "money_mule",
                    "confidence": "heuristic",
                    "reason": "received 40 % of the fraud wallet's outflow",
                    "derived_from": {"chain": "eth", "address": SOURCE},
                },  # fmt: skip
                headers=inv,
            ),
            201,
        )
        [pending] = listed["listings"]
        assert pending["status"] == "pending" and pending["category"] == "money_mule"
        ok(client.post(f"/v1/listings/{pending['id']}/approve", json={}, headers=sup2))
        wait_for_version(client, bank, registry_version(engine))

        # 6. The mop's evidence pack, as a prosecutor gets it.
        r = client.get(f"/v1/addresses/eth/{mop}/evidence", params={"format": "pdf"}, headers=inv)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        pdf = r.content

    checked = service.verify(pdf)
    assert checked.ok and checked.computed == r.headers["x-evidence-sha256"], checked
    doc = pdfium.PdfDocument(pdf)
    try:
        words = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r\n", " ")
    finally:
        doc.close()
    for expected in ("money_mule", "Айгерим Нурланова", "Сауле Ахметова", "Телефонное мошенничество", "4000 USDT"):
        assert expected in words, expected

    # 7. The path graph on the rendered page: the fraud wallet (a listed node, red) and the mop (this address, blue)
    # drawn as boxes around their labels.
    image, box = graph_region(pdf, [graphs.short(SOURCE), graphs.short(mop)], scale=2.0)
    region = np.asarray(image.crop(box), dtype=np.int16)  # height x width x RGB
    assert (region < 250).any(axis=2).mean() > 0.03  # drawn, not blank
    assert near(region, LISTED_FACE) > 200, "no listed (red) node in the graph"
    assert near(region, SUBJECT_FACE) > 200, "no subject (blue) node in the graph"
