"""API models of decision requests (what a supervisor sees in the queue of decisions waiting for a second person)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from registry.auth.models import Named
from registry.types import NoteStr, ReasonStr


class DecisionRequestPublic(Named):
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

    PERSONS: ClassVar[Mapping[str, str]] = {
        "requested_holder": "requested_holder_name",
        "decided_holder": "decided_holder_name",
    }


class RequestNote(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: NoteStr | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: ReasonStr = Field(description="why; kept in the audit log")
