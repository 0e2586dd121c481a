"""Rescoring: database -> graph -> exposure -> policy -> stored scores, under the lease, recorded as a run.

The evidence view of one address (paths traced on demand) is ``explain.py``; the job that decides when to rescore
(debounce, max wait) is ``jobs.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from registry.audit.service import Actor, record
from registry.db import lease, state
from registry.db.engine import read_only, session_scope
from registry.db.types import utcnow
from registry.errors import Conflict
from registry.scoring import queries
from registry.scoring.engines.base import Exposed, SeedIds, engine_for
from registry.scoring.propagate import IntArray
from registry.scoring.settings import ScoringSettings
from registry.scoring.tables import ScoringRun
from registry.screening.policy import ACTIONS, LEVELS, ExposurePolicy, exposure_verdicts, levels_for_scores
from registry.transfers import store

log = logging.getLogger("registry.scoring")

Progress = Callable[[str, int, int], None]
"""``(stage, step, of)``: the CLI draws a progress bar from it."""

RescoreHook = Callable[[Engine, ScoringSettings], Callable[[Session, int], None]]
"""Work a feature scoring does not import does with every rescoring (typologies: behavioural indicators, registered
by ``registry.typologies.feature``). It computes before the scores are stored and returns a writer that runs in the
same transaction (with the run id), so the snapshot sees scores and red flags change together."""

HOOKS: list[RescoreHook] = []

STAGES = (
    "load transfers",
    "load listings",
    "incoming exposure",
    "outgoing exposure",
    "policy",
    "hooks",
    "store scores",
)


def policy_from(settings: ScoringSettings) -> ExposurePolicy:
    return ExposurePolicy(
        review_share=settings.policy_review_share,
        block_share=settings.policy_block_share,
        block_max_hops=settings.policy_block_max_hops,
        full_share=settings.policy_full_share,
        hop_decay=tuple(settings.policy_hop_decay),
        outgoing_weight=settings.policy_outgoing_weight,
    )


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    transfers: int
    addresses: int
    scored: int
    registry_version: int
    seconds: float
    timings: dict[str, float]
    incremental: bool = False  # the graph was extended with new transfers instead of re-read


def seed_ids(conn: Connection, listed: list[queries.ListedRow], licensed: set[str]) -> SeedIds:
    """The live listings and licensed addresses as dictionary ids (an address no transfer names has none, and no
    exposure to spread)."""
    ids = queries.ids_of(conn, {r.key for r in listed} | licensed)
    cats = tuple(sorted({r.category for r in listed}))
    cat_ix = {c: i for i, c in enumerate(cats)}
    pairs = sorted({(ids[r.key], cat_ix[r.category]) for r in listed if r.key in ids})
    nodes = np.array([p[0] for p in pairs], dtype=np.int64)
    cix = np.array([p[1] for p in pairs], dtype=np.int64)
    lic = np.array(sorted(ids[k] for k in licensed if k in ids), dtype=np.int64)
    return SeedIds(cats, nodes, cix, lic)


def score_rows(
    keys: list[tuple[str, str]],
    nodes: IntArray,
    categories: tuple[str, ...],
    exp_in: Exposed,
    exp_out: Exposed,
    settings: ScoringSettings,
) -> list[tuple[str, str, int, str, str, str]]:
    """Stored rows of the exposed addresses ``nodes`` (ascending ids, ``keys`` their ``(family, address)``): the
    policy runs vectorised over address x category arrays; only the JSON text is assembled per row."""
    if len(nodes) == 0:
        return []
    cats = categories
    s_in, h_in = _matrix(nodes, len(cats), exp_in)
    s_out, h_out = _matrix(nodes, len(cats), exp_out)
    scores, actions = exposure_verdicts(s_in, h_in, s_out, h_out, cats, policy_from(settings))
    levels = levels_for_scores(scores)
    incoming = _json_lists(cats, s_in, h_in)
    outgoing = _json_lists(cats, s_out, h_out)
    # One pass building each stored row (a list per column zipped afterwards cost a third more at 10^5 rows).
    return [
        (family, address, score, LEVELS[level], ACTIONS[action], f'{{"incoming":[{i}],"outgoing":[{o}]}}')
        for (family, address), score, level, action, i, o in zip(
            keys, scores.tolist(), levels.tolist(), actions.tolist(), incoming, outgoing, strict=True
        )
    ]


def _matrix(nodes: IntArray, k: int, exposed: Exposed) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Address x category share and hop arrays of ``nodes`` from one direction's entries."""
    share = np.zeros((len(nodes), k), dtype=np.float64)
    hops = np.zeros((len(nodes), k), dtype=np.int8)
    rows = np.searchsorted(nodes, exposed.nodes)
    share[rows, exposed.cats] = exposed.share
    hops[rows, exposed.cats] = exposed.hops
    return share, hops


def _json_lists(cats: tuple[str, ...], share: NDArray[np.float64], hops: NDArray[np.int8]) -> list[str]:
    """Per row, the JSON list body of its exposures, largest share first (then category name).

    Formatted directly: the entries are three plain fields (category names are identifiers, numbers are finite),
    and building a dict per entry for a serializer cost more than the whole propagation.
    """
    r, c = np.nonzero(hops)
    s = np.round(share[r, c], 6)
    order = np.lexsort((c, -s, r))  # categories are indexed in name order
    r, c, s = r[order], c[order], s[order]
    heads = [f'{{"category":"{name}","share":' for name in cats]  # the constant parts, formatted once
    tails = [f',"min_hops":{h}}}' for h in range(int(hops.max(initial=0)) + 1)]
    frags = [
        heads[ci] + repr(si) + tails[hi] for ci, si, hi in zip(c.tolist(), s.tolist(), hops[r, c].tolist(), strict=True)
    ]
    bounds = np.searchsorted(r, np.arange(share.shape[0] + 1)).tolist()
    return [",".join(frags[bounds[i] : bounds[i + 1]]) for i in range(share.shape[0])]


def rescore(
    engine: Engine,
    settings: ScoringSettings,
    policy_version: str,
    *,
    trigger: str = "cli",
    progress: Progress | None = None,
) -> RunSummary:
    """One full rescoring under the lease; raises ``Conflict`` if another one holds it."""
    holder = lease.holder_id()
    if not lease.acquire(engine, queries.LEASE, holder, settings.scoring_lease_seconds):
        held = lease.current_holder(engine, queries.LEASE)
        who = f" by {held[0]} (lease until {held[1]:%Y-%m-%d %H:%M:%SZ})" if held else ""
        raise Conflict(f"another rescoring is running{who}; try again when it has finished")
    with session_scope(engine) as s:
        run = ScoringRun(
            started_at=utcnow(),
            trigger=trigger,
            method=settings.scoring_method,
            max_hops=settings.scoring_max_hops,
            policy_version=policy_version,
        )
        s.add(run)
        s.flush()
        assert run.id is not None
        run_id = run.id
    try:
        return _rescore(engine, settings, run_id, progress or (lambda *_: None))
    except BaseException as e:
        with session_scope(engine) as s:
            failed = s.get(ScoringRun, run_id)
            if failed is not None:
                failed.status, failed.finished_at, failed.error = "failed", utcnow(), repr(e)[:2000]
        raise
    finally:
        lease.release(engine, queries.LEASE, holder)


def _rescore(engine: Engine, settings: ScoringSettings, run_id: int, progress: Progress) -> RunSummary:
    started = time.perf_counter()
    timings: dict[str, float] = {}
    mark = started

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 4)
        mark = now
        i = STAGES.index(name) + 1
        progress(STAGES[i] if i < len(STAGES) else "done", i, len(STAGES))

    progress(STAGES[0], 0, len(STAGES))
    now = utcnow()
    with read_only(engine).connect() as conn:
        seen = queries.counters(conn)
        unassigned = store.has_unassigned(conn)
    if unassigned:  # rows written around the store's writer (a plain INSERT): give them their ids first
        with session_scope(engine) as s:
            store.assign_missing_ids(s.connection())
    scorer = engine_for(settings)
    data = scorer.load(engine, settings)
    try:
        step("load transfers")
        with read_only(engine).connect() as conn:
            listed = queries.live_listings(conn, now)
            seeds = seed_ids(conn, listed, queries.licensed_keys(conn))
        step("load listings")
        h, method = settings.scoring_max_hops, settings.scoring_method
        exp_in = scorer.exposure(data, seeds, "incoming", settings)
        step("incoming exposure")
        exp_out = scorer.exposure(data, seeds, "outgoing", settings)
        step("outgoing exposure")
    finally:
        scorer.release(data)
    nodes = np.union1d(exp_in.nodes, exp_out.nodes)
    with read_only(engine).connect() as conn:
        keys = queries.keys_of(conn, nodes)
    rows = score_rows(keys, nodes, seeds.categories, exp_in, exp_out, settings)
    step("policy")
    writers = [hook(engine, settings) for hook in HOOKS]
    step("hooks")  # timed apart: work other features do with every rescoring (typology indicators)
    expiries = [r.valid_until for r in listed if r.valid_until is not None]
    with session_scope(engine) as s:
        for write in writers:
            write(s, run_id)
        version = queries.store_scores(s, run_id, rows)
        run = s.get(ScoringRun, run_id)
        assert run is not None
        run.status, run.finished_at = "done", utcnow()
        run.transfers, run.addresses, run.scored = data.transfers, data.addresses, len(rows)
        run.transfers_counter = seen.get(state.TRANSFERS, 0)
        run.registry_counter_in = seen.get(state.REGISTRY, 0)
        run.registry_counter_out = version
        run.next_expiry = min(expiries) if expiries else None
        run.seconds = round(time.perf_counter() - started, 3)
        s.add(run)
        record(
            s,
            Actor("system", "rescore", "registry", "system"),
            action="scores.rescore",
            entity_type="scoring_run",
            entity_id=str(run_id),
            after={
                "method": method,
                "max_hops": h,
                "engine": scorer.name,
                "addresses": data.addresses,
                "scored": len(rows),
            },
        )
    step("store scores")
    total = round(time.perf_counter() - started, 3)
    log.info("rescored", extra={"run_id": run_id, "scored": len(rows), "seconds": total})
    return RunSummary(run_id, data.transfers, data.addresses, len(rows), version, total, timings, data.incremental)


def is_current(run: ScoringRun | None, now_counters: dict[str, int], now: datetime, policy_version: str) -> bool:
    """True when the stored scores reflect every committed transfer, listing and the current policy."""
    if run is None:
        return not (now_counters.get(state.TRANSFERS, 0) or now_counters.get(state.REGISTRY, 0))
    if run.policy_version != policy_version:
        return False
    if run.next_expiry is not None and now >= run.next_expiry:
        return False
    # Our own bump moved the registry counter by exactly one; anything else means a listing changed, including
    # during the run itself.
    return (
        now_counters.get(state.TRANSFERS, 0) == run.transfers_counter
        and now_counters.get(state.REGISTRY, 0) == run.registry_counter_out
        and run.registry_counter_out == run.registry_counter_in + 1
    )
