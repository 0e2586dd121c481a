"""The SQL of monitoring, in one place. Bulk statements only: a watchlist call or a version's alerts is one
statement (or one executemany), never a query per address."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, text, update
from sqlmodel import Session, col, select

from registry.db import state
from registry.db.types import UtcDateTime
from registry.monitoring.diff import CLEAN, Change, Sig
from registry.monitoring.tables import (
    AddressChange,
    Alert,
    AlertStatus,
    MonitoringCursor,
    WatchedAddress,
    WebhookEndpoint,
)

_UTC = UtcDateTime()
_PENDING = AlertStatus.pending.value


def _t(sql: str, *times: str) -> Any:
    """``text`` whose named time parameters are bound as UTC datetimes (naive text on SQLite, as the tables keep)."""
    return text(sql).bindparams(*(bindparam(name, type_=_UTC) for name in times))


# --- the alert computation ------------------------------------------------------------------------------------


def versions(conn: Connection | Session) -> tuple[int, int | None]:
    """(the registry version, the last version processed or None before the first): one round trip."""
    row = conn.execute(
        text("SELECT (SELECT value FROM registry_state WHERE name = :n), (SELECT max(version) FROM monitoring_cursor)"),
        {"n": state.REGISTRY},
    ).one()
    return int(row[0] or 0), (None if row[1] is None else int(row[1]))


def load_state(conn: Connection) -> Iterator[tuple[str, str, int, str, str, str]]:
    yield from conn.execute(
        text("SELECT family, address, risk_score, risk_level, action, direct FROM monitoring_state")
    )


def insert_state(session: Session, sigs: dict[str, Sig]) -> None:
    """The baseline: every non-clean result at the first processed version."""
    rows = []
    for key, (score, level, action, direct) in sigs.items():
        family, _, address = key.partition(":")
        rows.append((family, address, score, level, action, direct))
    _bulk(session, "monitoring_state", ("family", "address", "risk_score", "risk_level", "action", "direct"), rows)


_CHANGE_COLUMNS = (
    "version",
    "family",
    "address",
    "prev_score",
    "prev_level",
    "prev_action",
    "prev_direct",
    "risk_score",
    "risk_level",
    "action",
    "direct",
    "alerting",
)


def insert_changes(session: Session, version: int, changes: Sequence[Change]) -> None:
    rows = []
    for c in changes:
        family, address = c.family_address
        p, n = c.prev, c.cur
        rows.append((version, family, address, *p, *n, c.alerting))
    _bulk(session, "monitoring_change", _CHANGE_COLUMNS, rows)


def _bulk(session: Session, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows into ``table`` in the session's transaction, by the driver's fastest path: COPY on PostgreSQL,
    ``executemany`` of one prepared INSERT on SQLite. The ORM's bulk insert converted every value of every row in
    Python and took seconds for the hundred thousand changes of a full rescoring."""
    if not rows:
        return
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    cur = raw.cursor()
    try:
        cur.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' for _ in columns)})", rows)
    finally:
        cur.close()


def apply_state(session: Session, changes: Sequence[Change]) -> None:
    """Move ``monitoring_state`` from the previous version to this one: every changed address's row goes, and
    comes back with its new result unless that is the clean one. By primary key, so the cost follows the number
    of changes, not the size of the state (a join against the change rows scanned the whole state)."""
    if not changes:
        return
    keys = [c.family_address for c in changes]
    rows = [(*c.family_address, *c.cur) for c in changes if c.cur is not CLEAN and c.cur != CLEAN]
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            for i in range(0, len(keys), 50_000):
                part = keys[i : i + 50_000]
                cur.execute(
                    "DELETE FROM monitoring_state s USING unnest(%(f)s::text[], %(a)s::text[]) AS k(f, a) "
                    "WHERE s.family = k.f AND s.address = k.a",
                    {"f": [k[0] for k in part], "a": [k[1] for k in part]},
                )
    else:
        cur = raw.cursor()
        try:
            cur.executemany("DELETE FROM monitoring_state WHERE family = ? AND address = ?", keys)
        finally:
            cur.close()
    _bulk(session, "monitoring_state", ("family", "address", "risk_score", "risk_level", "action", "direct"), rows)


def insert_alerts(session: Session, version: int, now: datetime, deadline: datetime) -> int:
    """One alert per (watching bank, alerting change) of ``version``, in one statement: the changed addresses are
    joined with every bank's watchlist by the database (an index lookup per changed address). A bank with a webhook
    gets ``pending`` alerts (the worker pushes them), one without gets ``pull`` alerts (it reads them)."""
    result = session.execute(
        _t(
            "INSERT INTO monitoring_alert (bank, family, address, chain, ref, registry_version, prev_score, "
            "prev_level, prev_action, prev_direct, risk_score, risk_level, action, direct, created_at, status, "
            "attempts, next_attempt_at, deadline_at) "
            "SELECT w.bank, c.family, c.address, w.chain, w.ref, c.version, c.prev_score, c.prev_level, "
            "c.prev_action, c.prev_direct, c.risk_score, c.risk_level, c.action, c.direct, :now, "
            "CASE WHEN e.id IS NULL THEN :pull ELSE :pending END, 0, :now, :deadline "
            "FROM monitoring_change c JOIN monitoring_watch w ON w.family = c.family AND w.address = c.address "
            "LEFT JOIN monitoring_endpoint e ON e.bank = w.bank "
            "WHERE c.version = :v AND c.alerting ORDER BY w.bank, c.id",
            "now",
            "deadline",
        ),
        {
            "v": version,
            "now": now,
            "deadline": deadline,
            "pull": AlertStatus.pull.value,
            "pending": _PENDING,
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert_cursor(session: Session, version: int, now: datetime, changed: int, alerts: int, seconds: float) -> None:
    session.execute(
        insert(MonitoringCursor).values(
            version=version, processed_at=now, changed=changed, alerts=alerts, seconds=round(seconds, 4)
        )
    )


# --- watchlists -----------------------------------------------------------------------------------------------


def count_watched(session: Session, bank: str) -> int:
    return int(session.execute(select(func.count()).where(col(WatchedAddress.bank) == bank)).scalar_one())


_PG_UPSERT_WATCHED = (
    "INSERT INTO monitoring_watch (bank, family, address, chain, ref, added_at) "
    "SELECT %(bank)s::text, f, a, c, r, %(now)s FROM unnest(%(f)s::text[], %(a)s::text[], %(c)s::text[], "
    "%(r)s::text[]) AS k(f, a, c, r) ON CONFLICT (bank, family, address) DO UPDATE SET ref = EXCLUDED.ref, "
    "chain = EXCLUDED.chain"
)
_SQLITE_UPSERT_WATCHED = (
    "INSERT INTO monitoring_watch (bank, family, address, chain, ref, added_at) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (bank, family, address) DO UPDATE SET ref = excluded.ref, chain = excluded.chain"
)
_PG_DELETE_WATCHED = (
    "DELETE FROM monitoring_watch w USING unnest(%(f)s::text[], %(a)s::text[]) AS k(f, a) "
    "WHERE w.bank = %(bank)s::text AND w.family = k.f AND w.address = k.a"
)
_SQLITE_DELETE_WATCHED = "DELETE FROM monitoring_watch WHERE bank = ? AND family = ? AND address = ?"


def upsert_watched(session: Session, bank: str, rows: Sequence[tuple[str, str, str, str]], now: datetime) -> None:
    """(family, address, chain, ref) rows, in one statement per 20,000 (PostgreSQL: arrays unnested) or one
    executemany (SQLite); an address already watched keeps its row and takes the new ref."""
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            for i in range(0, len(rows), 20_000):
                part = rows[i : i + 20_000]
                cur.execute(
                    _PG_UPSERT_WATCHED,
                    {
                        "bank": bank,
                        "now": now,
                        "f": [r[0] for r in part],
                        "a": [r[1] for r in part],
                        "c": [r[2] for r in part],
                        "r": [r[3] for r in part],
                    },
                )
        return
    stamp = sqlite_time(now)
    cur = raw.cursor()
    try:
        cur.executemany(_SQLITE_UPSERT_WATCHED, [(bank, f, a, c, r, stamp) for f, a, c, r in rows])
    finally:
        cur.close()


def delete_watched(session: Session, bank: str, keys: Collection[tuple[str, str]]) -> int:
    conn = session.connection()
    raw: Any = conn.connection.driver_connection
    removed = 0
    if conn.dialect.name == "postgresql":
        rows = list(keys)
        with raw.cursor() as cur:
            for i in range(0, len(rows), 20_000):
                part = rows[i : i + 20_000]
                cur.execute(_PG_DELETE_WATCHED, {"bank": bank, "f": [k[0] for k in part], "a": [k[1] for k in part]})
                removed += int(cur.rowcount)
        return removed
    before = count_watched(session, bank)
    cur = raw.cursor()
    try:
        cur.executemany(_SQLITE_DELETE_WATCHED, [(bank, f, a) for f, a in keys])
    finally:
        cur.close()
    return before - count_watched(session, bank)


def sqlite_time(t: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime writes (``UtcDateTime`` keeps UTC without a zone)."""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def delete_watched_id(session: Session, bank: str, watch_id: int) -> int:
    result = session.execute(
        delete(WatchedAddress).where(col(WatchedAddress.bank) == bank, col(WatchedAddress.id) == watch_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_watched(session: Session, bank: str, after_id: int, limit: int) -> list[WatchedAddress]:
    return list(
        session.exec(
            select(WatchedAddress)
            .where(col(WatchedAddress.bank) == bank, col(WatchedAddress.id) > after_id)
            .order_by(col(WatchedAddress.id))
            .limit(limit)
        ).all()
    )


def watched_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(WatchedAddress.bank, func.count()).group_by(col(WatchedAddress.bank))).all()
    return {str(b): int(n) for b, n in rows}


# --- webhook endpoints ----------------------------------------------------------------------------------------


def endpoint_of(session: Session, bank: str) -> WebhookEndpoint | None:
    return session.exec(select(WebhookEndpoint).where(col(WebhookEndpoint.bank) == bank)).first()


def endpoint_by_id(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    return session.get(WebhookEndpoint, endpoint_id)


def due_endpoints(conn: Connection | Session, now: datetime) -> list[int]:
    """Endpoints not backing off that have an alert due."""
    rows = conn.execute(
        _t(
            "SELECT e.id FROM monitoring_endpoint e WHERE (e.paused_until IS NULL OR e.paused_until <= :now) "
            "AND EXISTS (SELECT 1 FROM monitoring_alert a WHERE a.bank = e.bank AND a.status = :pending "
            "AND a.next_attempt_at <= :now) ORDER BY e.id",
            "now",
        ),
        {"now": now, "pending": _PENDING},
    ).all()
    return [int(r[0]) for r in rows]


def endpoint_gone(session: Session, bank: str) -> int:
    """The bank removed its webhook: what waited to be pushed is now for the pull API."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.bank) == bank, col(Alert.status).in_([_PENDING, AlertStatus.dead.value]))
        .values(status=AlertStatus.pull.value)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def endpoint_failed(session: Session, endpoint_id: int, paused_until: datetime, error: str) -> None:
    session.execute(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id)
        .values(failures=col(WebhookEndpoint.failures) + 1, paused_until=paused_until, last_error=error[:500])
    )


def endpoint_succeeded(session: Session, endpoint_id: int, now: datetime) -> None:
    session.execute(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint_id)
        .values(failures=0, paused_until=None, last_success_at=now)
    )


# --- alerts ---------------------------------------------------------------------------------------------------


def due_alerts(session: Session, bank: str, now: datetime, limit: int) -> list[Alert]:
    return list(
        session.exec(
            select(Alert)
            .where(col(Alert.bank) == bank, col(Alert.status) == _PENDING, col(Alert.next_attempt_at) <= now)
            .order_by(col(Alert.id))
            .limit(limit)
        ).all()
    )


def alert_delivered(session: Session, alert_id: int, now: datetime) -> int:
    """Only a pending alert becomes delivered (a replay or a removed webhook in between wins)."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.status) == _PENDING)
        .values(
            status=AlertStatus.delivered.value,
            attempts=col(Alert.attempts) + 1,
            delivered_at=now,
            sent_at=func.coalesce(col(Alert.sent_at), now),
            last_error=None,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def alert_failed(session: Session, alert_id: int, next_attempt: datetime, error: str, dead: bool) -> None:
    session.execute(
        update(Alert)
        .where(col(Alert.id) == alert_id, col(Alert.status) == _PENDING)
        .values(
            status=AlertStatus.dead.value if dead else _PENDING,
            attempts=col(Alert.attempts) + 1,
            next_attempt_at=next_attempt,
            last_error=error[:500],
        )
    )


def sweep_dead(session: Session, now: datetime) -> int:
    """Pending alerts past their deadline become dead letters (a dead endpoint's queue, never attempted again)."""
    result = session.execute(
        update(Alert)
        .where(col(Alert.status) == _PENDING, col(Alert.deadline_at) < now)
        .values(status=AlertStatus.dead.value, last_error=func.coalesce(col(Alert.last_error), "not delivered in time"))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_alerts(session: Session, bank: str, after: int, limit: int, status: str | None) -> list[Alert]:
    q = select(Alert).where(col(Alert.bank) == bank, col(Alert.id) > after)
    if status is not None:
        q = q.where(col(Alert.status) == status)
    return list(session.exec(q.order_by(col(Alert.id)).limit(limit)).all())


def mark_pulled(session: Session, ids: Sequence[int], now: datetime) -> None:
    if not ids:
        return
    session.execute(
        update(Alert)
        .where(col(Alert.id).in_(list(ids)), col(Alert.pulled_at).is_(None))
        .values(pulled_at=now, sent_at=func.coalesce(col(Alert.sent_at), now))
    )


def replay(session: Session, bank: str, ids: Sequence[int] | None, now: datetime, deadline: datetime) -> int:
    q = update(Alert).where(col(Alert.bank) == bank, col(Alert.status) == AlertStatus.dead.value)
    if ids is not None:
        q = q.where(col(Alert.id).in_(list(ids)))
    result = session.execute(q.values(status=_PENDING, next_attempt_at=now, deadline_at=deadline, last_error=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def alert_counts(session: Session) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(Alert.bank, Alert.status, func.count()).group_by(col(Alert.bank), col(Alert.status))
    ).all()
    out: dict[str, dict[str, int]] = {}
    for bank, status, n in rows:
        out.setdefault(str(bank), {})[str(status)] = int(n)
    return out


def bank_alert_counts(session: Session, bank: str) -> dict[str, int]:
    rows = session.execute(
        select(Alert.status, func.count()).where(col(Alert.bank) == bank).group_by(col(Alert.status))
    ).all()
    return {str(s): int(n) for s, n in rows}


def sent_between(session: Session, start: datetime, end: datetime) -> int:
    return int(
        session.execute(select(func.count()).where(col(Alert.sent_at) >= start, col(Alert.sent_at) < end)).scalar_one()
    )


# --- the changes feed -----------------------------------------------------------------------------------------


def changes_floor(session: Session) -> int | None:
    """The oldest version from which the feed is complete (the first processed one, or the oldest kept)."""
    value = session.execute(select(func.min(MonitoringCursor.version))).scalar()
    return None if value is None else int(value)


def last_processed(session: Session) -> int | None:
    value = session.execute(select(func.max(MonitoringCursor.version))).scalar()
    return None if value is None else int(value)


def list_changes(session: Session, since: int, upto: int, after: int, limit: int) -> list[AddressChange]:
    return list(
        session.exec(
            select(AddressChange)
            .where(
                col(AddressChange.version) > since,
                col(AddressChange.version) <= upto,
                col(AddressChange.id) > after,
            )
            .order_by(col(AddressChange.id))
            .limit(limit)
        ).all()
    )


def prune_changes(session: Session, before: datetime) -> int:
    """Forget the cursor rows processed before ``before`` (the newest always stays) and the changes up to the new
    oldest cursor: ``since`` older than that answers 410."""
    newest = last_processed(session)
    if newest is None:
        return 0
    keep_from = session.execute(
        select(func.min(MonitoringCursor.version)).where(col(MonitoringCursor.processed_at) >= before)
    ).scalar()
    floor = newest if keep_from is None else int(keep_from)
    session.execute(delete(MonitoringCursor).where(col(MonitoringCursor.version) < floor))
    result = session.execute(delete(AddressChange).where(col(AddressChange.version) <= floor))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
