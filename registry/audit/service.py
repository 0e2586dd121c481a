"""Appending to and verifying the audit chain.

Each row's hash covers its content and the previous row's hash, so editing or deleting any row breaks every hash
after it. The database also refuses UPDATE and DELETE on the table (triggers, see the first migration): the
chain is what still tells the truth when someone with database rights drops those triggers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlmodel import Session, col, select

from registry.audit.tables import AuditEvent
from registry.db import state

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 7_300_001  # advisory lock id serialising appends on PostgreSQL


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # key | cli | system
    id: int | str
    org: str
    role: str


CLI = Actor(kind="cli", id="local", org="operator", role="admin")


def _canonical(ev: AuditEvent) -> bytes:
    at = ev.at if ev.at.tzinfo else ev.at.replace(tzinfo=UTC)
    body = [
        ev.id,
        at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        ev.actor_kind,
        ev.actor_id,
        ev.actor_org,
        ev.actor_role,
        ev.action,
        ev.entity_type,
        ev.entity_id,
        ev.before,
        ev.after,
        ev.prev_hash,
    ]
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def compute_hash(ev: AuditEvent) -> str:
    return hashlib.sha256(_canonical(ev)).hexdigest()


def _jsonable(v: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if v is None else orjson.loads(orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS))


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    """Append one event in the caller's transaction: the change and its audit row commit or fail together."""
    return record_many(session, actor, [(action, entity_type, entity_id, before, after)])[0]


Change = tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]
"""(action, entity_type, entity_id, before, after)"""


def record_many(session: Session, actor: Actor, changes: list[Change]) -> list[AuditEvent]:
    """Append several events with one read of the chain's head and one multi-row insert (CSV and list imports)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    session.flush()
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    next_id, prev_hash = ((last.id + 1), last.hash) if last else (1, GENESIS)
    now = datetime.now(UTC)
    events: list[AuditEvent] = []
    for action, entity_type, entity_id, before, after in changes:
        ev = AuditEvent(
            id=next_id,
            at=now,
            actor_kind=actor.kind,
            actor_id=str(actor.id),
            actor_org=actor.org,
            actor_role=actor.role,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=_jsonable(before),
            after=_jsonable(after),
            prev_hash=prev_hash,
            hash="",
        )
        ev.hash = compute_hash(ev)
        events.append(ev)
        next_id, prev_hash = next_id + 1, ev.hash
    session.add_all(events)
    session.flush()
    state.bump(session, state.AUDIT, len(events))
    return events


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    problems: list[str] = []
    prev_hash, prev_id, n = GENESIS, 0, 0
    for ev in _iter_events(session, batch):
        n += 1
        if ev.id != prev_id + 1:
            problems.append(f"rows {prev_id + 1}..{ev.id - 1} are missing (deleted)")
        if ev.prev_hash != prev_hash:
            problems.append(f"row {ev.id}: previous-hash link broken (a row before it was edited or deleted)")
        if compute_hash(ev) != ev.hash:
            problems.append(f"row {ev.id}: content does not match its hash (edited)")
        prev_hash, prev_id = ev.hash, ev.id
    expected = state.read_all(session).get(state.AUDIT, 0)
    if expected != n:
        problems.append(f"the log holds {n} rows but {expected} were appended (rows removed at the end)")
    return VerifyResult(ok=not problems, checked=n, problems=problems)


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.id > after).order_by(col(AuditEvent.id)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()


def list_events(
    session: Session, after_id: int, limit: int, entity_type: str | None, entity_id: str | None
) -> list[AuditEvent]:
    q = select(AuditEvent).where(AuditEvent.id > after_id)
    if entity_type:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(q.order_by(col(AuditEvent.id)).limit(limit)).all())
