"""Refreshing the register: fetch it, reject what looks wrong, apply the rest, and log every attempt.

A fetch is applied only when it looks like the register: not empty, not mostly unreadable rows or unrecognised
statuses, and not losing more than half the firms seen before. Otherwise it is recorded as rejected and the last
good copy stays in force. Every attempt is a ``register_fetch`` row, committed before the fetch starts, so an
attempt that dies half-way still shows up.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from blocklist.register import queries
from blocklist.register.apply import SYSTEM, apply_fetch
from blocklist.register.records import FetchResult
from blocklist.register.seed import ensure_seed
from blocklist.register.sources import LicenceRegister
from blocklist.tables import RegisterFetch
from registry.audit.service import Actor
from registry.db.engine import session_scope
from registry.db.types import utcnow
from registry.errors import RegistryError

log = logging.getLogger("blocklist.register")


@dataclass
class RefreshOutcome:
    fetch_id: int
    outcome: str  # applied | unchanged | rejected | failed
    firms: int
    changed: int
    message: str


def validate_fetch(
    result: FetchResult,
    known_from_register: int,
    min_keep_ratio: float,
    licence_pattern: re.Pattern[str] | None = None,
) -> str | None:
    """Why the fetch must not be applied, or None."""
    if result.rows_seen == 0 or not result.firms:
        return "the register returned no firms (empty table)"
    if result.rows_skipped * 2 > result.rows_seen:
        return (
            f"{result.rows_skipped} of {result.rows_seen} rows could not be read (missing names or licence "
            "numbers): the layout may have changed"
        )
    unknown = sum(1 for f in result.firms if f.status == "unknown")
    if unknown * 2 > len(result.firms):
        return (
            f"{unknown} of {len(result.firms)} licence statuses are not recognised: the register's wording or "
            "layout may have changed"
        )
    if licence_pattern is not None:
        odd = [f.licence_number for f in result.firms if not licence_pattern.fullmatch(f.licence_number or "")]
        if len(odd) * 2 > len(result.firms):
            return (
                f"{len(odd)} of {len(result.firms)} licence numbers do not look like licence numbers "
                f"(e.g. {odd[0]!r}): the columns may have moved"
            )
    keys = {f.firm_key for f in result.firms}
    if known_from_register and len(keys) < known_from_register * min_keep_ratio:
        return (
            f"the register lists {len(keys)} firms where {known_from_register} were listed before: "
            f"a loss of more than {int((1 - min_keep_ratio) * 100)} % is not applied"
        )
    return None


def refresh_register(
    engine: Engine, source: LicenceRegister, min_keep_ratio: float = 0.5, actor: Actor = SYSTEM
) -> RefreshOutcome:
    """One refresh from ``source``; ``actor`` is the job (or the operator at the command line) it is audited under."""
    ensure_seed(engine)
    with session_scope(engine) as s:
        fetch = RegisterFetch(regulator=source.regulator, started_at=utcnow())
        s.add(fetch)
        s.flush()
        fetch_id = fetch.id
    assert fetch_id is not None
    try:
        result = source.fetch()
    except RegistryError as e:
        return _finish(engine, fetch_id, "failed", 0, 0, e.message)
    except Exception as e:  # a parser bug must be reported like an outage, never applied
        log.exception("register fetch crashed")
        return _finish(engine, fetch_id, "failed", 0, 0, f"unexpected {type(e).__name__} while reading the register")
    with session_scope(engine) as s:
        known = queries.count_register_firms(s, source.regulator)
    problem = validate_fetch(result, known, min_keep_ratio, source.licence_pattern)
    if problem:
        log.warning("register fetch rejected: %s", problem)
        return _finish(engine, fetch_id, "rejected", len(result.firms), 0, problem)
    with session_scope(engine) as s:
        changed = apply_fetch(s, source.regulator, result.firms, fetch_id, actor)
        listed = {f.firm_key for f in result.firms}
        missing = [k for k in queries.register_firm_keys(s, source.regulator) if k not in listed]
        # A firm that drops out of the listing keeps its last known status: pages come and go, a licence
        # decision shows up as a status. It is reported so an operator can look.
        notes = [f"{len(missing)} firm(s) known from the register are not listed now: {', '.join(missing[:10])}"]
        message = "; ".join((notes if missing else []) + result.warnings)[:2000]
        outcome = "applied" if changed else "unchanged"
        _record_outcome(s, fetch_id, outcome, len(result.firms), changed, message)
    return RefreshOutcome(fetch_id, outcome, len(result.firms), changed, message)


def _finish(engine: Engine, fetch_id: int, outcome: str, firms: int, changed: int, message: str) -> RefreshOutcome:
    with session_scope(engine) as s:
        _record_outcome(s, fetch_id, outcome, firms, changed, message[:2000])
    return RefreshOutcome(fetch_id, outcome, firms, changed, message)


def _record_outcome(session: Session, fetch_id: int, outcome: str, firms: int, changed: int, message: str) -> None:
    f = queries.fetch(session, fetch_id)
    assert f is not None
    f.finished_at, f.outcome, f.firms, f.changed, f.message = utcnow(), outcome, firms, changed, message
    session.add(f)
