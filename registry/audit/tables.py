from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import JSON, Column, Field, SQLModel

from registry.db.types import utc_field


class AuditEvent(SQLModel, table=True):
    """One change. ``id`` is assigned as previous id + 1 under a lock, so a gap is as visible as a bad hash."""

    __tablename__ = "audit_event"
    id: int = Field(primary_key=True)
    at: datetime = utc_field()
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=64)
    actor_org: str = Field(max_length=200)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64, index=True)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=300)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_org: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str


class AuditCheckpoint(SQLModel, table=True):
    """A signed statement "the chain had ``event_id`` events and ended in ``head_hash``" (see checkpoints.py).

    Append-only like the events (triggers); a copy of every row also goes to a file outside the database.
    """

    __tablename__ = "audit_checkpoint"
    id: int = Field(primary_key=True)
    event_id: int
    head_hash: str = Field(max_length=64)
    at: datetime = utc_field()
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=128)
