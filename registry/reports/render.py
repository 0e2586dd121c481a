"""The report in its four formats: HTML (Jinja2), PDF (WeasyPrint over that HTML), JSON (the statistics document)
and CSV (every figure as one row: section, figure, key, this period, the previous one).

Rendering reads nothing but the statistics document, so a stored draft renders to the figures it was prepared
with, and every format of one document carries the same ``sha256``.
"""

from __future__ import annotations

import base64
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from registry.pdf import html_to_pdf
from registry.reports import charts
from registry.reports.i18n import Lang, Words
from registry.reports.models import LISTING_EVENTS, Breakdown, Figures, Statistics, document

Format = Literal["pdf", "html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("pdf", "html", "json", "csv")
MEDIA_TYPES: dict[Format, str] = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}

_env = Environment(
    loader=PackageLoader("registry.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    filename: str


def render(stats: Statistics, fmt: Format, lang: Lang, *, draft: bool = False) -> Rendered:
    name = f"registry-report-{stats.period.label.replace('..', '_')}{'-draft' if draft else ''}"
    if fmt == "json":
        body = orjson.dumps(document(stats), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        return Rendered(body, MEDIA_TYPES[fmt], f"{name}.json")
    if fmt == "csv":
        return Rendered(to_csv(stats).encode(), MEDIA_TYPES[fmt], f"{name}.csv")
    html = to_html(stats, lang, draft=draft)
    if fmt == "html":
        return Rendered(html.encode(), MEDIA_TYPES[fmt], f"{name}-{lang}.html")
    return Rendered(to_pdf(html, stats, lang), MEDIA_TYPES[fmt], f"{name}-{lang}.pdf")


# --- HTML ----------------------------------------------------------------------------------------------------------


def _font_url() -> str:
    """DejaVu Sans as matplotlib ships it: the report has Cyrillic, and the PDF must not depend on which fonts the
    machine happens to have (nor fetch one)."""
    import matplotlib

    return (Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf").as_uri()


def _summary(stats: Statistics, t: Words) -> list[tuple[str, str, str, str]]:
    cur, prev = stats.current, stats.previous

    def value(f: Figures, direction: str) -> float:
        return sum(g.value for g in f.flows if g.direction == direction)

    rows: list[tuple[str, float | None, float | None, int]] = [
        *((f"listings_{e}", _event(prev, e).total, _event(cur, e).total, 0) for e in LISTING_EVENTS),
        ("domains_blocked", prev.domains_blocked, cur.domains_blocked, 0),
        ("domains_unblocked", prev.domains_unblocked, cur.domains_unblocked, 0),
        ("licensed_firms_added", prev.licensed_firms_added, cur.licensed_firms_added, 0),
        ("licensed_firms_withdrawn", prev.licensed_firms_withdrawn, cur.licensed_firms_withdrawn, 0),
        ("cases_opened", prev.cases_opened, cur.cases_opened, 0),
        ("screenings_total", prev.screenings.total, cur.screenings.total, 0),
        ("screenings_blocked", prev.screenings.by_action.get("block", 0), cur.screenings.by_action.get("block", 0), 0),
        ("alerts_sent", prev.alerts_sent, cur.alerts_sent, 0),
        ("value_to_listed", value(prev, "to_listed"), value(cur, "to_listed"), 2),
        ("value_from_listed", value(prev, "from_listed"), value(cur, "from_listed"), 2),
    ]
    out = []
    for key, p, c, digits in rows:
        label = t(key) + (f", {stats.value_unit}" if digits else "")
        out.append((label, t.number(p, digits), t.number(c, digits), t.change(p, c)))
    return out


def _event(f: Figures, event: str) -> Breakdown:
    b: Breakdown = getattr(f.listings, event)
    return b


def _by(f: Figures, dimension: str, t: Words) -> list[tuple[str, list[str]]]:
    """Rows of one dimension (category, chain …) with a column per listing event, busiest first."""
    keys: dict[str, int] = {}
    for e in LISTING_EVENTS:
        for k, n in getattr(_event(f, e), f"by_{dimension}").items():
            keys[k] = keys.get(k, 0) + n
    ordered = sorted(keys, key=lambda k: (-int(k), k) if dimension == "confidence" else (-keys[k], k))
    names = {"category": "cat", "source": "source"}
    return [
        (
            t.maybe(names[dimension], k) if dimension in names else k,
            [t.number(getattr(_event(f, e), f"by_{dimension}").get(k, 0)) for e in LISTING_EVENTS],
        )
        for k in ordered
    ]


def _flows(f: Figures, t: Words) -> list[dict[str, Any]]:
    per: dict[str, dict[str, float]] = {}
    for g in f.flows:
        row = per.setdefault(g.category, {})
        for key, amount in (
            (f"{g.direction}_n", g.transfers),
            (f"{g.direction}_v", g.value),
            *(((f"{g.direction}_dom", g.value),) if g.counterparty == "domestic_licensed" else ()),
        ):
            row[key] = row.get(key, 0.0) + amount
    ordered = sorted(per, key=lambda c: -(per[c].get("to_listed_v", 0) + per[c].get("from_listed_v", 0)))
    return [
        {
            "category": t.maybe("cat", c),
            "cells": [
                t.number(per[c].get("to_listed_n", 0)),
                t.number(per[c].get("to_listed_v", 0), 2),
                t.number(per[c].get("to_listed_dom", 0), 2),
                t.number(per[c].get("from_listed_n", 0)),
                t.number(per[c].get("from_listed_v", 0), 2),
                t.number(per[c].get("from_listed_dom", 0), 2),
            ],
            "to": per[c].get("to_listed_v", 0.0),
            "from": per[c].get("from_listed_v", 0.0),
        }
        for c in ordered
    ]


def _charts(stats: Statistics, t: Words, flows: list[dict[str, Any]]) -> dict[str, Markup]:
    cur, prev = stats.current, stats.previous
    cats = sorted(
        set(cur.listings.added.by_category) | set(prev.listings.added.by_category),
        key=lambda c: (-cur.listings.added.by_category.get(c, 0), c),
    )
    listings = charts.grouped_bars(
        [t.maybe("cat", c) for c in cats],
        [
            (t("current"), [cur.listings.added.by_category.get(c, 0) for c in cats], charts.CURRENT),
            (t("previous"), [prev.listings.added.by_category.get(c, 0) for c in cats], charts.PREVIOUS),
        ],
        empty=t("none"),
        number=t.number,
    )
    levels = list(cur.screenings.by_level)
    screenings = charts.grouped_bars(
        [t.maybe("level", lv) for lv in levels],
        [
            (t("current"), [cur.screenings.by_level.get(lv, 0) for lv in levels], charts.CURRENT),
            (t("previous"), [prev.screenings.by_level.get(lv, 0) for lv in levels], charts.PREVIOUS),
        ],
        empty=t("none"),
        number=t.number,
    )
    value = charts.grouped_bars(
        [r["category"] for r in flows],
        [
            (t("received"), [r["to"] for r in flows], charts.CURRENT),
            (t("sent"), [r["from"] for r in flows], charts.SECOND),
        ],
        empty=t("none"),
        number=t.number,
        value_label=stats.value_unit,
    )
    return {"listings": _img(listings), "screenings": _img(screenings), "flows": _img(value)}


def _img(svg: str) -> Markup:
    """An SVG chart as an ``<img>`` of a data URL: each chart stays its own document (matplotlib names its glyphs
    and shapes alike in every figure, and three inline SVGs would share one id space), and the HTML report remains
    one self-contained file."""
    data = base64.b64encode(svg.encode()).decode()
    return Markup(f'<img class="chart" alt="" src="data:image/svg+xml;base64,{data}">')


def to_html(stats: Statistics, lang: Lang, *, draft: bool = False) -> str:
    t = Words(lang)
    cur = stats.current
    flows = _flows(cur, t)
    levels = list(cur.screenings.by_level_action)
    actions = ["allow", "review", "block"]
    return _env.get_template("report.html.j2").render(
        s=stats,
        t=t,
        lang=lang,
        draft=draft,
        font_url=_font_url(),
        summary=_summary(stats, t),
        events=[t(f"event_{e}") for e in LISTING_EVENTS],
        by_category=_by(cur, "category", t),
        by_chain=_by(cur, "chain", t),
        by_source=_by(cur, "source", t),
        by_confidence=_by(cur, "confidence", t),
        screening_actions=[t.maybe("action", a) for a in actions],
        screening_rows=[
            (t.maybe("level", lv), [t.number(cur.screenings.by_level_action[lv].get(a, 0)) for a in actions])
            for lv in levels
        ],
        banks=[
            (b.org, t.number(b.total), [t.number(b.by_action.get(a, 0)) for a in actions])
            for b in cur.screenings.by_bank
        ],
        flows=flows,
        typologies=(
            None
            if cur.typologies is None
            else [(k, t.number(v)) for k, v in sorted(cur.typologies.items(), key=lambda kv: (-kv[1], kv[0]))]
        ),
        charts=_charts(stats, t, flows),
        generated=stats.generated_at.strftime("%Y-%m-%d %H:%M:%S"),
        open_period=not stats.generated_at.date() > stats.period.end,
    )


# --- PDF -----------------------------------------------------------------------------------------------------------


def to_pdf(html: str, stats: Statistics, lang: Lang) -> bytes:
    return html_to_pdf(html)


# --- CSV -----------------------------------------------------------------------------------------------------------


def to_csv(stats: Statistics) -> str:
    """Long form, one figure per row, so a spreadsheet can pivot it: ``section, figure, key, current, previous``.
    The first rows carry the period, the versions and the sha256 of the statistics."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "figure", "key", "current", "previous"])
    for figure, value in (
        ("period", stats.period.label),
        ("period_start", stats.period.start.isoformat()),
        ("period_end", stats.period.end.isoformat()),
        ("due", stats.period.due.isoformat()),
        ("previous_period", stats.previous_period.label),
        ("generated_at", document(stats)["generated_at"]),
        ("registry_version", stats.registry_version),
        ("policy_version", stats.policy_version),
        ("value_unit", stats.value_unit),
        ("sha256", stats.sha256),
    ):
        w.writerow(["meta", figure, "", value, ""])
    for note in stats.notes:
        w.writerow(["meta", "note", "", note, ""])
    cur, prev = stats.current, stats.previous
    for e in LISTING_EVENTS:
        c, p = _event(cur, e), _event(prev, e)
        w.writerow(["listings", e, "total", c.total, p.total])
        for dim in ("category", "chain", "source", "confidence"):
            cd, pd = getattr(c, f"by_{dim}"), getattr(p, f"by_{dim}")
            for k in sorted(set(cd) | set(pd)):
                w.writerow(["listings", f"{e}_by_{dim}", k, cd.get(k, 0), pd.get(k, 0)])
    for figure in ("domains_blocked", "domains_unblocked", "licensed_firms_added", "licensed_firms_withdrawn"):
        w.writerow(["blocklist", figure, "", getattr(cur, figure), getattr(prev, figure)])
    w.writerow(["cases", "cases_opened", "", cur.cases_opened, prev.cases_opened])
    cs, ps = cur.screenings, prev.screenings
    w.writerow(["screenings", "total", "", cs.total, ps.total])
    for lv in sorted(set(cs.by_level_action) | set(ps.by_level_action)):
        for a in sorted(set(cs.by_level_action.get(lv, {})) | set(ps.by_level_action.get(lv, {}))):
            w.writerow(
                [
                    "screenings",
                    "by_level_action",
                    f"{lv}/{a}",
                    cs.by_level_action.get(lv, {}).get(a, 0),
                    ps.by_level_action.get(lv, {}).get(a, 0),
                ]
            )
    prev_banks = {b.org: b.total for b in ps.by_bank}
    for b in cs.by_bank:
        w.writerow(["screenings", "by_bank", b.org, b.total, prev_banks.pop(b.org, 0)])
    for org, n in sorted(prev_banks.items()):
        w.writerow(["screenings", "by_bank", org, 0, n])
    w.writerow(["monitoring", "alerts_sent", "", _opt(cur.alerts_sent), _opt(prev.alerts_sent)])

    def flows(f: Figures) -> dict[str, tuple[int, float]]:
        return {f"{g.category}/{g.chain}/{g.direction}/{g.counterparty}": (g.transfers, g.value) for g in f.flows}

    cf, pf = flows(cur), flows(prev)
    for k in sorted(set(cf) | set(pf)):
        w.writerow(["flows", "transfers", k, cf.get(k, (0, 0.0))[0], pf.get(k, (0, 0.0))[0]])
        w.writerow(["flows", "value", k, cf.get(k, (0, 0.0))[1], pf.get(k, (0, 0.0))[1]])
    ct, pt = cur.typologies, prev.typologies
    if ct is None:
        w.writerow(["typologies", "addresses_flagged", "", "", ""])
    else:
        for k in sorted(set(ct) | set(pt or {})):
            w.writerow(["typologies", "addresses_flagged", k, ct.get(k, 0), (pt or {}).get(k, 0)])
    return buf.getvalue()


def _opt(n: int | None) -> str | int:
    return "" if n is None else n
