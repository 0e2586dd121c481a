"""Pure parsing of AFSA register pages (HTML in, records out): tested on recorded pages, no network here.

The register has no export and no change feed, so this scrapes; when the page does not look like the register
(no table, no rows) the parser says so instead of returning nothing, and the caller refuses to apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from blocklist.register.records import FirmRecord, clean_text, normalize_date, normalize_status
from registry.errors import UpstreamError

LICENCE_NUMBER = re.compile(r"\bAFSA-[A-Z]-[A-Z]{2}-\d{4}-\d{4}\b")
_BIN = re.compile(r"/details/(\d{12})/?")

# Detail-page labels in English, Russian and Kazakh → our field.
_DETAIL_LABELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("inactive_since", ("not active since", "не действует с", "неактивна с", "әрекет етпейді", "жарамсыз")),
    (
        "issued_on",
        ("active since", "действует с", "дата выдачи", "issue date", "берілген күні", "күшіне енді"),
    ),
    ("licence_number", ("licence number", "license number", "номер лицензии", "лицензия нөмірі")),
    ("status", ("status", "статус", "мәртебе")),
    ("activities", ("activit", "services", "виды деятельности", "услуги", "қызмет")),
    ("name", ("subject of regulation", "субъект регулирования", "реттеу субъектісі", "name", "наименование")),
    ("description", ("description", "описание", "сипаттама")),
    ("comments", ("comment", "комментар", "түсініктеме")),
)


_LIST_FIELDS = ("name", "licence", "status", "issued", "activities")
# List-page headers in English, Russian and Kazakh; checked in order ("licence status" is a status, not a licence).
_LIST_HEADERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("status", ("status", "статус", "мәртебе")),
    ("licence", ("licence", "license", "лиценз")),
    ("issued", ("date", "дата", "күні", "since")),
    ("activities", ("activit", "services", "деятельн", "услуг", "қызмет")),
    ("name", ("firm", "name", "наименование", "название", "атауы", "company")),
)


class RegisterLayoutError(UpstreamError):
    """The page is not a register page we can read: an error page, a login wall, or a changed layout."""

    code = "register_layout"


@dataclass
class ListPage:
    firms: list[FirmRecord]
    next_url: str | None
    rows_seen: int
    rows_skipped: int


def _soup(html: str | bytes) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


def parse_list_page(html: str | bytes, page_url: str, section: str) -> ListPage:
    soup = _soup(html)
    table = soup.select_one(".table-container .table") or soup.select_one(".table-container table")
    if table is None:
        title = clean_text(soup.title.get_text()) if soup.title else ""
        raise RegisterLayoutError(
            f"{page_url}: no register table on the page{f' (title: {title[:80]!r})' if title else ''}; "
            "an error page or a layout change"
        )
    rows = table.select("tbody tr")
    columns = _columns([clean_text(th.get_text(" ")) for th in table.select("thead th")])
    firms: list[FirmRecord] = []
    skipped = 0
    for tr in rows:
        rec = _parse_row(tr, page_url, section, columns)
        if rec is None:
            skipped += 1
        else:
            firms.append(rec)
    nxt = soup.select_one(".pagination .next a[href], .pagination a.next[href], .pagination .next[href]")
    next_url = None
    if nxt is not None:
        href = nxt.get("href")
        if isinstance(href, str) and href.strip() and href.strip() != "#":
            next_url = urljoin(page_url, href.strip())
    return ListPage(firms, next_url, len(rows), skipped)


def _columns(headers: list[str]) -> tuple[int, ...]:
    """Column positions of name, licence, status, issue date and activities, found by the header words so that a
    reordered table is still read right; the documented order when the header says nothing we know."""
    found: dict[str, int] = {}
    for i, h in enumerate(headers):
        key = _header_key(h)
        if key and key not in found:
            found[key] = i
    default = dict(zip(_LIST_FIELDS, range(len(_LIST_FIELDS)), strict=True))
    if not {"name", "licence"} <= found.keys():
        return tuple(default[f] for f in _LIST_FIELDS)
    return tuple(found.get(f, default[f]) for f in _LIST_FIELDS)


def _header_key(header: str) -> str | None:
    t = header.lower()
    for key, words in _LIST_HEADERS:
        if any(w in t for w in words):
            return key
    return None


def _parse_row(tr: Tag, page_url: str, section: str, columns: tuple[int, ...]) -> FirmRecord | None:
    """A row without a firm name, or with neither a licence number nor a details link, is not a firm."""
    cells = [clean_text(td.get_text(" ")) for td in tr.find_all(["td", "th"], recursive=False)]
    if not cells or len(cells) < 2:
        return None
    cells += [""] * (max(columns) + 1 - len(cells))
    name, licence_text, status_text, issued, activities = (cells[i] for i in columns)
    link = tr.select_one("a[href]")
    href = link.get("href") if link is not None else None
    details_url = urljoin(page_url, href) if isinstance(href, str) and href.strip() else None
    m = LICENCE_NUMBER.search(licence_text)
    licence = m.group(0) if m else (licence_text or None)
    if not name or (not licence and not details_url):
        return None
    bin_match = _BIN.search(details_url or "")
    return FirmRecord(
        name=name,
        licence_number=licence,
        status=normalize_status(status_text),
        status_text=status_text,
        issued_on=normalize_date(issued),
        activities=activities,
        section=section,
        bin=bin_match.group(1) if bin_match else None,
        details_url=details_url,
    )


def parse_detail_page(html: str | bytes, page_url: str) -> dict[str, str]:
    """Label → value from the ``.table-boarded`` table of a firm or licence page."""
    soup = _soup(html)
    table = soup.select_one(".table-boarded")
    if table is None:
        raise RegisterLayoutError(f"{page_url}: no details table on the page; an error page or a layout change")
    out: dict[str, str] = {}
    for tr in table.select("tr"):
        cells = [clean_text(c.get_text(" ")) for c in tr.find_all(["th", "td"], recursive=False)]
        if len(cells) < 2:
            continue
        key = _detail_key(cells[0])
        if key and key not in out and cells[1]:
            out[key] = cells[1]
    return out


def _detail_key(label: str) -> str | None:
    t = label.lower()
    for key, words in _DETAIL_LABELS:
        if any(w in t for w in words):
            return key
    return None


def apply_details(rec: FirmRecord, details: dict[str, str]) -> FirmRecord:
    """The detail page is more precise than the list (dates, full services); it wins where it has a value."""
    if details.get("status"):
        rec.status_text = details["status"]
        rec.status = normalize_status(details["status"])
    if details.get("issued_on"):
        rec.issued_on = normalize_date(details["issued_on"])
    if details.get("inactive_since"):
        rec.inactive_since = normalize_date(details["inactive_since"])
    if details.get("activities"):
        rec.activities = details["activities"]
    if not rec.licence_number and details.get("licence_number"):
        rec.licence_number = details["licence_number"]
    return rec
