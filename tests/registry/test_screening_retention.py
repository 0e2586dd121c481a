"""Screening log retention (issue 10): old days become daily counts, each screening counted exactly once.

Before, the log only grew (293 MB after two million screenings). Now rows of days older than
``REGISTRY_SCREENING_LOG_RETENTION_DAYS`` are counted into ``screening_rollup`` and deleted in batches; what the
reports count per day, key, chain, risk level and action is the same before and after.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from registry.auth.tables import ApiKey
from registry.ops.scheduler import JobRunner
from registry.screening.retention import apply_retention, counts_by_day, cutoff_for
from registry.screening.tables import ScreeningLog, ScreeningRollup, ScreeningRollupDay
from registry.settings import Settings
from tests.support.keys import Keys

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
CUTOFF = datetime(2025, 10, 18, tzinfo=UTC)  # 400 days before 2026-11-22, at midnight UTC
FAR = date(2000, 1, 1)
LATER = date(2030, 1, 1)
_log = ScreeningLog.__table__  # type: ignore[attr-defined]


def _key_ids(engine: Engine, keys: Keys) -> tuple[int, int]:
    keys.create("bank", org="Alpha Bank")
    keys.create("bank", org="Beta Bank")
    with engine.connect() as c:
        a = c.execute(select(ApiKey.id).where(ApiKey.org == "Alpha Bank")).scalar_one()
        b = c.execute(select(ApiKey.id).where(ApiKey.org == "Beta Bank")).scalar_one()
    return int(a), int(b)


def _screened(engine: Engine, rows: list[tuple[datetime, int, str, str, str]]) -> None:
    """(at, key_id, chain, risk_level, action) rows, as the screening log writer stores them."""
    with engine.begin() as c:
        c.execute(
            insert(_log),
            [
                {
                    "at": at,
                    "key_id": key_id,
                    "chain": chain,
                    "address": f"0x{i:040x}",
                    "risk_score": 90 if level == "severe" else 0,
                    "risk_level": level,
                    "action": action,
                    "registry_version": "7",
                }
                for i, (at, key_id, chain, level, action) in enumerate(rows)
            ],
        )


def _history(a: int, b: int) -> list[tuple[datetime, int, str, str, str]]:
    rows = []
    for days_ago, n in ((600, 5), (450, 7), (401, 3), (399, 4), (0, 6)):
        at = NOW - timedelta(days=days_ago)
        for i in range(n):
            rows.append((at + timedelta(seconds=i), a, "eth", "none", "allow"))
        rows.append((at, b, "tron", "severe", "block"))
        rows.append((at, b, "evm", "high", "review"))
    rows.append((CUTOFF - timedelta(microseconds=1), a, "btc", "low", "allow"))  # the last instant that goes
    rows.append((CUTOFF, a, "btc", "low", "allow"))  # the first that stays
    return rows


def _log_count(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count()).select_from(_log)).scalar_one())


def _counts(engine: Engine) -> dict[tuple[date, int, str, str, str], int]:
    with engine.connect() as c:
        return counts_by_day(c, FAR, LATER)


def test_cutoff_is_a_utc_midnight_whole_days_before() -> None:
    assert cutoff_for(400, NOW) == CUTOFF
    assert cutoff_for(1, datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == datetime(2025, 12, 31, tzinfo=UTC)


def test_old_days_are_counted_into_the_rollup_and_deleted_and_the_reports_see_the_same_counts(
    engine: Engine, keys: Keys
) -> None:
    a, b = _key_ids(engine, keys)
    _screened(engine, _history(a, b))
    before = _counts(engine)
    assert sum(before.values()) == _log_count(engine) == 37

    report = apply_retention(engine, 400, now=NOW, batch_rows=4, pause_seconds=0)

    # (5+2) + (7+2) + (3+2) screenings of three old days, and the one a microsecond before the cutoff
    assert report.moved == 22 and report.caught_up and report.days == 3
    assert report.batches == 6  # batches of four rows: no transaction holds more
    with engine.connect() as c:
        kept = c.execute(select(func.min(_log.c.at))).scalar_one()
        assert kept == CUTOFF
        rollup = {
            (r.day, r.org, r.chain, r.risk_level, r.action): r.screenings
            for r in c.execute(select(ScreeningRollup.__table__))  # type: ignore[attr-defined]
        }
        closed = set(c.execute(select(ScreeningRollupDay.day)).scalars())
    assert _log_count(engine) == 15
    assert _counts(engine) == before  # what the reports count is unchanged
    day450 = (NOW - timedelta(days=450)).date()
    assert rollup[(day450, "Alpha Bank", "eth", "none", "allow")] == 7
    assert rollup[(day450, "Beta Bank", "tron", "severe", "block")] == 1
    assert rollup[(day450, "Beta Bank", "evm", "high", "review")] == 1
    assert rollup[(CUTOFF.date() - timedelta(days=1), "Alpha Bank", "btc", "low", "allow")] == 1
    assert closed == {(NOW - timedelta(days=d)).date() for d in (600, 450, 401)}  # 401 days ago: the day before

    again = apply_retention(engine, 400, now=NOW, batch_rows=4, pause_seconds=0)
    assert again.moved == 0 and again.closed_days == 0
    assert _counts(engine) == before  # re-running counts nothing twice


def test_a_run_cut_short_and_a_late_row_are_still_counted_exactly_once(engine: Engine, keys: Keys) -> None:
    a, b = _key_ids(engine, keys)
    _screened(engine, _history(a, b))
    before = _counts(engine)

    first = apply_retention(engine, 400, now=NOW, batch_rows=3, pause_seconds=0, max_seconds=0)
    assert first.moved == 3 and not first.caught_up and first.closed_days == 0
    assert _counts(engine) == before  # part in the rollup, the rest still in the log: every screening once

    rest = apply_retention(engine, 400, now=NOW, batch_rows=3, pause_seconds=0)
    assert rest.caught_up and first.moved + rest.moved == 22
    assert _counts(engine) == before

    # a worker that buffered through an outage writes a row of a day that is already rolled up
    old = NOW - timedelta(days=450)
    _screened(engine, [(old, b, "tron", "severe", "block")])
    apply_retention(engine, 400, now=NOW, pause_seconds=0)
    key = (old.date(), b, "tron", "severe", "block")
    assert _counts(engine)[key] == before[key] + 1


def test_zero_days_keeps_every_row_and_schedules_no_job(engine: Engine, keys: Keys) -> None:
    from registry.screening.jobs import jobs

    a, b = _key_ids(engine, keys)
    _screened(engine, _history(a, b))
    assert apply_retention(engine, 0, now=NOW).moved == 0
    assert _log_count(engine) == 37
    assert jobs(Settings(screening_log_retention_days=0)) == []


def test_the_retention_job_runs_under_the_scheduler(engine: Engine, keys: Keys, db_url: str) -> None:
    from registry.features import load_specs
    from registry.screening.jobs import jobs

    a, b = _key_ids(engine, keys)
    real_now = datetime.now(UTC)
    _screened(
        engine, [(real_now - timedelta(days=40), a, "eth", "none", "allow"), (real_now, b, "eth", "none", "allow")]
    )
    assert "screening:retention" in {s.id for s in load_specs(Settings(database_url=db_url))}  # default: 400 days
    [spec] = jobs(Settings(database_url=db_url, screening_log_retention_days=30))
    assert JobRunner(engine, 30).run(spec) == "ok"
    with engine.connect() as c:
        summary = c.execute(text("SELECT summary FROM job_run WHERE job_id = 'screening:retention'")).scalar_one()
        assert c.execute(select(func.sum(ScreeningRollup.screenings))).scalar_one() == 1
    assert summary.startswith("1 screening log rows of 1 day(s)")
    assert _log_count(engine) == 1
