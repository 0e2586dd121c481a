"""The pure parts of the reports: periods and due dates, the catalogue, the CIS cells and the hash."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from registry.errors import InvalidInput
from registry.reports import cis
from registry.reports.i18n import CATALOGUE, LANGS, Words
from registry.reports.periods import containing, date_range, last_closed, parse


@pytest.mark.parametrize(
    ("text", "start", "end", "due", "previous"),
    [
        ("2026H1", date(2026, 1, 1), date(2026, 6, 30), date(2026, 7, 20), "2025H2"),
        ("2026h2", date(2026, 7, 1), date(2026, 12, 31), date(2027, 1, 20), "2026H1"),
        ("2026-03-01..2026-03-31", date(2026, 3, 1), date(2026, 3, 31), date(2026, 4, 20), "2026-01-29..2026-02-28"),
    ],
)
def test_periods_their_bounds_due_dates_and_predecessors(
    text: str, start: date, end: date, due: date, previous: str
) -> None:
    p = parse(text)
    assert (p.start, p.end, p.due, p.previous().label) == (start, end, due, previous)
    assert p.start_at == datetime(start.year, start.month, start.day, tzinfo=UTC)
    assert (p.end_at - p.start_at).days == p.days
    assert parse(p.label) == p
    assert p.previous().days == p.days or p.half_year


@pytest.mark.parametrize("text", ["2026H3", "2026", "H1", "2026-02-30..2026-03-01", "2026-03-02..2026-03-01", ""])
def test_a_period_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse(text)


def test_the_draft_job_prepares_the_half_year_that_closed_last() -> None:
    assert last_closed(date(2027, 1, 1)).label == "2026H2"
    assert last_closed(date(2026, 12, 31)).label == "2026H1"
    assert last_closed(date(2026, 7, 1)).label == "2026H1"
    assert containing(date(2026, 6, 30)).label == "2026H1"
    with pytest.raises(InvalidInput):
        date_range(date(2000, 1, 1), date(2026, 1, 1))  # longer than ten years


def test_every_phrase_is_in_every_language_and_numbers_follow_the_language() -> None:
    missing = [(k, lang) for k, v in CATALOGUE.items() for lang in LANGS if not v.get(lang)]
    assert missing == []
    en, ru = Words("en"), Words("ru")
    assert en.number(24200.0, 2) == "24,200.00"
    assert ru.number(24200.0, 2) == "24\xa0200,00"
    assert en.change(40, 23) == "−17 (−42%)" and en.change(0, 5) == "+5" and en.change(None, 5) == "–"
    assert ru.maybe("cat", "money_mule") == "дропы (подставные лица)" and ru.maybe("cat", "new_one") == "new_one"


@pytest.mark.parametrize(
    ("count", "min_cell", "shown"),
    [(0, 5, True), (1, 5, False), (4, 5, False), (5, 5, True), (1, 1, True), (1, 2, False)],
)
def test_a_cell_is_suppressed_from_1_to_min_cell_minus_1(count: int, min_cell: int, shown: bool) -> None:
    cell = cis.cell(count * 10.0, count, min_cell)
    assert cell == ({"value": count * 10.0, "suppressed": False} if shown else {"value": None, "suppressed": True})


def test_the_published_schema_names_its_id_and_every_direction() -> None:
    schema = cis.schema()
    assert schema["$id"] == cis.SCHEMA_ID
    directions = schema["properties"]["flows"]["items"]["properties"]["direction"]["enum"]
    assert sorted(directions) == sorted(cis.DIRECTIONS.values())
