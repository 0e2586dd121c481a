"""Reading watchlist items (a JSON list or a CSV file) into checked rows: pure, no database.

All or nothing, like the listing import: one bad item refuses the call, and the answer lists the first
``MAX_ERRORS`` bad items with their position and reason and counts them all.

The customer reference is the bank's own opaque id for the customer, so that an alert can be routed to the right
file without the registry ever holding who the customer is. It is checked to be an id and not personal data:
1–64 characters of ``A-Z a-z 0-9 . _ : / # -`` starting with a letter or digit (no spaces: no names; no ``@``: no
e-mail addresses), and not 12 digits (the form of a Kazakh IIN/BIN) nor 13–19 digits (the form of a card number).
A hash of the customer number, or the bank's internal id (``C-000123``), passes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from chains.addresses import AddressError, normalize

MAX_ERRORS = 1000
REF_MAX = 64
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#-]*")
_FIELDS = frozenset(("address", "chain", "ref"))


@dataclass(frozen=True, slots=True)
class Item:
    family: str
    address: str
    chain: str
    ref: str


@dataclass
class Parsed:
    items: list[Item] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    total_errors: int = 0
    too_many: int | None = None  # the count received, when over the limit

    def add_error(self, error: dict[str, Any]) -> None:
        self.total_errors += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)


def check_ref(ref: Any) -> tuple[str, str] | None:
    """(reason, message) when ``ref`` is not an acceptable customer reference, else None."""
    if ref is None or (isinstance(ref, str) and not ref.strip()):
        return "missing", "ref is required: the bank's own id for the customer (no personal data)"
    if not isinstance(ref, str):
        return "string_type", "ref must be a string"
    r = ref.strip()
    if len(r) > REF_MAX:
        return "string_too_long", f"ref is {len(r)} characters; at most {REF_MAX}"
    if not _REF.fullmatch(r):
        return (
            "characters",
            "ref may hold only letters, digits and . _ : / # - (starting with a letter or digit): an opaque id, "
            "never a name or an e-mail address",
        )
    if r.isdigit() and len(r) == 12:
        return (
            "personal_data",
            "ref looks like personal data: 12 digits is the form of an IIN or BIN (a person's or firm's national "
            "number); send the bank's own customer id or a hash",
        )
    if r.isdigit() and 13 <= len(r) <= 19:
        return (
            "personal_data",
            "ref looks like personal data: 13 to 19 digits is the form of a payment card number; send the bank's "
            "own customer id or a hash",
        )
    return None


def _item(address: Any, chain: Any, ref: Any, need_ref: bool) -> tuple[Item | None, str, str, str]:
    """(item, field, reason, message): the item, or what is wrong with it."""
    if not isinstance(address, str):
        return None, "address", "missing" if address is None else "string_type", "address is required (a string)"
    if chain is not None and not isinstance(chain, str):
        return None, "chain", "string_type", "chain must be a string such as btc, tron or eth"
    try:
        n = normalize(address, chain or None)
    except AddressError as e:
        return None, "address", e.reason, e.message
    if need_ref:
        bad = check_ref(ref)
        if bad is not None:
            return None, "ref", bad[0], bad[1]
    return Item(n.family, n.address, n.chain, ref.strip() if isinstance(ref, str) else ""), "", "", ""


def parse_json(body: Any, max_items: int, need_ref: bool = True) -> Parsed:
    """``{"items": [{"address", "chain"?, "ref"}, …]}``; for removals ``ref`` is not needed and an item may be a
    bare address string."""
    out = Parsed()
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        out.add_error(
            {
                "field": "items",
                "reason": "list_type",
                "message": 'send a JSON object: {"items": [{"address": "…", "chain": "…", "ref": "…"}]}',
            }
        )
        return out
    extra = sorted(str(k) for k in body if k != "items")
    if extra:
        out.add_error({"field": extra[0], "reason": "extra_forbidden", "message": f"unknown field(s) {extra}"})
        return out
    if len(items) > max_items:
        out.too_many = len(items)
        return out
    for i, raw in enumerate(items):
        address: Any
        chain: Any
        ref: Any
        if isinstance(raw, str) and not need_ref:
            address, chain, ref = raw, None, None
        elif isinstance(raw, dict):
            if not _FIELDS.issuperset(raw):
                unknown = sorted(str(k) for k in raw if k not in _FIELDS)
                out.add_error(
                    {
                        "index": i,
                        "field": f"items[{i}].{unknown[0]}",
                        "reason": "extra_forbidden",
                        "message": f"unknown field(s) {unknown}; send address, chain and ref",
                    }
                )
                continue
            address, chain, ref = raw.get("address"), raw.get("chain"), raw.get("ref")
        else:
            out.add_error(
                {
                    "index": i,
                    "field": f"items[{i}]",
                    "reason": "dict_type",
                    "message": "each item is an {address, chain, ref} object",
                }
            )
            continue
        item, where, reason, message = _item(address, chain, ref, need_ref)
        if item is None:
            out.add_error(
                {
                    "index": i,
                    "field": f"items[{i}].{where}",
                    "value": _shown(raw.get(where) if isinstance(raw, dict) else raw),
                    "reason": reason,
                    "message": message,
                }
            )
            continue
        out.items.append(item)
    return out


CSV_COLUMNS = ("address", "ref")
CSV_OPTIONAL = ("chain",)


def parse_csv(data: bytes, max_items: int) -> Parsed:
    """A CSV with a header naming ``address`` and ``ref`` (and optionally ``chain``), in any order; UTF-8 (a BOM is
    fine). Errors name the line (the header is line 1) and the column."""
    out = Parsed()
    try:
        text = codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        out.add_error({"line": line, "column": None, "value": None, "reason": "not UTF-8 text"})
        return out
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        out.add_error({"line": line, "column": None, "value": None, "reason": "NUL character: not a text file"})
        return out
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    names = [h.strip().lower() for h in header] if header else []
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        out.add_error(
            {
                "line": 1,
                "column": missing[0],
                "value": None,
                "reason": f"the header must name the columns {', '.join(CSV_COLUMNS)} (and may name chain)",
            }
        )
        return out
    unknown = [n for n in names if n not in CSV_COLUMNS + CSV_OPTIONAL]
    if unknown:
        out.add_error({"line": 1, "column": unknown[0], "value": None, "reason": "unknown column"})
        return out
    at = {n: names.index(n) for n in names}
    count = 0
    for row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        count += 1
        if count > max_items:
            out.too_many = count
            return out
        line = reader.line_num
        if len(row) != len(names):
            out.add_error(
                {
                    "line": line,
                    "column": None,
                    "value": None,
                    "reason": f"{len(row)} fields; the header has {len(names)}",
                }
            )
            continue
        chain = row[at["chain"]].strip() if "chain" in at else None
        item, where, reason, message = _item(row[at["address"]], chain or None, row[at["ref"]], True)
        if item is None:
            out.add_error({"line": line, "column": where, "value": _shown(row[at[where]]), "reason": message})
            continue
        out.items.append(item)
    return out


def _shown(value: Any) -> Any:
    return value[:200] if isinstance(value, str) else value
