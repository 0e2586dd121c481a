"""The screening snapshot: everything a screening needs, in memory, per worker.

Screening must cost no database query and no graph work: the snapshot is rebuilt when the ``registry`` counter
moves (checked every ``REGISTRY_SNAPSHOT_POLL_SECONDS``) and swapped in with one reference assignment, so a
request sees either the old or the new snapshot, never a mix.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.cases.tables import ListingStatus
from registry.db import state
from registry.db.engine import control_engine, read_only
from registry.db.poller import Every, Poller
from registry.db.types import as_utc_datetime
from registry.screening.policy import behaviour_verdict, direct_verdict

log = logging.getLogger("registry.snapshot")


OFFICIAL_SOURCES = frozenset({"ofac"})
"""Sources whose hits carry a ``designation`` (null when the list named nobody); the agency's own have none."""


@dataclass(frozen=True, slots=True)
class Designation:
    """The official designation behind a hit: the SDN entry's name, programmes, date, OFAC's entry id."""

    name: str | None
    programs: tuple[str, ...]
    designated_on: str | None  # YYYY-MM-DD, OFAC's date (``listed_since`` is ours)
    sdn_id: str | None

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "programs": list(self.programs),
            "designated_on": self.designated_on,
            "sdn_id": self.sdn_id,
        }


@dataclass(frozen=True, slots=True)
class DirectHit:
    category: str
    source: str
    confidence: int
    listed_since: str
    valid_until: float | None  # epoch seconds; the hit stops counting after it
    designation: Designation | None = None

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "category": self.category,
            "source": self.source,
            "confidence": self.confidence,
            "listed_since": self.listed_since,
        }
        if self.source in OFFICIAL_SOURCES:
            out["designation"] = self.designation.public() if self.designation is not None else None
        return out


def _public_direct(hits: tuple[DirectHit, ...]) -> tuple[dict[str, Any], ...]:
    """The bank's ``direct`` items. An official address on several of the list's per-asset files (an Ethereum
    address on OFAC's ETH and USDT lists) is one listing per file, but one item for the bank per designation,
    listed since the earliest of them."""
    out: dict[bytes | int, dict[str, Any]] = {}
    for i, h in enumerate(hits):
        item = h.public()
        if h.source not in OFFICIAL_SOURCES:
            out[i] = item
            continue
        key = orjson.dumps({k: v for k, v in item.items() if k != "listed_since"})
        if key not in out or item["listed_since"] < out[key]["listed_since"]:
            out[key] = item
    return tuple(out.values())


@dataclass(frozen=True, slots=True)
class Verdict:
    """Precomputed part of a result for one address: what the bank sees besides the request echo."""

    risk_score: int
    risk_level: str
    action: str
    direct: tuple[dict[str, Any], ...]
    exposure: dict[str, list[dict[str, Any]]]
    hits: tuple[DirectHit, ...] = ()
    expires_at: float | None = None  # the earliest valid_until among hits: recompute after it
    red_flags: tuple[dict[str, Any], ...] = ()  # behavioural typologies matched (registry.typologies)


CLEAN = Verdict(0, "low", "allow", (), {"incoming": [], "outgoing": []})

ExposureLoader = Callable[[Engine, dict[str, Verdict]], dict[str, Verdict]]
"""Hook for the scoring feature: takes the direct verdicts, returns the verdicts of every scored address."""


def render_fragment(v: Verdict) -> bytes:
    """The middle of a result, ``"risk_score":…,"exposure":{…}``, rendered once per verdict."""
    body = orjson.dumps(
        {
            "risk_score": v.risk_score,
            "risk_level": v.risk_level,
            "action": v.action,
            "direct": list(v.direct),
            "exposure": v.exposure,
            "red_flags": list(v.red_flags),
        }
    )
    return body[1:-1]


CLEAN_FRAGMENT = (render_fragment(CLEAN), (CLEAN.risk_score, CLEAN.risk_level, CLEAN.action))


@dataclass
class Snapshot:
    registry_version: int
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # key: "family:address"
    loaded_at: float = 0.0
    _fragments: dict[str, tuple[bytes, tuple[int, str, str]]] = field(default_factory=dict, repr=False)

    @property
    def version_str(self) -> str:
        return str(self.registry_version)

    def fragment(self, key: str, now: float) -> tuple[bytes, tuple[int, str, str]]:
        """Rendered verdict of ``key``: cached for verdicts that cannot expire, rendered afresh otherwise."""
        cached = self._fragments.get(key)
        if cached is not None:
            return cached
        v = self.verdicts.get(key)
        if v is None:
            return CLEAN_FRAGMENT
        if v.expires_at is not None:
            v = self.verdict(key, now)
            return (render_fragment(v), (v.risk_score, v.risk_level, v.action))
        out = (render_fragment(v), (v.risk_score, v.risk_level, v.action))
        self._fragments[key] = out
        return out

    def verdict(self, key: str, now: float) -> Verdict:
        v = self.verdicts.get(key)
        if v is None:
            return CLEAN
        if v.expires_at is not None and now >= v.expires_at:
            return _without_expired(v, now)
        return v


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verdict_from_hits(hits: tuple[DirectHit, ...], exposure: dict[str, list[dict[str, Any]]] | None = None) -> Verdict:
    if not hits:
        return CLEAN if exposure is None else Verdict(0, "low", "allow", (), exposure)
    score, level, action = direct_verdict([h.category for h in hits])
    expiries = [h.valid_until for h in hits if h.valid_until is not None]
    return Verdict(
        score,
        level,
        action,
        _public_direct(hits),
        exposure or {"incoming": [], "outgoing": []},
        hits,
        min(expiries) if expiries else None,
    )


def _without_expired(v: Verdict, now: float) -> Verdict:
    live = tuple(h for h in v.hits if h.valid_until is None or h.valid_until > now)
    out = verdict_from_hits(live, v.exposure)
    return with_red_flags(out, v.red_flags) if v.red_flags else out


def with_red_flags(v: Verdict, red_flags: tuple[dict[str, Any], ...]) -> Verdict:
    """``v`` carrying behavioural red flags, raised to what the policy gives behaviour (review, never block)."""
    score, level, action = behaviour_verdict(v.risk_score, v.risk_level, v.action)
    return replace(v, risk_score=score, risk_level=level, action=action, red_flags=red_flags)


def load_direct(engine: Engine) -> tuple[int, dict[str, Verdict]]:
    """All live listings in one query, grouped by address (family-wide: an EVM listing covers every network)."""
    now = datetime.now(UTC)
    with read_only(engine).connect() as conn:
        version = int(
            conn.execute(text("SELECT value FROM registry_state WHERE name = :n"), {"n": state.REGISTRY}).scalar() or 0
        )
        rows = conn.execute(
            text(
                "SELECT family, address, category, source, confidence, listed_since, valid_until, "
                "designation_name, designation_programs, designated_on, designation_ref "
                "FROM listing WHERE status = :active"
            ),
            {"active": ListingStatus.active.value},
        ).all()
    grouped: dict[str, list[DirectHit]] = {}
    for family, address, cat, source, confidence, since, until, *designation in rows:
        since_dt = as_utc_datetime(since) or now
        until_dt = as_utc_datetime(until)
        if until_dt is not None and until_dt <= now:
            continue
        grouped.setdefault(f"{family}:{address}", []).append(
            DirectHit(
                cat,
                source,
                int(confidence),
                _iso(since_dt),
                until_dt.timestamp() if until_dt else None,
                _designation(*designation),
            )
        )
    verdicts = {k: verdict_from_hits(tuple(sorted(h, key=lambda x: x.category))) for k, h in grouped.items()}
    return version, verdicts


def _designation(name: str | None, programs: str | None, on: Any, ref: str | None) -> Designation | None:
    if name is None and programs is None and on is None and ref is None:
        return None
    day = on.isoformat() if hasattr(on, "isoformat") else (str(on)[:10] if on is not None else None)
    return Designation(name, tuple(orjson.loads(programs)) if programs else (), day, ref)


class SnapshotHolder(Poller):
    """Holds the current snapshot and refreshes it from a background thread when the registry version moves.

    The version check runs on the control engine (``registry.db.engine.control_engine``), not the request pool: an
    exhausted pool or a locked table makes the check fail fast and retry, never wait. ``on_poll`` (the key cache
    refresh) runs on a thread of its own at the same interval, so a slow snapshot load cannot delay a revocation.
    """

    exposure_loader: ExposureLoader | None = None
    red_flag_loader: ExposureLoader | None = None  # the typologies feature's: behavioural red flags, after exposure
    thread_name = "snapshot-poller"

    def __init__(self, engine: Engine, poll_seconds: float, on_poll: Callable[[], None] | None = None) -> None:
        super().__init__(poll_seconds)
        self._side = Every(poll_seconds, on_poll, "key-poller") if on_poll is not None else None
        self._engine = engine
        self.current = Snapshot(registry_version=-1)
        self._lock = threading.Lock()
        self.loaded = threading.Event()

    def refresh(self, force: bool = False) -> bool:
        with self._lock:
            with read_only(control_engine(self._engine)).connect() as conn:
                version = int(
                    conn.execute(
                        text("SELECT value FROM registry_state WHERE name = :n"), {"n": state.REGISTRY}
                    ).scalar()
                    or 0
                )
            if version == self.current.registry_version and not force:
                return False
            started = time.perf_counter()
            version, verdicts = load_direct(self._engine)
            if self.exposure_loader is not None:
                verdicts = self.exposure_loader(self._engine, verdicts)
            if self.red_flag_loader is not None:
                verdicts = self.red_flag_loader(self._engine, verdicts)
            self.current = Snapshot(version, verdicts, time.time())
            self.loaded.set()
            log.info(
                "snapshot loaded",
                extra={
                    "registry_version": version,
                    "addresses": len(verdicts),
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            return True

    def start(self) -> None:
        super().start()
        if self._side is not None:
            self._side.start()

    def stop(self) -> None:
        if self._side is not None:
            self._side.stop()
        super().stop()

    def nudge(self) -> None:
        if self._side is not None:
            self._side.nudge()
        super().nudge()
