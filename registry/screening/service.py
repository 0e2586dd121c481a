"""Screening: validate, look up in the snapshot, shape the result. No database, no graph, no pydantic.

The hot path builds plain dicts and lets orjson serialise them: pydantic validation of a 10,000-item batch costs
more than the whole lookup. Validation results are memoised per worker (bounded), since banks screen the same
customer addresses again and again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from chains.addresses import AddressError, NormalizedAddress, normalize
from registry.screening.snapshot import Snapshot

MEMO_LIMIT = 500_000
_memo: dict[tuple[str | None, str], NormalizedAddress | AddressError] = {}


def validate(address: str, chain: str | None) -> NormalizedAddress:
    key = (chain, address)
    hit = _memo.get(key)
    if hit is None:
        try:
            hit = normalize(address, chain)
        except AddressError as e:
            hit = e
        if len(_memo) >= MEMO_LIMIT:
            _memo.clear()
        _memo[key] = hit
    if isinstance(hit, AddressError):
        raise hit
    return hit


def now_pair() -> tuple[float, str]:
    now = time.time()
    return now, datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def result(
    snap: Snapshot, norm: NormalizedAddress, now: float, now_iso: str, policy_version: str
) -> dict[str, Any]:
    v = snap.verdict(f"{norm.family}:{norm.address}", now)
    return {
        "address": norm.address,
        "chain": norm.chain,
        "risk_score": v.risk_score,
        "risk_level": v.risk_level,
        "action": v.action,
        "direct": list(v.direct),
        "exposure": v.exposure,
        "policy_version": policy_version,
        "registry_version": snap.version_str,
        "screened_at": now_iso,
    }


def item_error(index: int, address: Any, chain: Any, code: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "address": address,
        "chain": chain,
        "error": {"code": code, "reason": reason, "message": message},
    }


def screen_batch(
    snap: Snapshot, items: list[Any], policy_version: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Results in input order (per-item errors in place) and the rows for the screening log."""
    now, now_iso = now_pair()
    out: list[dict[str, Any]] = []
    logged: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            address, chain = item, None
        elif isinstance(item, dict):
            address, chain = item.get("address"), item.get("chain")
            extra = set(item) - {"address", "chain"}
            if extra:
                out.append(item_error(i, address, chain, "invalid_input", "fields",
                                      f"unknown field(s) {', '.join(sorted(map(str, extra)))}"))
                continue
        else:
            out.append(item_error(i, item, None, "invalid_input", "format",
                                  "each item is an address string or an {address, chain} object"))
            continue
        if not isinstance(address, str) or (chain is not None and not isinstance(chain, str)):
            out.append(item_error(i, address, chain, "invalid_input", "format", "address and chain are strings"))
            continue
        try:
            norm = validate(address, chain)
        except AddressError as e:
            out.append(item_error(i, address, chain, "invalid_address", e.reason, e.message))
            continue
        r = result(snap, norm, now, now_iso, policy_version)
        out.append(r)
        logged.append(r)
    return out, logged
