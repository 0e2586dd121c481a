"""Entities: named actors that link addresses (and, through the blocklist, domains).

Marking an entity a licensed service (a regulated exchange) stops taint at its addresses, so the change bumps the
``registry`` counter: the rescoring job sees it and recomputes exposure without the exchange as a conduit.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chains.addresses import AddressError, chain_family, normalize
from registry.audit.service import Actor, record
from registry.db import state
from registry.db.types import utcnow
from registry.entities import queries
from registry.entities.tables import Entity, EntityAddress
from registry.errors import Conflict, InvalidAddress, InvalidInput, NotFound

KINDS = ("exchanger", "exchange", "mixer", "service", "other")


def create_entity(
    session: Session, name: str, kind: str, licensed_service: bool, licence: str | None, actor: Actor
) -> Entity:
    if not name.strip():
        raise InvalidInput("an entity needs a name")
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    entity = Entity(
        name=name.strip(), kind=kind, licensed_service=licensed_service, licence_number=licence, created_at=utcnow()
    )
    session.add(entity)
    session.flush()
    after = {"name": entity.name, "kind": kind, "licensed_service": licensed_service, "licence_number": licence}
    record(session, actor, action="entity.create", entity_type="entity", entity_id=str(entity.id), after=after)
    if licensed_service:
        state.bump(session, state.REGISTRY)
    session.commit()
    return entity


def set_licensed(session: Session, entity_id: int, licensed: bool, licence: str | None, actor: Actor) -> Entity:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity with id {entity_id}")
    before = {"licensed_service": entity.licensed_service, "licence_number": entity.licence_number}
    entity.licensed_service = licensed
    entity.licence_number = licence if licensed else entity.licence_number
    session.add(entity)
    session.flush()
    after = {"licensed_service": entity.licensed_service, "licence_number": entity.licence_number}
    record(
        session,
        actor,
        action="entity.licensed",
        entity_type="entity",
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    state.bump(session, state.REGISTRY)
    session.commit()
    return entity


def get_entity(session: Session, entity_id: int) -> tuple[Entity, list[EntityAddress]]:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity with id {entity_id}")
    return entity, queries.addresses_of(session, entity_id)


def link_address(
    session: Session,
    entity_id: int,
    address: str,
    chain: str | None,
    actor: Actor,
    *,
    licensed_too: bool = True,
) -> EntityAddress:
    """Link an address to an entity (audited). Linking one to a licensed service stops taint at that address, a
    change to the exposure banks see: with ``licensed_too=False`` (the API, one person) that is refused."""
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity with id {entity_id}")
    if entity.licensed_service and not licensed_too:
        raise Conflict(
            f"entity {entity_id} is a licensed service: an address linked to it stops taint and changes the "
            "exposure banks see, which one person may not do over the API; operators link it with "
            "`registry entities link`",
            details={"id": entity_id, "reason": "licensed_service"},
            code="licensed_entity",
        )
    try:
        norm = normalize(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"field": "address", "reason": e.reason}) from None
    # Stored by family, like listings: an exchange's EVM hot wallet is the same key on every EVM network.
    link = EntityAddress(entity_id=entity_id, chain=chain_family(norm.chain), address=norm.address)
    session.add(link)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{norm.address} is already linked to an entity") from None
    record(
        session,
        actor,
        action="entity.link_address",
        entity_type="entity",
        entity_id=str(entity_id),
        after={"chain": link.chain, "address": link.address},
    )
    if entity.licensed_service:
        state.bump(session, state.REGISTRY)
    session.commit()
    return link


def list_entities(session: Session) -> list[tuple[Entity, int]]:
    entities = session.exec(select(Entity).order_by(col(Entity.id))).all()
    counts: dict[int, int] = {}
    for (eid,) in session.execute(select(EntityAddress.entity_id)).all():
        counts[eid] = counts.get(eid, 0) + 1
    return [(e, counts.get(e.id or 0, 0)) for e in entities]
