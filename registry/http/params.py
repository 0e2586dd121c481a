"""Constrained path and query parameters shared by every feature.

An unbounded ``int`` parameter lets ``?after_id=9223372036854775808`` through validation and into the database
driver, which overflows (a 500) instead of refusing it; every integer parameter of the API is one of these, or
declares ``le`` itself (``tests/registry/test_input_edges.py`` walks the OpenAPI schema to keep it that way).

The constraints themselves (``RowId``, ``MAX_ID``) and the types of request bodies are in ``registry/types.py``;
this module adds where FastAPI reads a value from (``Path``, ``Query``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from registry import types
from registry.types import MAX_ID as MAX_ID

MAX_PAGE = 1000

RowId = Annotated[types.RowId, Path(description="id of the row")]
"""An id in the path (``/v1/cases/{case_id}``, ``/v1/domains/{domain_id}`` …)."""

AfterId = Annotated[int, Query(ge=0, le=MAX_ID, description="page after this id (0: from the start)")]
"""Keyset paging: the last id of the previous page."""

PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"most rows returned (at most {MAX_PAGE})")]
