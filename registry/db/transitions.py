"""Status transitions that exactly one of concurrent deciders wins.

A decision reads a row, checks it, and changes it; between the read and the write another decision may have
changed it. ``SELECT … FOR UPDATE`` closes that window on PostgreSQL only, and an ORM object loaded earlier in the
session keeps its stale status even then. A conditional ``UPDATE … WHERE id = :id AND status = :from`` is atomic on
both databases: the row count says who won, and the losers answer 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from registry.errors import Conflict


def transition(
    session: Session, table: type[SQLModel], where: list[ColumnElement[bool]], values: dict[str, Any]
) -> bool:
    """Apply ``values`` to the rows matching ``where`` (which must include the expected status); True when exactly
    one row changed."""
    stmt = update(table).where(*where).values(**values)
    return session.connection().execute(stmt).rowcount == 1


def add_unique(session: Session, row: SQLModel, conflict: str) -> None:
    """Insert ``row`` and let the database's unique index decide a race: the loser gets 409 ``conflict`` and the
    caller's transaction stays usable (the insert runs in a savepoint). A check before the insert only makes the
    common case's message friendlier; this is what makes concurrent duplicates impossible."""
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None
