"""The parsed register: what a licence register says about each firm (``FirmRecord``) and what one fetch read
(``FetchResult``), independent of how it was fetched and before anything is stored.

The parser, the sources and the seed produce these; ``blocklist.register.refresh`` judges a fetch by them and
``blocklist.register.apply`` writes them to the tables. Nothing here touches the network or the database, so the
word lists that map the register's wording to our statuses are tested on their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SPACES = re.compile(r"\s+")

# Checked in order: "inactive" and "не действующая" contain the words for "active".
_STATUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("withdrawn", ("withdrawn", "отозвана участником", "прекращ", "аннулир")),
    ("inactive", ("inactive", "not active", "недейств", "не действ", "белсенді емес", "жарамсыз")),
    ("revoked", ("revoked", "отозван", "кері қайтарып", "кері шақырып")),
    ("suspended", ("suspend", "приостанов", "тоқтатыл")),
    ("expired", ("expired", "истек", "мерзімі өт")),
    ("active", ("active", "действ", "активн", "белсенді", "жарамды")),
)


def clean_text(text: str | None) -> str:
    """Register cells carry non-breaking spaces and ragged whitespace; fold them to single spaces."""
    if not text:
        return ""
    return _SPACES.sub(" ", text.replace("\xa0", " ").replace("\u202f", " ")).strip()


def normalize_status(text: str) -> str:
    t = clean_text(text).lower()
    for status, words in _STATUS_WORDS:
        if any(w in t for w in words):
            return status
    return "unknown"


_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_YMD = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def normalize_date(text: str) -> str | None:
    """ISO date when the register wrote a date we recognise; the text as written otherwise (never guessed)."""
    t = clean_text(text)
    if not t or t in {"-", "—", "N/A", "n/a"}:
        return None
    m = _DMY.match(t)
    if m:
        return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    m = _YMD.match(t)
    if m:
        return m.group(0)
    return t[:32]


@dataclass
class FirmRecord:
    name: str
    licence_number: str | None
    status: str  # normalised, see normalize_status
    status_text: str = ""
    issued_on: str | None = None
    inactive_since: str | None = None
    activities: str = ""
    section: str = ""
    bin: str | None = None
    details_url: str | None = None
    domains: list[str] = field(default_factory=list)  # only the seed knows domains

    @property
    def firm_key(self) -> str:
        if self.licence_number:
            return self.licence_number
        return "name:" + clean_text(self.name).casefold()[:190]


@dataclass
class FetchResult:
    """Firms parsed plus what the parser had to skip: a parse that skipped much is rejected, not applied."""

    firms: list[FirmRecord]
    rows_seen: int = 0
    rows_skipped: int = 0
    warnings: list[str] = field(default_factory=list)
