"""The SQL of entities."""

from __future__ import annotations

from sqlmodel import Session, col, select

from registry.entities.tables import EntityAddress


def addresses_of(session: Session, entity_id: int) -> list[EntityAddress]:
    q = select(EntityAddress).where(EntityAddress.entity_id == entity_id).order_by(col(EntityAddress.id))
    return list(session.exec(q).all())
