"""The SQL of entities."""

from __future__ import annotations

from sqlmodel import Session, col, select

from registry.entities.tables import EntityAddress


def addresses_of(session: Session, entity_id: int) -> list[EntityAddress]:
    q = select(EntityAddress).where(EntityAddress.entity_id == entity_id).order_by(col(EntityAddress.id))
    return list(session.exec(q).all())


def link_of(session: Session, family: str, address: str) -> EntityAddress | None:
    """The entity link of an address stored under its chain family, if any (the pair is unique)."""
    q = select(EntityAddress).where(EntityAddress.chain == family, EntityAddress.address == address)
    return session.exec(q).first()
