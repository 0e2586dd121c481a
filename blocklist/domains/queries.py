"""SQL of exchanger domain entries, the entities they name, and the feed's verdict on a name."""

from __future__ import annotations

from sqlalchemy import Row
from sqlmodel import Session, col, select

from blocklist.tables import BlocklistDomain, DomainStatus, FeedAction, FeedEntry
from registry.entities.tables import Entity, EntityAddress

OPEN = (DomainStatus.pending.value, DomainStatus.active.value)


def entry(session: Session, domain_id: int) -> BlocklistDomain | None:
    return session.get(BlocklistDomain, domain_id)


def open_entry_of(session: Session, host: str) -> Row[int | None, str] | None:
    """(id, status) of the pending or active entry of this name, if there is one."""
    q = select(BlocklistDomain.id, BlocklistDomain.status).where(
        col(BlocklistDomain.domain) == host, col(BlocklistDomain.status).in_(OPEN)
    )
    return session.execute(q).first()


def entries(
    session: Session, status: str | None, after_id: int, limit: int, case_ids: set[int] | None
) -> list[BlocklistDomain]:
    """Entries oldest first, paged by id; ``case_ids`` limits them to those cases' entries and those of no case."""
    q = select(BlocklistDomain).where(col(BlocklistDomain.id) > after_id)
    if status is not None:
        q = q.where(col(BlocklistDomain.status) == status)
    if case_ids is not None:
        q = q.where(col(BlocklistDomain.case_id).is_(None) | col(BlocklistDomain.case_id).in_(case_ids))
    return list(session.execute(q.order_by(col(BlocklistDomain.id)).limit(limit)).scalars().all())


def entity_exists(session: Session, entity_id: int) -> bool:
    return session.get(Entity, entity_id) is not None


def entities(session: Session, ids: set[int]) -> list[Entity]:
    return list(session.execute(select(Entity).where(col(Entity.id).in_(ids))).scalars().all())


def entity_addresses(session: Session, ids: set[int]) -> list[Row[int, str, str]]:
    """(entity_id, chain, address) of these entities' wallet addresses, in the order they were linked."""
    q = select(EntityAddress.entity_id, EntityAddress.chain, EntityAddress.address).where(
        col(EntityAddress.entity_id).in_(ids)
    )
    return list(session.execute(q.order_by(col(EntityAddress.id))).all())


def blocked_in_feed(session: Session, names: list[str]) -> list[str]:
    """Which of these names the published feed blocks (what ISPs resolve to NXDOMAIN now)."""
    q = select(FeedEntry.domain).where(
        col(FeedEntry.domain).in_(names), col(FeedEntry.action) == FeedAction.block.value
    )
    return list(session.execute(q).scalars().all())
