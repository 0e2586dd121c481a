"""The SQL of keys' holders that other features need: the names people read."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from registry.auth.tables import ApiKey


def holder_displays(session: Session, holders: Collection[str]) -> list[tuple[str, str]]:
    """``(holder, display name)`` of every key (live or revoked: a listing outlives its submitter's key) of these
    normalised holders, oldest key first; one query."""
    if not holders:
        return []
    rows = session.exec(
        select(ApiKey.holder, ApiKey.holder_display)
        .where(col(ApiKey.holder).in_(sorted(holders)), col(ApiKey.holder_display).is_not(None))
        .order_by(col(ApiKey.created_at), col(ApiKey.id))
    ).all()
    return [(h, d) for h, d in rows if h is not None and d is not None]
