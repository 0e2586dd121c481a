"""Screening log retention: days older than ``REGISTRY_SCREENING_LOG_RETENTION_DAYS`` become daily counts.

The log grows with every screening (293 MB after two million; a bank's nightly batches add millions a week), but
what the reports need about old days is how many addresses each bank screened and what it was told, not each row.
So rows older than the retention period are folded into ``screening_rollup`` (one count per UTC day, key, chain,
risk level and action, kept forever) and deleted.

Exactly once, whatever happens: each batch deletes its rows with ``DELETE … RETURNING`` and adds what it deleted to
the rollup in the same transaction. A screening is therefore counted either in the rollup or as a log row, never in
both and never in neither: a run killed half-way, a re-run, or a late row of an old day (written after an outage)
cannot double count or lose one. A day's total is its rollup count plus its remaining log rows
(``counts_by_day``). When nothing older than the cutoff is left, the days before it are recorded in
``screening_rollup_day``: complete in the rollup alone.

No long lock: batches of ``BATCH_ROWS`` rows (oldest first, through the index on ``at``), each its own short
transaction, with a pause between them so the screening log writer and the API get the database (on SQLite, the
write lock) in between. A run stops after ``MAX_SECONDS`` and the next run goes on: a first run on a large backlog
spreads over a few runs instead of holding the job's lease for an hour.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from registry.auth.tables import ApiKey
from registry.screening.tables import ScreeningLog, ScreeningRollup, ScreeningRollupDay

BATCH_ROWS = 5_000
"""Rows deleted (and counted) per transaction: tens of milliseconds, so no writer waits long for the lock."""
PAUSE_SECONDS = 0.02
"""Between batches: room for the screening log writer and the API (SQLite has one write lock)."""
MAX_SECONDS = 300.0
"""A run stops after this; the next one continues where it stopped."""

_log = ScreeningLog.__table__  # type: ignore[attr-defined]
_rollup = ScreeningRollup.__table__  # type: ignore[attr-defined]
_days = ScreeningRollupDay.__table__  # type: ignore[attr-defined]
_keys = ApiKey.__table__  # type: ignore[attr-defined]
_GROUP = ("day", "key_id", "chain", "risk_level", "action")

GroupKey = tuple[date, int, str, str, str]
"""(day, key_id, chain, risk_level, action): the grain of the rollup."""


@dataclass
class RetentionReport:
    cutoff: datetime  # rows screened before this were due
    moved: int = 0  # log rows counted into the rollup and deleted
    batches: int = 0
    days: int = 0  # distinct days the moved rows belonged to
    caught_up: bool = True  # False when the run stopped at MAX_SECONDS with due rows left
    closed_days: int = 0  # days recorded in screening_rollup_day by this run

    def __str__(self) -> str:
        left = "" if self.caught_up else "; due rows left for the next run"
        return (
            f"{self.moved} screening log rows of {self.days} day(s) before {self.cutoff.date().isoformat()} "
            f"counted into screening_rollup and deleted in {self.batches} batch(es); "
            f"{self.closed_days} day(s) closed{left}"
        )


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    """Start (UTC midnight) of the oldest day kept: whole days go, so every day in the rollup is complete."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    start = today - timedelta(days=retention_days)
    return datetime(start.year, start.month, start.day, tzinfo=UTC)


def apply_retention(
    engine: Engine,
    retention_days: int,
    *,
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
    pause_seconds: float = PAUSE_SECONDS,
    max_seconds: float = MAX_SECONDS,
) -> RetentionReport:
    """Fold the log rows of days older than ``retention_days`` into the rollup and delete them (0: keep all)."""
    cutoff = cutoff_for(retention_days, now)
    report = RetentionReport(cutoff=cutoff)
    if retention_days <= 0:
        return report
    deadline = time.monotonic() + max_seconds
    days: set[date] = set()
    while True:
        with engine.begin() as conn:
            moved = _move_batch(conn, cutoff, batch_rows, days)
        report.moved += moved
        report.batches += 1 if moved else 0
        if moved < batch_rows:
            break
        if time.monotonic() >= deadline:
            report.caught_up = False
            break
        time.sleep(pause_seconds)
    report.days = len(days)
    if report.caught_up:
        with engine.begin() as conn:
            report.closed_days = _close_days(conn, cutoff.date())
    return report


def _move_batch(conn: Connection, cutoff: datetime, batch_rows: int, days: set[date]) -> int:
    """Delete up to ``batch_rows`` of the oldest rows before ``cutoff`` and add them to the rollup, in one
    transaction (the caller's)."""
    oldest = select(_log.c.id).where(_log.c.at < cutoff).order_by(_log.c.at).limit(batch_rows).scalar_subquery()
    gone = conn.execute(
        delete(_log)
        .where(_log.c.id.in_(oldest))
        .returning(_log.c.at, _log.c.key_id, _log.c.chain, _log.c.risk_level, _log.c.action)
    ).all()
    if not gone:
        return 0
    counts: Counter[GroupKey] = Counter(
        (at.astimezone(UTC).date(), key_id, chain, level, action) for at, key_id, chain, level, action in gone
    )
    days.update(k[0] for k in counts)
    key_ids = sorted({k[1] for k in counts})
    orgs: dict[int, str] = {
        int(i): str(o) for i, o in conn.execute(select(_keys.c.id, _keys.c.org).where(_keys.c.id.in_(key_ids)))
    }
    rows = [
        {
            "day": day,
            "key_id": key_id,
            "chain": chain,
            "risk_level": level,
            "action": action,
            "org": orgs.get(key_id, ""),
            "screenings": n,
        }
        for (day, key_id, chain, level, action), n in sorted(counts.items())
    ]
    conn.execute(_upsert(conn), rows)
    return len(gone)


def _upsert(conn: Connection) -> Any:
    """INSERT … ON CONFLICT (the group) DO UPDATE SET screenings = screenings + the new count (both dialects)."""
    from sqlalchemy.dialects import postgresql, sqlite

    group = [_rollup.c[c] for c in _GROUP]
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(_rollup)
        return pg.on_conflict_do_update(
            index_elements=group, set_={"screenings": _rollup.c.screenings + pg.excluded.screenings}
        )
    lite = sqlite.insert(_rollup)
    return lite.on_conflict_do_update(
        index_elements=group, set_={"screenings": _rollup.c.screenings + lite.excluded.screenings}
    )


def _close_days(conn: Connection, before: date) -> int:
    """Record every rolled-up day before ``before`` not recorded yet (called when no log row before it is left)."""
    new_days = list(
        conn.execute(
            select(_rollup.c.day)
            .where(_rollup.c.day < before, _rollup.c.day.not_in(select(_days.c.day)))
            .distinct()
            .order_by(_rollup.c.day)
        ).scalars()
    )
    if new_days:
        now = datetime.now(UTC)
        conn.execute(insert(_days), [{"day": d, "rolled_up_at": now} for d in new_days])
    return len(new_days)


def _log_day(conn: Connection) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", _log.c.at))
    return func.date(_log.c.at)  # SQLite keeps naive UTC text (registry.db.types.UtcDateTime)


def counts_by_day(conn: Connection, since: date, until: date) -> dict[GroupKey, int]:
    """Screenings per (day, key, chain, risk level, action) for ``since <= day < until``: the rollup plus the log
    rows not rolled up yet. What the reports count, before and after retention alike."""
    out: Counter[GroupKey] = Counter()
    rolled = select(
        _rollup.c.day, _rollup.c.key_id, _rollup.c.chain, _rollup.c.risk_level, _rollup.c.action, _rollup.c.screenings
    ).where(_rollup.c.day >= since, _rollup.c.day < until)
    for day, key_id, chain, level, action, n in conn.execute(rolled):
        out[(day, key_id, chain, level, action)] += int(n)
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC)
    day_col = _log_day(conn).label("day")
    q = (
        select(day_col, _log.c.key_id, _log.c.chain, _log.c.risk_level, _log.c.action, func.count())
        .where(_log.c.at >= start, _log.c.at < end)
        .group_by(day_col, _log.c.key_id, _log.c.chain, _log.c.risk_level, _log.c.action)
    )
    for day, key_id, chain, level, action, n in conn.execute(q):
        d = day if isinstance(day, date) else date.fromisoformat(str(day))
        out[(d, key_id, chain, level, action)] += int(n)
    return dict(out)
