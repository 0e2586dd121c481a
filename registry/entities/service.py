"""Entities: named actors that link addresses (and, through the blocklist, domains).

Marking an entity a licensed service (a regulated exchange) stops taint at its addresses, so the change bumps the
``registry`` counter: the rescoring job sees it and recomputes exposure without the exchange as a conduit. That
changes the exposure banks see, so it is a decision of two persons: one supervisor asks (``request_licensed``,
``request_link``), a different one confirms (``confirm_licensed``, ``confirm_link``), through
``registry.decisions`` — the same rule as a delisting. Creating an entity and linking addresses to one that is
not licensed changes no verdict and stays one person's act (audited).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from chains.addresses import AddressError, NormalizedAddress, chain_family, normalize
from registry.audit.service import Actor, record
from registry.auth.service import Principal
from registry.db import state
from registry.db.types import utcnow
from registry.decisions import service as decisions
from registry.decisions.tables import DecisionRequest
from registry.entities import queries
from registry.entities.tables import Entity, EntityAddress
from registry.errors import Conflict, InvalidAddress, InvalidInput, NotFound

KINDS = ("exchanger", "exchange", "mixer", "service", "other")
LICENSED = "entity.licensed"
"""Decision kind: mark an entity a licensed service, or no longer one."""
LINK_LICENSED = "entity.link_licensed"
"""Decision kind: link an address to a licensed service (taint stops at it)."""


def create_entity(session: Session, name: str, kind: str, actor: Actor) -> Entity:
    """A new entity, never a licensed service at birth: that is a two-person decision (``request_licensed``)."""
    if not name.strip():
        raise InvalidInput("an entity needs a name")
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    entity = Entity(name=name.strip(), kind=kind, licensed_service=False, licence_number=None, created_at=utcnow())
    session.add(entity)
    session.flush()
    after = {"name": entity.name, "kind": kind, "licensed_service": False, "licence_number": None}
    record(session, actor, action="entity.create", entity_type="entity", entity_id=str(entity.id), after=after)
    session.commit()
    return entity


def _entity(session: Session, entity_id: int) -> Entity:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity with id {entity_id}")
    return entity


def request_licensed(
    session: Session, entity_id: int, licensed: bool, licence: str | None, reason: str, who: Principal
) -> DecisionRequest:
    """One supervisor asks to mark the entity a licensed service (with its licence number) or to withdraw the
    mark; nothing changes until a different person confirms."""
    entity = _entity(session, entity_id)
    if licensed and not (licence or "").strip():
        raise InvalidInput("a licensed service needs its licence number (AFSA or National Bank)")
    if entity.licensed_service == licensed and (not licensed or entity.licence_number == licence):
        state_word = "already" if licensed else "not"
        raise Conflict(f"entity {entity_id} is {state_word} a licensed service")
    payload = {"licensed": licensed, "licence_number": (licence or "").strip() or None, "name": entity.name}
    req = decisions.open_request(session, LICENSED, str(entity_id), reason, who, payload)
    session.commit()
    return req


def confirm_licensed(session: Session, entity_id: int, who: Principal, note: str | None) -> Entity:
    """The second person confirms; the mark is applied as the request asked, atomically with the confirmation."""
    pending = decisions.pending_for(session, LICENSED, str(entity_id))
    if pending is None or pending.id is None:
        raise Conflict(f"no licensed-service change of entity {entity_id} is waiting for confirmation")
    req = decisions.confirm(session, pending.id, who, note)
    entity = _apply_licensed(
        session, entity_id, bool(req.payload["licensed"]), req.payload.get("licence_number"), who.actor
    )
    session.commit()
    return entity


def _apply_licensed(session: Session, entity_id: int, licensed: bool, licence: str | None, actor: Actor) -> Entity:
    entity = _entity(session, entity_id)
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
    return entity


def get_entity(session: Session, entity_id: int) -> tuple[Entity, list[EntityAddress]]:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity with id {entity_id}")
    return entity, queries.addresses_of(session, entity_id)


def _normalized(address: str, chain: str | None) -> NormalizedAddress:
    try:
        return normalize(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"field": "address", "reason": e.reason}) from None


def link_address(session: Session, entity_id: int, address: str, chain: str | None, actor: Actor) -> EntityAddress:
    """Link an address to an entity that is not a licensed service (audited; no verdict changes). Linking one to a
    licensed service stops taint at that address, so it is refused here: ``request_link``."""
    entity = _entity(session, entity_id)
    if entity.licensed_service:
        raise Conflict(
            f"entity {entity_id} is a licensed service: an address linked to it stops taint and changes the "
            "exposure banks see, so a supervisor asks (POST /v1/entities/{id}/licensed-addresses) and a second "
            "person confirms",
            details={"id": entity_id, "reason": "licensed_service"},
            code="licensed_entity",
        )
    link = _apply_link(session, entity, _normalized(address, chain), actor)
    session.commit()
    return link


def _link_target(entity_id: int, norm: NormalizedAddress) -> str:
    return f"{entity_id}:{chain_family(norm.chain)}:{norm.address}"


def request_link(
    session: Session, entity_id: int, address: str, chain: str | None, reason: str, who: Principal
) -> DecisionRequest:
    """One supervisor asks to link an address to a licensed service; a different person confirms."""
    entity = _entity(session, entity_id)
    if not entity.licensed_service:
        raise Conflict(f"entity {entity_id} is not a licensed service: link the address directly")
    norm = _normalized(address, chain)
    if queries.link_of(session, chain_family(norm.chain), norm.address) is not None:
        raise Conflict(f"{norm.address} is already linked to an entity")
    payload = {"entity_id": entity_id, "chain": norm.chain, "address": norm.address, "name": entity.name}
    req = decisions.open_request(session, LINK_LICENSED, _link_target(entity_id, norm), reason, who, payload)
    session.commit()
    return req


def confirm_link(
    session: Session, entity_id: int, address: str, chain: str | None, who: Principal, note: str | None
) -> EntityAddress:
    """The second person confirms the link; applied atomically with the confirmation."""
    norm = _normalized(address, chain)
    pending = decisions.pending_for(session, LINK_LICENSED, _link_target(entity_id, norm))
    if pending is None or pending.id is None:
        raise Conflict(f"no link of {norm.address} to entity {entity_id} is waiting for confirmation")
    decisions.confirm(session, pending.id, who, note)
    link = _apply_link(session, _entity(session, entity_id), norm, who.actor)
    session.commit()
    return link


def _apply_link(session: Session, entity: Entity, norm: NormalizedAddress, actor: Actor) -> EntityAddress:
    # Stored by family, like listings: an exchange's EVM hot wallet is the same key on every EVM network.
    link = EntityAddress(entity_id=entity.id or 0, chain=chain_family(norm.chain), address=norm.address)
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
        entity_id=str(entity.id),
        after={"chain": link.chain, "address": link.address},
    )
    if entity.licensed_service:
        state.bump(session, state.REGISTRY)
    return link


def list_entities(session: Session) -> list[tuple[Entity, int]]:
    entities = session.exec(select(Entity).order_by(col(Entity.id))).all()
    counts: dict[int, int] = {}
    for (eid,) in session.execute(select(EntityAddress.entity_id)).all():
        counts[eid] = counts.get(eid, 0) + 1
    return [(e, counts.get(e.id or 0, 0)) for e in entities]
