"""What changed between two screening snapshots, in pure functions (no database, no clock).

A snapshot maps ``family:address`` to a verdict for every address whose result is not the clean one. Alerts need
only four things of a verdict — score, level, action and the direct listings as (category, source) — so each
verdict is reduced to that tuple, and equal tuples are interned: the few thousand distinct results of a snapshot
of hundreds of thousands of addresses are a few thousand objects, and most comparisons are one identity test.

The diff walks the snapshot (hundreds of thousands of keys), never the watchlist (millions of rows): the changed
keys are joined with the watchlist in SQL (``registry.monitoring.queries.insert_alerts``), so watching ten times
more addresses costs an index lookup per changed address, not a screening per watched one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

LEVELS = ("low", "medium", "high", "severe")
ACTIONS = ("allow", "review", "block")
"""The result contract's levels and actions, in rising order (README: fields added, never renamed)."""

Sig = tuple[int, str, str, str]
"""(risk_score, risk_level, action, direct) with direct as the JSON text ``[{"category", "source"}, …]``, sorted."""

CLEAN: Sig = (0, "low", "allow", "[]")
"""The result of an address the snapshot does not hold."""


class VerdictLike(Protocol):
    """What this module reads of a screening verdict (``registry.screening.snapshot.Verdict``)."""

    @property
    def risk_score(self) -> int: ...
    @property
    def risk_level(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def direct(self) -> tuple[dict[str, Any], ...]: ...


def direct_text(direct: Iterable[Mapping[str, Any]]) -> str:
    """The direct listings as compared and sent: one item per (category, source), sorted."""
    pairs = sorted({(str(d["category"]), str(d["source"])) for d in direct})
    return orjson.dumps([{"category": c, "source": s} for c, s in pairs]).decode() if pairs else "[]"


class Interner:
    """One object per distinct result, shared by the snapshots one alert loop compares (identity tests); and the
    JSON text of each distinct set of direct listings, computed once (most listed addresses have one listing)."""

    def __init__(self) -> None:
        self._table: dict[Sig, Sig] = {CLEAN: CLEAN}
        self._direct: dict[tuple[tuple[str, str], ...], str] = {}

    def direct(self, direct: tuple[dict[str, Any], ...]) -> str:
        key = tuple((d["category"], d["source"]) for d in direct)
        text = self._direct.get(key)
        if text is None:
            text = self._direct[key] = direct_text(direct)
        return text

    def __call__(self, sig: Sig) -> Sig:
        found = self._table.get(sig)
        if found is None:
            found = self._table[sig] = sig
        return found

    def __len__(self) -> int:
        return len(self._table)


def signatures(verdicts: Mapping[str, VerdictLike], intern: Interner) -> dict[str, Sig]:
    """Every non-clean result of a snapshot, reduced and interned. An address whose verdict is the clean one (a
    scored address with nothing to show) is left out, as an address the snapshot does not hold."""
    out: dict[str, Sig] = {}
    for key, v in verdicts.items():
        d = v.direct
        sig = intern((v.risk_score, v.risk_level, v.action, intern.direct(d) if d else "[]"))
        if sig is not CLEAN:
            out[key] = sig
    return out


@dataclass(frozen=True, slots=True)
class Change:
    key: str  # family:address
    prev: Sig
    cur: Sig

    @property
    def alerting(self) -> bool:
        """Level, action or direct listings changed; a score that moves within its level does not alert (every
        rescoring nudges thousands of scores), but it is in the changes feed."""
        return self.prev[1:] != self.cur[1:]

    @property
    def family_address(self) -> tuple[str, str]:
        family, _, address = self.key.partition(":")  # a CashAddr keeps its own "bitcoincash:" prefix
        return family, address


def diff(old: Mapping[str, Sig], new: Mapping[str, Sig]) -> list[Change]:
    """Every key whose result differs between ``old`` and ``new`` (missing = clean), sorted by key so that a
    version's alerts come out in the same order however the results were read. The comparison is a set difference
    of the two mappings' items, done in C: hundreds of thousands of keys, a few changed."""
    get = old.get
    changes = [Change(key, get(key, CLEAN), sig) for key, sig in new.items() - old.items()]
    changes.extend(Change(key, old[key], CLEAN) for key in old.keys() - new.keys())
    changes.sort(key=lambda c: c.key)
    return changes


def result(sig: Sig) -> dict[str, Any]:
    """A reduced result as a bank reads it in an alert."""
    score, level, action, direct = sig
    return {"risk_score": score, "risk_level": level, "action": action, "direct": orjson.loads(direct)}


def reasons(prev: Sig, cur: Sig) -> list[str]:
    """Why an alert was raised, in stable words a bank's code can switch on:
    ``listed`` (a direct listing appeared), ``listing_removed`` (delisted or expired), ``level_raised``,
    ``level_lowered``, ``action_changed``."""
    out: list[str] = []
    before = {(d["category"], d["source"]) for d in orjson.loads(prev[3])}
    after = {(d["category"], d["source"]) for d in orjson.loads(cur[3])}
    if after - before:
        out.append("listed")
    if before - after:
        out.append("listing_removed")
    if _rank(LEVELS, cur[1]) > _rank(LEVELS, prev[1]):
        out.append("level_raised")
    elif _rank(LEVELS, cur[1]) < _rank(LEVELS, prev[1]):
        out.append("level_lowered")
    if cur[2] != prev[2]:
        out.append("action_changed")
    return out


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value) if value in order else -1
