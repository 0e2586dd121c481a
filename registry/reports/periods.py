"""Reporting periods: the two half-years (``2026H1``, ``2026H2``) and any range of whole days.

Periods are whole UTC days, ``[start 00:00Z, end + 1 day 00:00Z)``: the screening rollup that outlives the
screening log counts UTC days, so no other boundary could be counted exactly after retention. The consolidated
report is due on the 20th day after the period ends (``due``), which the report shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from registry.errors import InvalidInput

DUE_DAYS = 20
"""The agency sends its consolidated report to the government by the 20th day after each period."""
MAX_RANGE_DAYS = 3660
"""A range longer than ten years is refused: nobody reports on it, and it would only be a slow query."""

_HALF = re.compile(r"(\d{4})[Hh]([12])")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day, inclusive
    half_year: bool = False

    @property
    def label(self) -> str:
        """``2026H2`` for a half-year, ``2026-03-01..2026-04-30`` for a range: what ``parse`` reads back."""
        if self.half_year:
            return f"{self.start.year}H{1 if self.start.month == 1 else 2}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def kind(self) -> str:
        return "half_year" if self.half_year else "range"

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=UTC)

    @property
    def due(self) -> date:
        return self.end + timedelta(days=DUE_DAYS)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period compared against: the half-year before, or a range of the same length just before."""
        if self.half_year:
            if self.start.month == 1:
                return half_year(self.start.year - 1, 2)
            return half_year(self.start.year, 1)
        end = self.start - timedelta(days=1)
        return Period(start=end - timedelta(days=self.days - 1), end=end)

    def closed(self, today: date) -> bool:
        return today > self.end


def half_year(year: int, half: int) -> Period:
    if half == 1:
        return Period(date(year, 1, 1), date(year, 6, 30), half_year=True)
    return Period(date(year, 7, 1), date(year, 12, 31), half_year=True)


def date_range(start: date, end: date) -> Period:
    if end < start:
        raise InvalidInput(f"the period ends ({end}) before it starts ({start})", details={"field": "to"})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"a period is at most {MAX_RANGE_DAYS} days long", details={"field": "to"})
    if start.year < 2000 or end.year > 2999:
        raise InvalidInput("a period lies between the years 2000 and 2999", details={"field": "from"})
    return Period(start, end)


def parse(text: str) -> Period:
    """``2026H1``, ``2026H2`` or ``2026-03-01..2026-04-30`` (both days included)."""
    text = text.strip()
    m = _HALF.fullmatch(text)
    if m:
        year = int(m.group(1))
        if not 2000 <= year <= 2999:
            raise InvalidInput("a period lies between the years 2000 and 2999", details={"field": "period"})
        return half_year(year, int(m.group(2)))
    m = _RANGE.fullmatch(text)
    if m:
        try:
            return date_range(date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2)))
        except ValueError:
            pass
    raise InvalidInput(
        f"unknown period {text[:40]!r}: write 2026H1, 2026H2 or FROM..TO (2026-03-01..2026-04-30)",
        details={"field": "period"},
    )


def containing(day: date) -> Period:
    return half_year(day.year, 1 if day.month <= 6 else 2)


def last_closed(today: date) -> Period:
    """The half-year that ended most recently before ``today``: what the draft job prepares."""
    return containing(today).previous()
