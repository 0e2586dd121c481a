"""Request and response models of the blocklist API, separate from the tables: ISPs and banks get no case data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


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


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=1000)


class DomainCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    domain: str = Field(min_length=1, max_length=2048)


class LookalikePublic(BaseModel):
    brand: str
    licensed_domain: str
    firm: str
    licence_number: str | None
    kind: str
    distance: int
    reason: str


class EntityAddressPublic(BaseModel):
    chain: str
    address: str


class EntityPublic(BaseModel):
    id: int
    name: str
    kind: str
    addresses: list[EntityAddressPublic]


class DomainPublic(BaseModel):
    """For investigators and supervisors (case readers) only."""

    id: int
    case_id: int | None
    domain: str
    registrable: str
    origin: str
    legal_basis: str
    evidence: dict[str, object]
    status: str
    submitted_by: str
    approved_by: str | None
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


class ChangesPublic(BaseModel):
    since: int
    serial: int
    added: list[str]
    removed: list[str]
    passthru_added: list[str]
    passthru_removed: list[str]
