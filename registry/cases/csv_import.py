"""Parsing a CSV of listings for one case: all or nothing, every bad row reported with its line and reason.

Parsing is pure (bytes in, checked rows and errors out) so that every malformed-file case is tested without a
database; the service inserts only when the error list is empty.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from pydantic import ValidationError

from registry.cases.models import ListingCreate, RowError
from registry.cases.service import CheckedListing, check_listing
from registry.errors import RegistryError

REQUIRED = ("address", "category", "confidence", "legal_basis")
OPTIONAL = ("chain", "evidence_note", "valid_until")
MAX_ERRORS = 1000


def parse_listings_csv(data: bytes, now: datetime, max_rows: int) -> tuple[list[CheckedListing], list[RowError]]:
    errors: list[RowError] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return [], [RowError(line=line, column=None, value=None, reason="not UTF-8 text (save the file as UTF-8)")]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return [], [RowError(line=line, column=None, value=None, reason="NUL byte: this is not a text CSV file")]
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(line=1, column=None, value=None, reason="the file is empty; expected a header row")]
    except csv.Error as e:
        return [], [RowError(line=1, column=None, value=None, reason=f"unreadable header: {e}")]
    columns = [h.strip().lower() for h in header]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    missing = [c for c in REQUIRED if c not in columns]
    dup_cols = sorted({c for c in columns if columns.count(c) > 1})
    if unknown or missing or dup_cols:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if dup_cols:
            parts.append(f"repeated column(s) {', '.join(dup_cols)}")
        allowed = ", ".join(REQUIRED + OPTIONAL)
        return [], [RowError(line=1, column=None, value=None, reason=f"{'; '.join(parts)} (allowed: {allowed})")]

    checked: list[CheckedListing] = []
    first_seen: dict[tuple[str, str, str], int] = {}
    rows = 0
    prev_end = 1
    while True:
        start = prev_end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(RowError(line=start, column=None, value=None, reason=f"broken CSV: {e}"))
            break
        prev_end = reader.line_num
        if not record or all(not f.strip() for f in record):
            continue
        rows += 1
        if rows > max_rows:
            errors.append(
                RowError(line=start, column=None, value=None, reason=f"more than {max_rows} rows; split the file")
            )
            break
        if len(record) != len(columns):
            errors.append(
                RowError(
                    line=start,
                    column=None,
                    value=None,
                    reason=f"{len(record)} fields where the header has {len(columns)}",
                )
            )
            continue
        fields = {c: v.strip() for c, v in zip(columns, record, strict=True)}
        raw: dict[str, object] = {k: v for k, v in fields.items() if v != "" or k in REQUIRED}
        try:
            item = ListingCreate.model_validate(raw)
        except ValidationError as e:
            for err in e.errors():
                col = str(err["loc"][0]) if err.get("loc") else None
                errors.append(RowError(line=start, column=col, value=fields.get(col or "", None), reason=err["msg"]))
            continue
        try:
            c = check_listing(item, now)
        except RegistryError as e:
            col = (e.details or {}).get("field") if isinstance(e.details, dict) else None
            errors.append(RowError(line=start, column=col, value=fields.get(col or "", None), reason=e.message))
            continue
        key = (c.family, c.address, c.category)
        if key in first_seen:
            errors.append(
                RowError(
                    line=start,
                    column="address",
                    value=fields["address"],
                    reason=f"same address and category as line {first_seen[key]}",
                )
            )
            continue
        first_seen[key] = start
        checked.append(c)
        if len(errors) >= MAX_ERRORS:
            break
    if not errors and not checked:
        errors.append(RowError(line=2, column=None, value=None, reason="the file has a header but no rows"))
    return checked, errors
