"""HTTP routes of entities: create one, read it with its addresses, link an address (audited).

Marking an entity a licensed service, and linking an address to one, change the exposure banks see: one
supervisor asks, a different one confirms (``…/confirm``), like a delisting.
"""

from __future__ import annotations

from fastapi import APIRouter

from registry.decisions import service as decisions
from registry.decisions.models import DecisionRequestPublic, RequestNote
from registry.entities import service
from registry.entities.models import (
    EntityAddressCreate,
    EntityAddressLink,
    EntityAddressPublic,
    EntityCreate,
    EntityDetail,
    LicensedChange,
    LicensedLinkConfirm,
    LicensedLinkRequest,
)
from registry.entities.tables import Entity, EntityAddress
from registry.http.deps import CaseReaderKey, SessionDep, SupervisorKey
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
    service at birth (that takes two supervisors: ``POST /v1/entities/{id}/licensed``)."""
    entity = service.create_entity(session, body.name, body.kind, who.actor)
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
    linked already, or when the entity is a licensed service (that takes two supervisors:
    ``POST /v1/entities/{id}/licensed-addresses``)."""
    link = service.link_address(session, entity_id, body.address, body.chain, who.actor)
    return EntityAddressLink(entity_id=entity_id, chain=link.chain, address=link.address)


@router.post(
    "/entities/{entity_id}/licensed",
    operation_id="request_entity_licensed",
    response_model=DecisionRequestPublic,
    status_code=202,
)
def request_licensed(
    entity_id: RowId, body: LicensedChange, who: SupervisorKey, session: SessionDep
) -> DecisionRequestPublic:
    """Ask to mark the entity a licensed service (taint stops at its addresses) or to withdraw the mark; it takes
    effect when a different supervisor confirms."""
    req = service.request_licensed(session, entity_id, body.licensed, body.licence_number, body.reason, who)
    return decisions.public_request(session, req)


@router.post(
    "/entities/{entity_id}/licensed/confirm", operation_id="confirm_entity_licensed", response_model=EntityDetail
)
def confirm_licensed(
    entity_id: RowId, who: SupervisorKey, session: SessionDep, body: RequestNote | None = None
) -> EntityDetail:
    """The second supervisor confirms; the next rescoring stops taint at (or lets it through) the entity."""
    service.confirm_licensed(session, entity_id, who, body.note if body else None)
    return _detail(*service.get_entity(session, entity_id))


@router.post(
    "/entities/{entity_id}/licensed-addresses",
    operation_id="request_licensed_address",
    response_model=DecisionRequestPublic,
    status_code=202,
)
def request_link(
    entity_id: RowId, body: LicensedLinkRequest, who: SupervisorKey, session: SessionDep
) -> DecisionRequestPublic:
    """Ask to link an address to a licensed service; it takes effect when a different supervisor confirms."""
    req = service.request_link(session, entity_id, body.address, body.chain, body.reason, who)
    return decisions.public_request(session, req)


@router.post(
    "/entities/{entity_id}/licensed-addresses/confirm",
    operation_id="confirm_licensed_address",
    response_model=EntityAddressLink,
    status_code=201,
)
def confirm_link(
    entity_id: RowId, body: LicensedLinkConfirm, who: SupervisorKey, session: SessionDep
) -> EntityAddressLink:
    """The second supervisor confirms the link of the address to the licensed service."""
    link = service.confirm_link(session, entity_id, body.address, body.chain, who, body.note)
    return EntityAddressLink(entity_id=entity_id, chain=link.chain, address=link.address)
