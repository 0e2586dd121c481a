"""Constrained types shared by every feature's request models: one ``ReasonStr``, one ``RowId``, ….

Each decision model used to spell out its own ``Field(min_length=…, max_length=…)``, and copies drift: a reason
of one character accepted here and refused there. A constraint declared once here is the same everywhere by
construction; what differs per field (its ``description``, its default) stays at the field. Strings are stripped
before their length is checked, so ``"   "`` is an empty reason, not a three-character one.

These are plain pydantic types for request bodies and models. Path and query parameters stay in
``registry/http/params.py`` because they carry FastAPI's ``Path``/``Query``; its path ``RowId`` is this ``RowId``
taken from the path.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, StringConstraints

MAX_ID = 2**31 - 1
"""Largest value of an INTEGER column (ids, serials, counters compared against them)."""

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""The id of a row: an unbounded ``int`` would pass validation and overflow in the database driver (a 500)."""

ReasonStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
"""Why a decision was taken (rejecting, delisting, cancelling, approving): kept in the audit log."""

OptionalReasonStr: TypeAlias = ReasonStr | None
"""A reason that may be left out (approving); when given it follows ``ReasonStr``: not blank."""

NoteStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
"""A free remark beside a decision (confirming a request); may be empty."""

HolderStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A person as their API key names them (``keys create --holder``); normalised by ``registry.auth.persons``."""

NameStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""The name of an entity (an exchanger, a mixer, a service)."""

AddressStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
"""A wallet address as submitted, before ``chains.addresses.normalize`` checks it for its chain."""

ChainStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
"""A chain or network name (``btc``, ``tron``, ``eth``, ``bsc``, …), checked by ``chains.addresses``."""
