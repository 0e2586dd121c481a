"""HTTP routes of entities: create one, read it with its addresses, link an address (audited).

Marking an entity a licensed service stays on the command line (``registry entities licensed``): it changes the
exposure banks see, and over the API it would be one person's decision.
"""

from __future__ import annotations

from fastapi import APIRouter

from registry.entities import service
from registry.entities.models import (
    EntityAddressCreate,
    EntityAddressLink,
    EntityAddressPublic,
    EntityCreate,
    EntityDetail,
)
from registry.entities.tables import Entity, EntityAddress
from registry.http.deps import CaseReaderKey, SessionDep
from registry.http.params import RowId

router = APIRouter(prefix="/v1", tags=["entities"])


def _detail(entity: Entity, addresses: list[EntityAddress]) -> EntityDetail:
    return EntityDetail(
        id=entity.id or 0,
        name=entity.name,
        kind=entity.kind,
        licensed_service=entity.licensed_service,
        licence_number=entity.licence_number,
        created_at=entity.created_at,
        addresses=[EntityAddressPublic(chain=a.chain, address=a.address) for a in addresses],
    )


@router.post("/entities", operation_id="create_entity", response_model=EntityDetail, status_code=201)
def create_entity(body: EntityCreate, who: CaseReaderKey, session: SessionDep) -> EntityDetail:
    """A named actor (an exchanger, a mixer, …) to link wallet addresses and domains to; never a licensed
    service here (that is the command line's ``registry entities licensed``)."""
    entity = service.create_entity(session, body.name, body.kind, False, None, who.actor)
    return _detail(entity, [])


@router.get("/entities/{entity_id}", operation_id="get_entity", response_model=EntityDetail)
def get_entity(entity_id: RowId, who: CaseReaderKey, session: SessionDep) -> EntityDetail:
    return _detail(*service.get_entity(session, entity_id))


@router.post(
    "/entities/{entity_id}/addresses",
    operation_id="link_entity_address",
    response_model=EntityAddressLink,
    status_code=201,
)
def link_address(
    entity_id: RowId, body: EntityAddressCreate, who: CaseReaderKey, session: SessionDep
) -> EntityAddressLink:
    """Link a wallet address to the entity (an EVM address covers every EVM network). 409 when the address is
    linked already, or when the entity is a licensed service (that takes the command line)."""
    link = service.link_address(session, entity_id, body.address, body.chain, who.actor, licensed_too=False)
    return EntityAddressLink(entity_id=entity_id, chain=link.chain, address=link.address)
