"""The JSON form of an evidence pack. Its ``content`` is described in ``registry.evidence.service`` (fields may be
added, never renamed); the PDF and CSV forms are renderings of the same content."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EvidencePack(BaseModel):
    content: dict[str, Any] = Field(
        description="everything the pack states: subject, verdict and its explanation, listings with legal basis and "
        "the persons who submitted and decided them, exposure with paths, transfers in human units, the graph, "
        "versions, generation time. Shares and values are decimal strings (no floats), so the hash is reproducible"
    )
    sha256: str = Field(
        description="SHA-256 of content as canonical JSON (RFC 8785: keys sorted, no whitespace, UTF-8)"
    )
    hash_covers: str
