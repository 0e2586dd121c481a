"""Screening: validate, look up in the snapshot, write the result. No database, no graph, no pydantic.

The hot path writes JSON bytes itself from pieces prepared once: per address the ``{"address":…,"chain":…``
head (memoised with the validation, since banks screen the same customers again and again), per verdict the
score/level/action/direct/exposure fragment (cached in the snapshot), per request the version/timestamp tail.
Serialising 10,000 result dicts with orjson cost more than everything else in a batch together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson

from chains.addresses import AddressError, normalize, normalize_many
from registry.http import errors as http_errors
from registry.screening.policy import ExposurePolicy, explain
from registry.screening.snapshot import Snapshot

MEMO_LIMIT = 500_000


class Checked:
    """A validated address, ready to answer: the snapshot key and the JSON head of its result."""

    __slots__ = ("address", "chain", "head", "key")

    def __init__(self, chain: str, family: str, address: str) -> None:
        self.chain = chain
        self.address = address
        self.key = f"{family}:{address}"
        part = _CHAIN_PART.get(chain)
        if part is None:
            part = _CHAIN_PART[chain] = b',"chain":' + orjson.dumps(chain) + b","
        self.head = b'{"address":' + orjson.dumps(address) + part


_CHAIN_PART: dict[str, bytes] = {}
"""``,"chain":"…",`` per chain: a batch of first sights builds a ``Checked`` per address."""


_memo: dict[str, Checked | AddressError] = {}


def validate(address: str, chain: str | None) -> Checked:
    memo_key = address if chain is None else f"{chain}\x00{address}"
    hit = _memo.get(memo_key)
    if hit is None:
        try:
            n = normalize(address, chain)
            hit = Checked(n.chain, n.family, n.address)
        except AddressError as e:
            hit = e
        if len(_memo) >= MEMO_LIMIT:
            _memo.clear()
        _memo[memo_key] = hit
    if isinstance(hit, AddressError):
        raise hit
    return hit


def first_sight(items: list[Any], start: int = 0) -> None:
    """Validate a batch's bare addresses not seen before (from ``start`` on) all at once (``normalize_many``:
    compiled code per form) and memoise the valid ones, so the batch loop finds them as it finds repeat customers.
    Whatever is left (other forms, invalid addresses) goes through ``validate`` one by one, which names the
    reason. The batch loop calls it at its first unseen address: a batch of repeat customers never does."""
    memo = _memo
    fresh = [item for item in islice(items, start, None) if type(item) is str and item not in memo]
    if not fresh:
        return
    if len(memo) + len(fresh) > MEMO_LIMIT:
        memo.clear()
    for address, found in zip(fresh, normalize_many(fresh), strict=True):
        if found is not None:
            chain, canonical = found
            memo[address] = Checked(chain, chain, canonical)  # evm, tron or btc: each its own family


_second: list[Any] = [-1, ""]


def _stamp(now: float) -> str:
    """ISO-8601 UTC with microseconds; the part up to the second is formatted once per second (strftime per
    request showed up in the profile)."""
    sec = int(now)
    if _second[0] != sec:
        _second[0], _second[1] = sec, datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_second[1]}.{int((now - sec) * 1_000_000):06d}Z"


def tail(snap: Snapshot, policy_version: str, now: float) -> bytes:
    stamp = _stamp(now)
    return (
        b',"policy_version":'
        + orjson.dumps(policy_version)
        + b',"registry_version":'
        + orjson.dumps(snap.version_str)
        + b',"screened_at":"'
        + stamp.encode()
        + b'"}'
    )


LogRow = tuple[str, str, int, str, str]
"""(chain, address, score, level, action) — the screening log row without the per-request constants."""


Fragment = Callable[[str, float], tuple[bytes, tuple[int, str, str]]]
"""``Snapshot.fragment`` or ``explained``: the rendered middle of a result and its (score, level, action)."""


def explained(snap: Snapshot, policy: ExposurePolicy) -> Fragment:
    """``snap.fragment`` with ``,"explanation":{…}`` appended (``?explain=true``). A separate function chosen once
    per request, so a screening that asks for no explanation runs exactly the code it ran before."""

    rendered: dict[int, bytes] = {}  # per verdict object: a batch's clean addresses share one verdict

    def fragment(key: str, now: float) -> tuple[bytes, tuple[int, str, str]]:
        frag, verdict = snap.fragment(key, now)
        v = snap.verdict(key, now)
        why = rendered.get(id(v))
        if why is None:
            why = rendered[id(v)] = b',"explanation":' + orjson.dumps(
                explain(v.risk_score, v.risk_level, v.action, v.direct, v.exposure, policy, v.red_flags)
            )
        return frag + why, verdict

    return fragment


def screen_one(
    snap: Snapshot, c: Checked, now: float, end: bytes, fragment: Fragment | None = None
) -> tuple[bytes, LogRow]:
    frag, (score, level, action) = snap.fragment(c.key, now) if fragment is None else fragment(c.key, now)
    return c.head + frag + end, (c.chain, c.address, score, level, action)


def item_error(index: int, address: Any, chain: Any, code: str, reason: str, message: str) -> bytes:
    """A failed item, in the shape of every error (``registry.http.errors.item_error``)."""
    return http_errors.item_error(index, address, chain, code, message, {"reason": reason})


def screen_batch(
    snap: Snapshot, items: list[Any], policy_version: str, explain_with: Fragment | None = None
) -> tuple[bytes, int, list[LogRow]]:
    """The ``results`` array as JSON bytes (input order, per-item errors in place), its length, the log rows."""
    now = time.time()
    end = tail(snap, policy_version, now) + b","
    fragment = snap.fragment if explain_with is None else explain_with
    parts: list[bytes] = []
    logged: list[LogRow] = []
    memo = _memo
    sighted = False
    address: Any
    chain: Any
    for i, item in enumerate(items):
        if type(item) is str:
            c = memo.get(item)
            if c is None and not sighted:  # the batch's first unseen address: validate all of them at once
                sighted = True
                first_sight(items, i)
                c = memo.get(item)
            if type(c) is Checked:  # the common case: a bare address seen before
                frag, verdict = fragment(c.key, now)
                parts += (c.head, frag, end)
                logged.append((c.chain, c.address, *verdict))
                continue
            address, chain = item, None
        elif isinstance(item, dict):
            address, chain = item.get("address"), item.get("chain")
            extra = set(item) - {"address", "chain"}
            if extra:
                parts += (
                    item_error(
                        i,
                        address,
                        chain,
                        "invalid_input",
                        "fields",
                        f"unknown field(s) {', '.join(sorted(map(str, extra)))}",
                    ),
                    b",",
                )
                continue
        else:
            parts += (
                item_error(
                    i,
                    item,
                    None,
                    "invalid_input",
                    "format",
                    "each item is an address string or an {address, chain} object",
                ),
                b",",
            )
            continue
        if not isinstance(address, str) or (chain is not None and not isinstance(chain, str)):
            parts += (item_error(i, address, chain, "invalid_input", "format", "address and chain are strings"), b",")
            continue
        try:
            c = validate(address, chain)
        except AddressError as e:
            parts += (item_error(i, address, chain, "invalid_address", e.reason, e.message), b",")
            continue
        frag, verdict = fragment(c.key, now)
        parts += (c.head, frag, end)
        logged.append((c.chain, c.address, *verdict))
    joined = b"".join(parts)
    return b"[" + joined[:-1] + b"]" if joined else b"[]", len(items), logged
