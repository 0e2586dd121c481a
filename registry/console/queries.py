"""SQL of the console: its sessions, and the audit log with the filters a supervisor needs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, update
from sqlmodel import Session, col, select

from registry.audit.tables import AuditEvent
from registry.auth.tables import ApiKey
from registry.console.tables import ConsoleSession


def session_with_key(session: Session, token_hash: str) -> tuple[ConsoleSession, datetime | None, str | None] | None:
    """The session of a cookie's token, the revocation time of its key (``None``: the key is live) and the key
    holder's name as written (for the page header; nothing compares it)."""
    row = session.exec(
        select(ConsoleSession, ApiKey.revoked_at, ApiKey.holder_display)
        .join(ApiKey, col(ApiKey.id) == col(ConsoleSession.key_id))
        .where(ConsoleSession.token_hash == token_hash)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def end_session(session: Session, session_id: int, reason: str, at: datetime) -> bool:
    """End a live session; ``False`` when it had ended already (a second sign-out, a race with the idle check)."""
    result = session.execute(
        update(ConsoleSession)
        .where(col(ConsoleSession.id) == session_id, col(ConsoleSession.ended_at).is_(None))
        .values(ended_at=at, end_reason=reason)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def touch(session: Session, session_id: int, at: datetime) -> None:
    session.execute(update(ConsoleSession).where(col(ConsoleSession.id) == session_id).values(last_seen_at=at))


def prune(session: Session, before: datetime) -> None:
    """Forget sessions that ended, or were last used, before ``before`` (their sign-ins stay in the audit log)."""
    session.execute(
        delete(ConsoleSession).where(
            or_(col(ConsoleSession.ended_at) < before, col(ConsoleSession.last_seen_at) < before)
        )
    )


def key_ids_of(session: Session, person: str) -> list[int]:
    """Every key (live or revoked) a person has held: the audit names keys, people search by name."""
    return [int(i) for i in session.exec(select(ApiKey.id).where(ApiKey.holder == person)).all() if i is not None]


def key_holders(session: Session, key_ids: set[int]) -> dict[int, str | None]:
    if not key_ids:
        return {}
    rows = session.exec(select(ApiKey.id, ApiKey.holder).where(col(ApiKey.id).in_(key_ids))).all()
    return {int(i): h for i, h in rows if i is not None}


def audit_events(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    person: str | None,
    person_keys: list[int],
    action: str | None,
    entity_type: str | None,
    entity_id: str | None,
    before_id: int | None,
    limit: int,
) -> list[AuditEvent]:
    """Newest first, paged by id (``before_id``). ``person`` matches the events of every key they held and what
    they did at the command line (``cli`` actor, named by person)."""
    q = select(AuditEvent)
    if before_id is not None:
        q = q.where(col(AuditEvent.id) < before_id)
    if since is not None:
        q = q.where(col(AuditEvent.at) >= since)
    if until is not None:
        q = q.where(col(AuditEvent.at) < until)
    if person is not None:
        by_key = and_(col(AuditEvent.actor_kind) == "key", col(AuditEvent.actor_id).in_([str(k) for k in person_keys]))
        by_cli = and_(col(AuditEvent.actor_kind) == "cli", col(AuditEvent.actor_id) == person)
        q = q.where(or_(by_key, by_cli))
    if action:
        q = q.where(col(AuditEvent.action).startswith(action))
    if entity_type:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(q.order_by(col(AuditEvent.id).desc()).limit(limit)).all())
