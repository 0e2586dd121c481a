"""Public models that name persons: each says which of its fields hold a normalised holder and which field shows
that person's name as written (``registry.auth.service.with_names`` fills them, one query per page)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from pydantic import BaseModel


class Named(BaseModel):
    PERSONS: ClassVar[Mapping[str, str]] = {}
    """Holder field → its display-name field, e.g. ``{"submitted_holder": "submitted_holder_name"}``. The display
    fields are for people to read: never compared, never in the audit log (``name_fields``)."""

    @classmethod
    def name_fields(cls) -> set[str]:
        return set(cls.PERSONS.values())
