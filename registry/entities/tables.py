from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from registry.db.types import utc_field


class Entity(SQLModel, table=True):
    """``licensed_service`` stops taint: a regulated exchange's hot wallet mixes everyone's money."""

    __tablename__ = "entity"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    kind: str = Field(default="other", max_length=32)  # exchanger | exchange | mixer | other
    licensed_service: bool = Field(default=False)
    licence_number: str | None = Field(default=None, max_length=64)
    created_at: datetime = utc_field()


class EntityAddress(SQLModel, table=True):
    __tablename__ = "entity_address"
    __table_args__ = (UniqueConstraint("chain", "address", name="uq_entity_address"),)
    id: int | None = Field(default=None, primary_key=True)
    entity_id: int = Field(foreign_key="entity.id", index=True)
    chain: str = Field(max_length=16)
    address: str = Field(max_length=128)
