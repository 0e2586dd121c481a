"""Version counters that tell every worker when its in-memory snapshot is stale.

Each counter is one row; a change bumps it in the same transaction as the change, so a worker that sees the new
value is guaranteed to see the change too. Workers poll the few rows (cheap) instead of querying per request.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Field, Session, SQLModel

REGISTRY = "registry"  # listings and exposure: part of every screening result
KEYS = "keys"  # API keys: the auth cache reloads on change
BLOCKLIST = "blocklist"  # the feed serial
TRANSFERS = "transfers"  # bumped by every committed sync/crawl batch: rescoring watches it
AUDIT = "audit"  # rows appended to the audit log: detects rows cut off the end


class RegistryState(SQLModel, table=True):
    __tablename__ = "registry_state"
    name: str = Field(primary_key=True, max_length=32)
    value: int = Field(default=0)


def bump(session: Session, name: str, by: int = 1) -> int:
    row = session.execute(
        text("UPDATE registry_state SET value = value + :by WHERE name = :n RETURNING value"), {"n": name, "by": by}
    ).first()
    if row is None:
        session.execute(text("INSERT INTO registry_state (name, value) VALUES (:n, :by)"), {"n": name, "by": by})
        return by
    return int(row[0])


def read_all(session: Session) -> dict[str, int]:
    return {str(n): int(v) for n, v in session.execute(text("SELECT name, value FROM registry_state"))}
