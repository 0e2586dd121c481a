"""API models of entities: who is behind wallet addresses (and, through the blocklist, exchanger domains).

``EntityPublic`` is the short form a domain entry embeds; ``EntityDetail`` is what ``GET /v1/entities/{id}`` gives
investigators and supervisors, with the licensed-service flag that stops taint in exposure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from registry.types import AddressStr, ChainStr, NameStr, NoteStr, ReasonStr


class EntityAddressPublic(BaseModel):
    chain: str = Field(description="the chain family it is stored under: btc, tron, evm, …")
    address: str


class EntityPublic(BaseModel):
    id: int
    name: str
    kind: str
    addresses: list[EntityAddressPublic]


class EntityDetail(EntityPublic):
    model_config = ConfigDict(from_attributes=True)
    licensed_service: bool = Field(description="a regulated service: exposure does not propagate through it")
    licence_number: str | None
    created_at: datetime


class EntityCreate(BaseModel):
    """A new entity. Marking one a licensed service changes the exposure banks see, so it is not done here (one
    person, one request) but by two supervisors: ``POST /v1/entities/{id}/licensed`` and its ``/confirm``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: NameStr = Field(description="e.g. 'Shadow OTC Almaty'")
    kind: Literal["exchanger", "exchange", "mixer", "service", "other"] = "other"


class EntityAddressCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    address: AddressStr
    chain: ChainStr | None = Field(None, description="btc, tron, eth, bsc, …; omitted: detected")


class EntityAddressLink(EntityAddressPublic):
    entity_id: int


class LicensedChange(BaseModel):
    """A supervisor's request to mark an entity a licensed service (or to withdraw the mark)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    licensed: bool = Field(True, description="true: a licensed service (taint stops at it); false: no longer")
    licence_number: NameStr | None = Field(None, description="the AFSA or National Bank licence; needed when true")
    reason: ReasonStr = Field(description="why; kept in the audit log and shown to the confirming supervisor")


class LicensedLinkRequest(EntityAddressCreate):
    """A supervisor's request to link an address to a licensed service."""

    reason: ReasonStr = Field(description="why this address is the service's (e.g. the exchange's own attestation)")


class LicensedLinkConfirm(EntityAddressCreate):
    """The second supervisor confirms the link of this address."""

    note: NoteStr | None = None
