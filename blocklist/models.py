"""Request and response models of the blocklist API, separate from the tables: ISPs and banks get no case data.

Response models are validated from the rows and records they show (``Model.model_validate(row,
from_attributes=True)``), never copied field by field: a field added to a table and to its public model needs no
code in between, and one the public model lacks cannot leak. ``Composed`` adds what a row does not hold itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

# Defined with the entities (one schema each in the OpenAPI document), re-exported for the domains.
from registry.auth.models import Named
from registry.entities.models import EntityAddressPublic as EntityAddressPublic
from registry.entities.models import EntityPublic as EntityPublic


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    urls: list[str] = Field(default_factory=list, max_length=50, description="pages showing the exchange")
    telegram: list[str] = Field(default_factory=list, max_length=50, description="Telegram handles or links")
    note: str = Field("", max_length=5000)


class DomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=2048, description="domain or URL; normalised before storing")
    legal_basis: str = Field(min_length=3, max_length=500)
    evidence: Evidence = Field(default_factory=Evidence)
    entity_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="link to an existing entity (and its wallet addresses)"
    )
    entity_name: str | None = Field(None, min_length=1, max_length=200, description="or create an exchanger entity")


class DomainReason(BaseModel):
    """Rejecting a domain or asking to delist it: the reason is required (approving: optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=1000, description="why; kept in the audit log")


class DomainApproval(BaseModel):
    """Approving a domain (the body may be omitted): an optional reason, like approving a listing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str | None = Field(None, min_length=1, max_length=1000, description="optional; kept in the audit log")


class DomainCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=2048)


class LookalikePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    brand: str
    licensed_domain: str
    firm: str
    licence_number: str | None
    kind: str
    distance: int
    reason: str


class DomainPublic(Named):
    """For investigators and supervisors (case readers) only."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    case_id: int | None
    domain: str
    registrable: str
    origin: str
    legal_basis: str
    evidence: dict[str, object]
    status: str
    submitted_by: str
    submitted_holder: str | None = None  # the person who submitted it; null for the register job
    approved_by: str | None
    decided_holder: str | None = None  # the second person, who approved, rejected or delisted it
    submitted_holder_name: str | None = None  # the same persons as written, for people to read (never compared)
    decided_holder_name: str | None = None
    PERSONS: ClassVar[Mapping[str, str]] = {
        "submitted_holder": "submitted_holder_name",
        "decided_holder": "decided_holder_name",
    }
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    serial_added: int | None
    serial_removed: int | None
    entity: EntityPublic | None = None
    lookalikes: list[LookalikePublic] = Field(default_factory=list)


class CheckResult(BaseModel):
    """For any key: no case, evidence or submitter in here."""

    input: str
    domain: str
    registrable: str
    unicode: str
    verdict: str  # licensed | blocked | lookalike | unknown
    reasons: list[str]
    licence: dict[str, object] | None = None
    blocked_as: str | None = None
    lookalikes: list[LookalikePublic] = Field(default_factory=list)


class LicensedFirmPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    regulator: str
    name: str
    licence_number: str | None
    status: str
    status_text: str
    issued_on: str | None
    inactive_since: str | None
    activities: str
    section: str
    details_url: str | None
    domains: list[str]
    updated_at: datetime


class RegisterFetchPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    regulator: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    firms: int
    changed: int
    message: str


class LicensedList(BaseModel):
    firms: list[LicensedFirmPublic]
    last_fetch: RegisterFetchPublic | None
    last_applied: RegisterFetchPublic | None


class LicensedDomainCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=2048)
    note: str = Field("", max_length=1000)


class LicensedMapping(BaseModel):
    """Mapping a name to a licensed firm: ``mapped`` at once, or ``pending`` until a second supervisor confirms,
    because it would take the ``unblocks`` names out of the ISPs' feed."""

    model_config = ConfigDict(from_attributes=True)
    domain: str
    status: Literal["mapped", "pending"]
    unblocks: list[str]
    request_id: int | None = None


# The net change of the feed from serial ``since`` to ``serial`` (``GET /v1/blocklist/changes``): a name added and
# removed again in between is in neither list. The one type of a feed diff, from the change log to the ISP's JSON
# (no docstring: it would become the schema's description, and the published schema stays as it is).
class ChangesPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    since: int
    serial: int
    added: list[str]
    removed: list[str]
    passthru_added: list[str]
    passthru_removed: list[str]


class Composed:
    """A row seen together with values it does not hold itself, for ``Model.model_validate(Composed(row, ...),
    from_attributes=True)``.

    Most fields of a response model are columns of one row; a few come from other rows (a firm's curated domains,
    an entry's entity and lookalikes, an entity's addresses). Naming those few here lets the model read everything
    as attributes in one validation, so the columns are never copied by hand.
    """

    __slots__ = ("_parts", "_row")

    def __init__(self, row: object, **parts: object) -> None:
        self._row = row
        self._parts = parts

    def __getattr__(self, name: str) -> object:
        if name in self._parts:
            return self._parts[name]
        return getattr(self._row, name)
