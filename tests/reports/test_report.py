"""The period report on a populated registry (both databases): the PDF that ``registry report`` writes shows the
tables and charts, and its figures are the counts taken straight from the tables here, with SQL of this test's own
(listing statuses and timestamps, not the audit log the product reads), and the counts the scenario made by hand."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pypdfium2 as pdfium
import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from registry.db.types import UtcDateTime
from registry.reports.models import document
from registry.reports.periods import Period
from registry.reports.service import verify_hash
from tests.reports.conftest import Populated
from tests.reports.scenario import BANK_ORGS

CURRENT_RGB = (0x1F, 0x5F, 0xA8)  # registry.reports.charts.CURRENT, written out: a changed colour must fail here
SECOND_RGB = (0xD9, 0x82, 0x2B)
CHARTS = ("Chart 1. Listings added by category", "Chart 2. Screenings by risk level", "Chart 3. Reference value")


@dataclass
class Counted:
    """Figures counted from the tables by this test's own SQL."""

    added: dict[str, int]
    approved: dict[str, int]
    rejected: dict[str, int]
    delisted: dict[str, int]
    expired: dict[str, int]
    domains_blocked: int
    domains_unblocked: int
    cases_opened: int
    alerts_sent: int
    screenings: int
    screenings_by_org: dict[str, int]
    previous_screenings: int


def _by_category(engine: Engine, where: str, period: Period) -> dict[str, int]:
    q = text(f"SELECT category, count(*) FROM listing WHERE {where} GROUP BY category").bindparams(
        bindparam("s", type_=UtcDateTime()), bindparam("e", type_=UtcDateTime())
    )
    with engine.connect() as c:
        return {str(k): int(n) for k, n in c.execute(q, {"s": period.start_at, "e": period.end_at})}


def count(engine: Engine, period: Period) -> Counted:
    def one(sql: str, **params: Any) -> int:
        q = text(sql).bindparams(*(bindparam(k, type_=UtcDateTime()) for k in ("s", "e") if f":{k}" in sql))
        with engine.connect() as c:
            return int(c.execute(q, {"s": period.start_at, "e": period.end_at, **params}).scalar_one() or 0)

    day0, day1 = period.start_at.date(), period.end_at.date()
    with engine.connect() as c:
        rolled = {
            str(o): int(n)
            for o, n in c.execute(
                text("SELECT org, sum(screenings) FROM screening_rollup WHERE day >= :a AND day < :b GROUP BY org"),
                {"a": day0, "b": day1},
            )
        }
        logged = {
            str(o): int(n)
            for o, n in c.execute(
                text(
                    "SELECT k.org, count(*) FROM screening_log l JOIN api_key k ON k.id = l.key_id "
                    "WHERE l.at >= :s AND l.at < :e GROUP BY k.org"
                ).bindparams(bindparam("s", type_=UtcDateTime()), bindparam("e", type_=UtcDateTime())),
                {"s": period.start_at, "e": period.end_at},
            )
        }
        prev = period.previous()
        previous = int(
            c.execute(
                text("SELECT coalesce(sum(screenings), 0) FROM screening_rollup WHERE day >= :a AND day < :b"),
                {"a": prev.start, "b": prev.end_at.date()},
            ).scalar_one()
        )
    by_org = {o: rolled.get(o, 0) + logged.get(o, 0) for o in set(rolled) | set(logged)}
    in_period = "{} >= :s AND {} < :e"
    return Counted(
        added=_by_category(engine, in_period.format("created_at", "created_at"), period),
        approved=_by_category(engine, "source = 'fiu' AND " + in_period.format("listed_since", "listed_since"), period),
        rejected=_by_category(
            engine, "status = 'rejected' AND " + in_period.format("decided_at", "decided_at"), period
        ),
        delisted=_by_category(
            engine, "status = 'delisted' AND " + in_period.format("decided_at", "decided_at"), period
        ),
        expired=_by_category(engine, "status = 'expired' AND " + in_period.format("decided_at", "decided_at"), period),
        # every domain of the scenario was decided in the period: blocked = approved once (active now, or delisted)
        domains_blocked=one("SELECT count(*) FROM blocklist_domain WHERE status IN ('active', 'delisted')"),
        domains_unblocked=one("SELECT count(*) FROM blocklist_domain WHERE status = 'delisted'"),
        cases_opened=one("SELECT count(*) FROM cases WHERE created_at >= :s AND created_at < :e"),
        alerts_sent=one("SELECT count(*) FROM monitoring_alert WHERE sent_at >= :s AND sent_at < :e"),
        screenings=sum(by_org.values()),
        screenings_by_org=by_org,
        previous_screenings=previous,
    )


@dataclass
class Page:
    image: Any  # PIL image, RGB
    text: str
    captions: dict[str, int]  # caption -> its top in image pixels


def _pages(pdf: bytes, scale: float = 1.5, captions: tuple[str, ...] = ()) -> list[Page]:
    """Each page rendered to an image by pdfium (the renderer Chrome uses), with its text layer and where on it
    each of ``captions`` is."""
    doc = pdfium.PdfDocument(pdf)
    out = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            tp = page.get_textpage()
            text_layer = tp.get_text_range()
            found = {}
            for caption in captions:
                if caption in text_layer:
                    searcher = tp.search(caption)
                    hit = searcher.get_next()
                    searcher.close()
                    assert hit is not None
                    _, _, _, top = tp.get_charbox(hit[0])
                    found[caption] = int((page.get_height() - top) * scale)
            out.append(Page(page.render(scale=scale).to_pil().convert("RGB"), text_layer, found))
            tp.close()
            page.close()
    finally:
        doc.close()
    return out


def _coloured(image: Any, box: tuple[int, int, int, int], rgb: tuple[int, int, int], tol: int = 24) -> int:
    """Pixels within ``tol`` of ``rgb`` in ``box`` (left, top, right, bottom) of ``image``."""
    pixels = np.asarray(image.crop(box), dtype=np.int16)
    return int((np.abs(pixels - np.array(rgb, dtype=np.int16)) <= tol).all(axis=-1).sum())


def _chart_pixels(pages: list[Page], caption: str, rgb: tuple[int, int, int], scale: float = 1.5) -> int:
    """Pixels of ``rgb`` in the 300 points under the caption ``caption``: the chart's region."""
    for page in pages:
        if caption in page.captions:
            top = page.captions[caption]
            return _coloured(
                page.image, (0, top, page.image.width, min(page.image.height, top + int(300 * scale))), rgb
            )
    raise AssertionError(f"no page shows {caption!r}")


def _row(text_layer: str, label: str, *cells: object) -> bool:
    """A table row in the PDF's text layer: the label, then the cells, separated by white space."""
    pattern = re.escape(label) + "".join(r"\s+" + re.escape(str(c)) for c in cells) + r"(\s|$)"
    return re.search(pattern, text_layer) is not None


def test_report_pdf_shows_tables_and_charts_with_the_figures_in_the_database(
    populated: Populated, tmp_path: Path
) -> None:
    s, p = populated.scenario, populated.period
    db = count(s.engine, p)
    exp = s.expected
    # the database holds what the scenario did (its own SQL against the hand count) …
    for event in ("added", "approved", "rejected", "delisted", "expired"):
        assert getattr(db, event) == getattr(exp, event), event
    assert (db.domains_blocked, db.domains_unblocked, db.cases_opened) == (2, 1, 2)
    assert db.screenings == exp.screenings and db.previous_screenings == exp.previous_screenings == 40
    assert db.screenings_by_org == {BANK_ORGS[0]: 8 + 3, BANK_ORGS[1]: 12}

    out = tmp_path / "report.pdf"
    result = populated.run("report", "--period", p.label, "--format", "pdf", "--lang", "en", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert p.label in result.output and "sha256" in result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = _pages(pdf, captions=CHARTS)
    words = "\n".join(page.text for page in pages)

    # … and the report shows those counts: the summary (previous period, this one) …
    total = {e: sum(getattr(db, e).values()) for e in ("added", "approved", "rejected", "delisted", "expired")}
    assert _row(words, "Listings added", 0, total["added"]), words[:3000]
    assert _row(words, "Listings approved", 0, total["approved"])
    assert _row(words, "Listings rejected", 0, total["rejected"])
    assert _row(words, "Listings delisted", 0, total["delisted"])
    assert _row(words, "Listings expired", 0, total["expired"])
    assert _row(words, "Exchanger domains blocked", 0, db.domains_blocked)
    assert _row(words, "Exchanger domains unblocked", 0, db.domains_unblocked)
    assert _row(words, "Licensed firms added to the register", 0, exp.licensed_firms_added)
    assert _row(words, "Licensed firms withdrawn from the register", 0, exp.licensed_firms_withdrawn)
    assert _row(words, "Cases opened", 0, db.cases_opened)
    assert _row(words, "Addresses screened by banks", db.previous_screenings, db.screenings)
    assert _row(words, "Monitoring alerts sent", 0, db.alerts_sent) and db.alerts_sent == exp.alerts_sent == 2
    to_listed = sum(v for (_, d, _), (_, v) in exp.flows.items() if d == "to_listed")
    from_listed = sum(v for (_, d, _), (_, v) in exp.flows.items() if d == "from_listed")
    assert _row(words, "Value received by listed wallets, USD", "0.00", f"{to_listed:,.2f}")
    assert _row(words, "Value sent by listed wallets, USD", "0.00", f"{from_listed:,.2f}")
    # … the listings by category, one column per event …
    names = {
        "fraud": "fraud",
        "mixer": "mixer",
        "money_mule": "money mules (drops)",
        "ransomware": "ransomware",
        "drug_trafficking": "drug trafficking",
        "sanctions": "sanctions",
    }
    for cat, name in names.items():
        cells = [getattr(db, e).get(cat, 0) for e in ("added", "approved", "rejected", "delisted", "expired")]
        assert _row(words, name, *cells), (cat, cells)
    # … the screenings per bank (the agency's report only) …
    for org, n in db.screenings_by_org.items():
        assert _row(words, org, n), org

    # … the value flows per category: received (transfers, value, of which domestic), sent (the same) …
    def flow(cat: str, direction: str) -> tuple[int, float, float]:
        rows = [
            (n, v, v if cp == "domestic_licensed" else 0.0)
            for (c, d, cp), (n, v) in exp.flows.items()
            if c == cat and d == direction
        ]
        return sum(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows)

    for cat in ("fraud", "mixer", "ransomware"):
        (n_in, v_in, d_in), (n_out, v_out, d_out) = flow(cat, "to_listed"), flow(cat, "from_listed")
        cells = [n_in, f"{v_in:,.2f}", f"{d_in:,.2f}", n_out, f"{v_out:,.2f}", f"{d_out:,.2f}"]
        assert _row(words, cat, *cells), (cat, cells)
    # … the period, its due date, the versions and the hash of the statistics
    assert f"Due (20th day after the period) {p.due.strftime('%B')} {p.due.day}, {p.due.year}" in words
    assert "Risk policy version 2026.1" in words or f"Risk policy version {populated.settings.policy_version}" in words
    assert re.search(r"SHA-256 of the statistics [0-9a-f]{64}", words)

    # the charts are drawn: this period's bars in their colour under each caption, the sent value in the second
    assert _chart_pixels(pages, "Chart 1. Listings added by category", CURRENT_RGB) > 500
    assert _chart_pixels(pages, "Chart 2. Screenings by risk level", CURRENT_RGB) > 500
    assert _chart_pixels(pages, "Chart 3. Reference value", CURRENT_RGB) > 500
    assert _chart_pixels(pages, "Chart 3. Reference value", SECOND_RGB) > 100


def test_the_report_over_the_api_in_russian_and_its_other_formats(populated: Populated) -> None:
    s, p = populated.scenario, populated.period
    db = count(s.engine, p)
    # The PDF in Russian on one backend (rendering does not depend on it, and takes seconds), HTML on the other.
    pdf = populated.db_url.startswith("sqlite")
    r = s.client.get(f"/v1/reports/{p.label}", params={"format": "pdf" if pdf else "html", "lang": "ru"}, headers=s.sup)
    assert r.status_code == 200, r.text
    if pdf:
        assert r.headers["content-type"] == "application/pdf"
        words = "\n".join(page.text for page in _pages(r.content, scale=0.5))
    else:
        assert r.headers["content-type"].startswith("text/html")
        words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text))
    assert "Отчётный период" in words and "Диаграмма 1. Добавлено записей по категориям" in words
    assert _row(words, "Одобрено записей", 0, sum(db.approved.values()))
    assert _row(words, "дропы (подставные лица)", 6, 5, 1, 0, 0)  # money mules, in Russian
    sha = r.headers["x-report-sha256"]
    assert re.fullmatch(r"[0-9a-f]{64}", sha) and sha in words

    r = s.client.get(f"/v1/reports/{p.label}", params={"format": "csv"}, headers=s.sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert ["meta", "sha256", "", r.headers["x-report-sha256"], ""] in rows
    assert ["listings", "approved_by_category", "fraud", "7", "0"] in rows
    assert ["screenings", "total", "", str(db.screenings), str(db.previous_screenings)] in rows

    r = s.client.get(f"/v1/reports/{p.label}", params={"format": "html", "lang": "en"}, headers=s.sup)
    assert r.status_code == 200 and r.text.count('src="data:image/svg+xml;base64,') == 3
    charts = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', r.text)
    assert all(b"<svg" in base64.b64decode(c) and b"<path" in base64.b64decode(c) for c in charts)
    assert not re.search(r'(src|href)="https?://', r.text), "the page loads nothing from elsewhere"

    r = s.client.get(f"/v1/reports/{p.label}/statistics", headers=s.sup)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert verify_hash(doc), "the sha256 covers the document without it"
    unhashed = {k: v for k, v in doc.items() if k != "sha256"}  # the recipe of docs/reports.md, by hand
    canonical = json.dumps(unhashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert hashlib.sha256(canonical).hexdigest() == doc["sha256"]
    doc["current"]["cases_opened"] += 1
    assert not verify_hash(doc), "a changed figure changes the hash"
    assert doc["period"] == {
        "label": p.label,
        "kind": p.kind,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "due": p.due.isoformat(),
    }
    assert doc["current"]["listings"]["approved"]["by_category"] == db.approved
    assert doc["current"]["screenings"]["total"] == db.screenings
    assert doc["previous"]["screenings"]["total"] == db.previous_screenings
    assert {b["org"]: b["total"] for b in doc["current"]["screenings"]["by_bank"]} == db.screenings_by_org
    flows = {
        (f["category"], f["direction"], f["counterparty"]): (f["transfers"], f["value"])
        for f in doc["current"]["flows"]
    }
    assert flows == s.expected.flows
    assert doc["previous"]["flows"] == []
    assert set(doc["current"]["typologies"]) >= {"mop_passthrough", "peel_chain"}

    r = s.client.get("/v1/reports/2026H3", headers=s.sup)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "period"


@pytest.mark.parametrize("role", ["bank", "investigator", "isp"])
def test_only_a_supervisor_reads_reports_and_exports(populated: Populated, role: str) -> None:
    s, p = populated.scenario, populated.period
    headers = {"bank": s.bank, "investigator": s.inv, "isp": s.isp}[role]
    for url in (
        f"/v1/reports/{p.label}",
        f"/v1/reports/{p.label}/statistics",
        "/v1/reports/drafts",
        f"/v1/exports/cis?period={p.label}",
    ):
        r = s.client.get(url, headers=headers)
        assert r.status_code == 403, (url, r.status_code, r.text)
        assert r.json()["error"]["code"] == "forbidden"
        assert s.client.get(url).status_code == 401


def test_the_draft_is_stored_once_when_the_half_year_closes(populated: Populated, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from registry.reports.jobs import prepare_draft
    from registry.reports.periods import containing

    s, p = populated.scenario, populated.period
    half = containing(datetime.now(UTC).date())
    closed_at = half.end_at + timedelta(hours=3)
    with ThreadPoolExecutor(2) as pool:
        summaries = list(pool.map(lambda _: prepare_draft(populated.settings, now=closed_at), range(2)))
    assert sum("prepared" in x for x in summaries) == 1, summaries
    assert "stored already" in prepare_draft(populated.settings, now=closed_at + timedelta(days=3))
    with s.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM report_draft")).scalar_one() == 1

    r = s.client.get("/v1/reports/drafts", headers=s.sup)
    assert r.status_code == 200 and [d["period"] for d in r.json()] == [half.label]
    assert r.json()[0]["due"] == half.due.isoformat()
    out = tmp_path / "draft.json"
    result = populated.run("report", "--period", half.label, "--draft", "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    stored = orjson.loads(out.read_bytes())
    assert verify_hash(stored) and stored["sha256"] == r.json()[0]["sha256"]
    assert stored["generated_at"].startswith(closed_at.strftime("%Y-%m-%dT%H"))
    if half == p:
        assert stored["current"]["listings"]["approved"]["total"] == sum(count(s.engine, p).approved.values())
    html = s.client.get(
        f"/v1/reports/{half.label}", params={"format": "html", "lang": "en", "draft": True}, headers=s.sup
    )
    assert html.status_code == 200 and stored["sha256"] in html.text and "DRAFT" in html.text
    other = half.previous()
    r = s.client.get(f"/v1/reports/{other.label}/statistics", params={"draft": True}, headers=s.sup)
    assert r.status_code == 404


def test_the_statistics_document_round_trips_its_hash(populated: Populated) -> None:
    from registry.reports.service import statistics

    stats = statistics(populated.scenario.engine, populated.period, policy_version="2026.1")
    doc = document(stats)
    assert verify_hash(doc) and verify_hash(orjson.loads(orjson.dumps(doc)))
