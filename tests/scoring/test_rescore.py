"""Rescoring against real databases: load, propagate, store, serve through the snapshot."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.db import state
from registry.db.engine import read_only, session_scope
from registry.db.lease import acquire, current_holder, release
from registry.errors import Conflict
from registry.scoring import queries
from registry.scoring.jobs import Debounce, jobs, make_job
from registry.scoring.rescore import RunSummary, rescore
from registry.scoring.settings import AssetPrice, ScoringSettings
from registry.scoring.snapshot import load_exposure
from registry.screening.snapshot import SnapshotHolder, Verdict
from registry.settings import Settings
from tests.scoring.factories import (
    add_licensed,
    add_listing,
    add_transfers,
    addr,
    set_listing_status,
)

L, A, B, C, U = addr(1), addr(2), addr(3), addr(4), addr(5)


def snapshot(engine: Engine) -> dict[str, Verdict]:
    holder = SnapshotHolder(engine, 60)
    holder.exposure_loader = load_exposure
    holder.refresh(force=True)
    return holder.current.verdicts


def incoming(v: dict[str, Verdict], a: str) -> list[dict[str, Any]]:
    verdict = v.get(f"evm:{a}")
    return verdict.exposure["incoming"] if verdict else []


def test_rescore_serves_exposure_of_unlisted_addresses(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1), (A, B, 1), (U, B, 3), (B, C, 2)])
    summary = rescore(engine, scoring, "t1")
    assert (summary.transfers, summary.addresses, summary.scored) == (4, 5, 3)
    v = snapshot(engine)
    assert incoming(v, A) == [{"category": "fraud", "share": 1.0, "min_hops": 1}]
    assert incoming(v, B) == [{"category": "fraud", "share": 0.25, "min_hops": 2}]
    assert incoming(v, C) == [{"category": "fraud", "share": 0.25, "min_hops": 3}]
    assert f"evm:{U}" not in v
    a = v[f"evm:{A}"]
    assert (a.risk_score, a.risk_level, a.action) == (80, "high", "review")
    assert v[f"evm:{B}"].action == "review" and v[f"evm:{B}"].risk_score < a.risk_score
    # The listed address keeps its direct verdict.
    assert v[f"evm:{L}"].direct and v[f"evm:{L}"].risk_score == 80


def test_rescore_bumps_registry_and_records_run(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "sanctions")
    add_transfers(engine, [(L, A, 5)])
    with engine.connect() as c:
        before = queries.counters(c)[state.REGISTRY]
    summary = rescore(engine, scoring, "t1")
    with session_scope(engine) as s:
        run = queries.last_run(s)
        assert run is not None and run.status == "done" and run.id == summary.run_id
        assert run.registry_counter_in == before and run.registry_counter_out == before + 1
    assert current_holder(engine, queries.LEASE) is None
    v = snapshot(engine)
    assert v[f"evm:{A}"].action == "block" and v[f"evm:{A}"].risk_score == 100


def test_sanctions_exposure_two_hops_reviews_not_blocks(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "sanctions")
    add_transfers(engine, [(L, A, 5), (A, B, 5)])
    rescore(engine, scoring, "t1")
    v = snapshot(engine)
    b = v[f"evm:{B}"]
    assert b.action == "review" and b.risk_score == 80 and b.risk_level == "high"


def test_delisting_removes_exposure_after_rescore(engine: Engine, scoring: ScoringSettings) -> None:
    lid = add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1), (A, B, 1)])
    rescore(engine, scoring, "t1")
    assert incoming(snapshot(engine), B)
    set_listing_status(engine, lid, "delisted")
    rescore(engine, scoring, "t1")
    v = snapshot(engine)
    assert f"evm:{A}" not in v and f"evm:{B}" not in v and f"evm:{L}" not in v


def test_expired_listing_exposure_disappears(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud", valid_until=datetime.now(UTC) - timedelta(seconds=1))
    add_listing(engine, U, "mixer", valid_until=datetime.now(UTC) + timedelta(days=30))
    add_transfers(engine, [(L, A, 1), (U, A, 1)])
    rescore(engine, scoring, "t1")
    assert incoming(snapshot(engine), A) == [{"category": "mixer", "share": 0.5, "min_hops": 1}]
    with session_scope(engine) as s:
        run = queries.last_run(s)
        assert run is not None and run.next_expiry is not None
        assert run.next_expiry > datetime.now(UTC) + timedelta(days=29)


def test_licensed_exchange_stops_taint(engine: Engine, scoring: ScoringSettings) -> None:
    ex = addr(77)
    add_listing(engine, L, "fraud")
    add_licensed(engine, ex)
    add_transfers(engine, [(L, ex, 1), (U, ex, 9), (ex, A, 5), (A, B, 5)])
    rescore(engine, scoring, "t1")
    v = snapshot(engine)
    assert incoming(v, ex) == [{"category": "fraud", "share": 0.1, "min_hops": 1}]
    assert f"evm:{A}" not in v and f"evm:{B}" not in v


def test_dust_and_zero_value_transfers_are_ignored(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud")
    # 0.0002 ETH (0.6 at the default price) is below the 1.0 dust threshold; a zero-value transfer is
    # address poisoning.
    add_transfers(engine, [(L, A, 0.0002), (U, A, 1), (L, B, 0), (U, B, 1)])
    rescore(engine, scoring, "t1")
    v = snapshot(engine)
    assert f"evm:{A}" not in v and f"evm:{B}" not in v
    rescore(engine, scoring.model_copy(update={"scoring_dust_value": 0.0}), "t1")
    assert incoming(snapshot(engine), A)[0]["share"] == pytest.approx(0.0002, rel=1e-2)
    assert f"evm:{B}" not in snapshot(engine)


def test_assets_are_made_comparable_by_price(engine: Engine, scoring: ScoringSettings) -> None:
    usdt = "0xdac17f958d2ee523a2206206994597c13d831ec7"
    spam = "0x" + "ab" * 20
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1)])  # 1 ETH = 3000 in the default table
    add_transfers(engine, [(U, A, 1000)], asset=usdt, unit=10**6)  # 1000 USDT = 1000
    add_transfers(engine, [(addr(9), A, 10**4)], asset=spam)  # unpriced token: ignored
    rescore(engine, scoring, "t1")
    assert incoming(snapshot(engine), A)[0]["share"] == pytest.approx(0.75)
    priced = dict(scoring.scoring_assets)
    priced["eth:" + usdt.upper().replace("0X", "0x")] = AssetPrice(decimals=6, price=3.0)
    rescore(engine, scoring.model_copy(update={"scoring_assets": priced}), "t1")
    assert incoming(snapshot(engine), A)[0]["share"] == pytest.approx(0.5)
    # Pricing unknown tokens (1 per whole token, 18 decimals) lets the spam token in: 10^4 against 6000.
    rescore(engine, scoring.model_copy(update={"scoring_assets": priced, "scoring_unknown_asset_price": 1.0}), "t1")
    assert incoming(snapshot(engine), A)[0]["share"] == pytest.approx(3000 / (3000 + 3000 + 10**4))


def test_evm_networks_share_one_address_space(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud", chain="eth")
    add_transfers(engine, [(L, A, 1)], network="eth")
    add_transfers(engine, [(A, B, 1)], network="bsc")
    rescore(engine, scoring, "t1")
    assert incoming(snapshot(engine), B) == [{"category": "fraud", "share": 1.0, "min_hops": 2}]


def test_only_one_rescoring_at_a_time(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1)])
    assert acquire(engine, queries.LEASE, "someone-else", 600)
    with pytest.raises(Conflict, match="someone-else"):
        rescore(engine, scoring, "t1")
    release(engine, queries.LEASE, "someone-else")
    assert rescore(engine, scoring, "t1").scored == 1


def test_expired_lease_is_taken_over(engine: Engine, scoring: ScoringSettings) -> None:
    assert acquire(engine, queries.LEASE, "dead-process", 0.001)
    threading.Event().wait(0.05)
    assert rescore(engine, scoring, "t1").scored == 0


def test_concurrent_rescorings_one_wins_the_others_are_refused_and_scores_are_stored_once(
    engine: Engine, scoring: ScoringSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three rescorings at once: exactly one runs, two get ``Conflict`` while it holds the lease, one run is
    recorded and its scores are stored once.

    The winner is held inside ``store_scores`` until both others have been refused (or 5 s passed), so the three
    overlap for certain: without the hold a fast winner could finish before the others start, and a second win
    would be a correct sequential run, not a race lost.
    """
    add_listing(engine, L, "fraud")
    receivers = [addr(100 + i) for i in range(200)]
    add_transfers(engine, [(L, r, 1) for r in receivers])
    with engine.connect() as c:
        registry_before = queries.counters(c)[state.REGISTRY]
    refused = threading.Semaphore(0)
    real_store = queries.store_scores
    stores: list[int] = []

    def held_store(session: Any, run_id: int, rows: Any) -> int:
        stores.append(run_id)
        for _ in range(2):  # both others refused while this run holds the lease
            refused.acquire(timeout=5)
        return real_store(session, run_id, rows)

    monkeypatch.setattr(queries, "store_scores", held_store)
    results: list[object] = []
    start = threading.Barrier(3)

    def go() -> None:
        start.wait()
        try:
            results.append(rescore(engine, scoring, "t1"))
        except Conflict as e:
            results.append(e)
            refused.release()
        except Exception as e:  # reported by the assertions below, not lost in the thread
            results.append(e)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    won = [r for r in results if isinstance(r, RunSummary)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(results) == 3 and len(won) == 1 and len(lost) == 2, results
    assert all("another rescoring is running" in e.message for e in lost)
    [winner] = won
    assert stores == [winner.run_id]  # the losers never reached the store
    with session_scope(engine) as s:
        runs = s.execute(text("SELECT id, status FROM scoring_run")).all()
        scores = s.execute(text("SELECT address, run_id, risk_score, action FROM address_score")).all()
        audited = s.execute(text("SELECT entity_id FROM audit_event WHERE action = 'scores.rescore'")).all()
        registry_after = queries.counters(s.connection())[state.REGISTRY]
    assert [(int(i), st) for i, st in runs] == [(winner.run_id, "done")]
    # Each receiver got all its money from the fraud listing one hop away: 80 (fraud is high), review. The
    # listed payer has no exposure of its own; its direct verdict comes from the listing, not from a score row.
    assert winner.scored == 200 and len(scores) == 200
    assert sorted(a for a, *_ in scores) == sorted(receivers)
    assert {(int(r), int(sc), act) for _, r, sc, act in scores} == {(winner.run_id, 80, "review")}
    assert [a[0] for a in audited] == [str(winner.run_id)]
    assert registry_after == registry_before + 1  # one store, one bump
    assert current_holder(engine, queries.LEASE) is None


def test_failed_run_is_recorded_and_releases_lease(
    engine: Engine, scoring: ScoringSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_transfers(engine, [(L, A, 1)])

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(queries, "store_scores", boom)
    with pytest.raises(RuntimeError):
        rescore(engine, scoring, "t1")
    with session_scope(engine) as s:
        run = queries.last_run(s, done_only=False)
        assert run is not None and run.status == "failed" and "disk full" in (run.error or "")
    assert current_holder(engine, queries.LEASE) is None


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_job_rescores_after_changes_settle(engine: Engine, scoring: ScoringSettings) -> None:
    clock = Clock()
    job = make_job(
        lambda: engine,
        scoring.model_copy(update={"scoring_debounce_seconds": 10, "scoring_max_wait_seconds": 100}),
        "t1",
        clock,
    )
    assert job() is None  # empty database: nothing to do
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1)])
    assert job() is None  # just changed: wait for quiet
    clock.t += 5
    add_transfers(engine, [(A, B, 1)])  # still syncing
    assert job() is None
    clock.t += 6
    assert job() is None  # quiet for only 6 s
    clock.t += 5
    summary = job()
    assert summary is not None and summary.scored == 2
    clock.t += 60
    assert job() is None  # our own registry bump is not a change
    set_listing_status(engine, 1, "delisted")
    assert job() is None
    clock.t += 11
    assert job() is not None
    assert f"evm:{B}" not in snapshot(engine)


def test_job_max_wait_beats_a_sync_that_never_pauses(engine: Engine, scoring: ScoringSettings) -> None:
    clock = Clock()
    job = make_job(
        lambda: engine,
        scoring.model_copy(update={"scoring_debounce_seconds": 10, "scoring_max_wait_seconds": 30}),
        "t1",
        clock,
    )
    add_listing(engine, L, "fraud")
    ran = []
    for i in range(8):
        add_transfers(engine, [(L, addr(200 + i), 1)])
        ran.append(job() is not None)
        clock.t += 5
    assert ran.count(True) == 1 and ran.index(True) == 6


def test_job_rescores_when_policy_version_or_expiry_moves(engine: Engine, scoring: ScoringSettings) -> None:
    clock = Clock()
    quiet = scoring.model_copy(update={"scoring_debounce_seconds": 0})
    # two seconds: room for three runs on a loaded machine before the listing expires (they must see it listed)
    until = datetime.now(UTC) + timedelta(seconds=2)
    add_listing(engine, L, "fraud", valid_until=until)
    add_transfers(engine, [(L, A, 1)])
    assert make_job(lambda: engine, quiet, "v1", clock)() is not None
    assert make_job(lambda: engine, quiet, "v1", clock)() is None
    assert make_job(lambda: engine, quiet, "v2", clock)() is not None
    threading.Event().wait(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 0.1)
    assert make_job(lambda: engine, quiet, "v2", clock)() is not None
    assert f"evm:{A}" not in snapshot(engine)


def test_debounce_unit() -> None:
    d = Debounce(quiet_for=10, max_wait=25)
    assert not d.should_run(False, (1, 1), 0)
    assert not d.should_run(True, (2, 1), 0)
    assert not d.should_run(True, (2, 1), 9)
    assert d.should_run(True, (2, 1), 10)
    d.ran()
    assert not d.should_run(True, (3, 1), 20)
    assert not d.should_run(True, (4, 1), 29)
    assert not d.should_run(True, (5, 1), 38)
    assert d.should_run(True, (6, 1), 45)


def test_exposure_never_softens_a_direct_listing_but_may_raise_it(engine: Engine, scoring: ScoringSettings) -> None:
    add_listing(engine, L, "sanctions")
    add_listing(engine, A, "illegal_mining")
    add_listing(engine, B, "ransomware")
    add_transfers(engine, [(L, A, 10), (U, B, 10), (L, B, 0.01)])
    rescore(engine, scoring, "t1")
    v = snapshot(engine)
    a = v[f"evm:{A}"]
    # A mining wallet paid entirely by a sanctioned one: the exposure's block wins over illegal_mining's review.
    assert (a.risk_score, a.risk_level, a.action) == (100, "severe", "block")
    assert [d["category"] for d in a.direct] == ["illegal_mining"]
    assert a.exposure["incoming"] == [{"category": "sanctions", "share": 1.0, "min_hops": 1}]
    b = v[f"evm:{B}"]
    # A little sanctioned money does not lower the ransomware listing's verdict.
    assert (b.risk_score, b.risk_level, b.action) == (100, "severe", "block")
    assert b.exposure["incoming"][0]["category"] == "sanctions" and b.exposure["incoming"][0]["share"] < 0.01


def test_graph_is_extended_incrementally_and_rebuilt_when_rows_disappear(
    engine: Engine, scoring: ScoringSettings
) -> None:
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1), (U, A, 1)])
    first = rescore(engine, scoring, "t1")
    assert not first.incremental
    assert incoming(snapshot(engine), A)[0]["share"] == 0.5
    add_transfers(engine, [(U, A, 2), (A, B, 1)])
    second = rescore(engine, scoring, "t1")
    assert second.incremental and second.transfers == 4 and second.addresses == 4
    v = snapshot(engine)
    assert incoming(v, A)[0]["share"] == 0.25 and incoming(v, B)[0]["share"] == 0.25
    with session_scope(engine) as s:  # a reorg removes the last batch
        s.execute(text("DELETE FROM transfer WHERE id = (SELECT max(id) FROM transfer)"))
    add_transfers(engine, [(L, C, 1)])
    third = rescore(engine, scoring, "t1")
    assert not third.incremental and third.transfers == 4
    v = snapshot(engine)
    assert f"evm:{B}" not in v and incoming(v, C)[0]["share"] == 1.0
    # Other prices are another graph.
    fourth = rescore(engine, scoring.model_copy(update={"scoring_dust_value": 0.5}), "t1")
    assert not fourth.incremental
    assert not rescore(engine, scoring, "t1").incremental
    assert rescore(engine, scoring, "t1").incremental


def test_jobs_contract(settings: Settings) -> None:
    [spec] = jobs(settings)
    assert spec.id == "scoring:rescore" and spec.seconds > 0 and callable(spec.func)


def test_a_read_only_connection_in_mid_read_does_not_block_writes(engine: Engine) -> None:
    """A rescoring reads for seconds through ``read_only(engine)``; on SQLite that connection must not hold the
    write lock the app's transactions take. (This checks the connection the loader uses, not a whole rescoring.)"""
    add_transfers(engine, [(L, A, 1)])
    with read_only(engine).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM transfer")).scalar_one() == 1
        started = time.monotonic()
        add_transfers(engine, [(A, B, 1)])  # BEGIN IMMEDIATE with a 30 s busy timeout
        assert time.monotonic() - started < 5


def test_a_failed_load_leaves_no_half_extended_graph(
    engine: Engine, scoring: ScoringSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_listing(engine, L, "fraud")
    add_transfers(engine, [(L, A, 1)])
    rescore(engine, scoring, "t1")
    add_transfers(engine, [(U, A, 1)], network="eth")
    add_transfers(engine, [(U, B, 10)], network="tron", asset="native", unit=10**6)  # 2.5 at 0.25 a TRX
    real = queries.address_bound

    def flaky(conn: Any) -> int:
        raise RuntimeError("connection reset")  # after the new edges were read, before the load completed

    monkeypatch.setattr(queries, "address_bound", flaky)
    with pytest.raises(RuntimeError):
        rescore(engine, scoring, "t1")
    monkeypatch.setattr(queries, "address_bound", real)
    again = rescore(engine, scoring, "t1")
    assert not again.incremental and again.transfers == 3
    assert incoming(snapshot(engine), A) == [{"category": "fraud", "share": 0.5, "min_hops": 1}]
