"""API models of decision requests (what a supervisor sees in the queue of decisions waiting for a second person)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from registry.types import NoteStr, ReasonStr


class DecisionRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str = Field(
        description="listing.delist | domain.delist | licensed_domain.map | entity.licensed | entity.link_licensed"
    )
    target: str = Field(
        description="the listing id, the domain entry id, the domain name, the entity id, or entity:family:address"
    )
    payload: dict[str, Any]
    reason: str
    status: str = Field(description="pending | confirmed | cancelled")
    requested_holder: str = Field(description="the person who asked, normalised (compare this one)")
    requested_holder_name: str | None = Field(
        None, description="the same person's name as written (case kept), to show people"
    )
    requested_at: datetime
    decided_holder: str | None = Field(
        description="the second person, who confirmed or cancelled, normalised (compare this one)"
    )
    decided_holder_name: str | None = Field(None, description="the second person's name as written, to show people")
    decided_at: datetime | None
    decision_note: str | None

    @model_validator(mode="after")
    def _names_default_to_holders(self) -> Self:
        """Where nobody looked the names up (``registry.decisions.service.public_requests`` does), a person reads
        as their normalised holder."""
        self.requested_holder_name = self.requested_holder_name or self.requested_holder
        self.decided_holder_name = self.decided_holder_name or self.decided_holder
        return self


class RequestNote(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: NoteStr | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: ReasonStr = Field(description="why; kept in the audit log")
