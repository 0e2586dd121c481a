"""``make eval``: how well the typologies find a laundering network, measured end to end on a local chain.

A scenario (``bench.laundering``, from a seed) is played on anvil as token transfers; the registry syncs it from
the node, rescores, and every address of the scenario is screened through the bank API. Printed per typology:
precision and recall against the scenario's truth; for the mops, how many the screening flags ``review`` by
behaviour; for ordinary accounts (salaries, shops, exchange users, victims …), the false-positive rate, by role;
and, for the misses, which condition failed. Two runs on the same chain:

1. **behaviour only**: neither the criminal sources nor the shadow exchangers are listed (the start of an
   investigation): exposure scoring finds nothing, red flags are all there is;
2. **sources and exchangers listed** (fraud, unlicensed_exchanger): exposure adds what it sees, and the
   cash-out typology knows the exchangers.

``python -m bench.eval [--seed N] [--small] [--database-url URL]``. The tests (``tests/typologies``) play a smaller
scenario from another seed and assert floors on the same figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bench.laundering import MOPS, Params, Scenario, generate, play
from chains.evm.adapter import EvmAdapter
from registry.app import create_app
from registry.audit.service import CLI
from registry.auth.service import create_key
from registry.cases.tables import Listing
from registry.db import state
from registry.db.engine import dispose_engines, make_engine, session_scope
from registry.db.migrate import upgrade
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.rescore import rescore
from registry.scoring.settings import DEFAULT_ASSETS, AssetPrice, ScoringSettings
from registry.settings import Settings
from registry.sync.blocks import sync_network
from registry.typologies import catalogue, queries, service
from registry.typologies.settings import TypologySettings
from tests.chains.anvil import BASE_FEE_ZERO, Anvil, anvil_binary

PEPPER = "eval-pepper-0123456789abcdef0123456789abcdef"
SEED = 2026
"""The seed ``make eval`` prints; the tests use others."""

SMALL = Params(
    seed=SEED,
    days=16,
    employers=3,
    employees=40,
    landlords=5,
    shops=6,
    exchange_users=20,
    victims=70,
    sources=3,
    mops=14,
    second_layer=2,
    exchangers=1,
    peel_chains=2,
    peel_length=5,
    structurers=3,
    online_sellers=2,
    organisers=2,
)
"""A scenario a test can afford (about 1,300 transfers, a few seconds on anvil)."""


@dataclass
class Scores:
    truth: int
    flagged: int
    hits: int
    wrong: Counter[str] = field(default_factory=Counter)  # role -> flagged addresses outside the truth

    @property
    def precision(self) -> float:
        return self.hits / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.truth if self.truth else 1.0


@dataclass
class Outcome:
    """What one run measured (from the screening results banks got)."""

    label: str
    typologies: dict[str, Scores]
    mops: int
    mops_review_by_behaviour: int  # a red flag and action review, nothing listed about it
    mops_not_allowed: int  # review or block, for any reason (exposure included)
    ordinary: int
    ordinary_flagged: Counter[str]  # role -> ordinary accounts with a red flag
    ordinary_not_allowed: Counter[str]  # role -> ordinary accounts reviewed or blocked for any reason
    blocked_by_behaviour: int  # must be 0: behaviour never blocks
    misses: dict[str, Counter[str]] = field(default_factory=dict)  # typology -> failed condition -> count
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ordinary_fp_rate(self) -> float:
        return sum(self.ordinary_flagged.values()) / self.ordinary if self.ordinary else 0.0


@contextmanager
def _node() -> Iterator[Anvil]:
    if anvil_binary() is None:
        raise SystemExit("anvil is not installed: run `npm ci` (make test and make eval do)")
    node = Anvil.start(extra=BASE_FEE_ZERO)
    try:
        yield node
    finally:
        node.stop()


def scoring_settings(token: str) -> ScoringSettings:
    assets = {**DEFAULT_ASSETS, f"eth:{token}": AssetPrice(decimals=6, price=1.0, symbol="TUSD")}
    return ScoringSettings(_env_file=None, scoring_assets=assets)


def prepare(node: Anvil, params: Params, engine: Engine) -> tuple[Scenario, str, dict[str, float]]:
    """Generate, play on ``node``, sync into ``engine`` (migrated), register the licensed exchange."""
    times: dict[str, float] = {}
    t = time.perf_counter()
    token = node.deploy_token()
    scenario = generate(params, treasury=node.accounts[0].lower())
    sent = play(node, token, scenario)
    node.mine(2)
    times["play on anvil"] = time.perf_counter() - t
    t = time.perf_counter()
    adapter = EvmAdapter("eth", node.url, tokens=[token], confirmations=1, native=False)
    report = sync_network(engine, adapter)
    times["sync"] = time.perf_counter() - t
    if not report.ok:
        raise RuntimeError(f"sync failed: {report.reason}")
    with engine.connect() as c:
        from sqlalchemy import text

        stored = int(c.execute(text("SELECT count(*) FROM transfer")).scalar_one())
    # The token's mint to the deployer is a transfer too.
    if stored != sent + 1:
        raise RuntimeError(f"{sent} transfers sent but {stored - 1} synced: the scenario is not what was played")
    _licensed(engine, scenario.licensed_exchange)
    return scenario, token, times


def _licensed(engine: Engine, address: str) -> None:
    """The licensed exchange as ``registry entities licensed`` leaves it after two supervisors (written directly:
    the decision itself is not what is measured)."""
    with session_scope(engine) as s:
        e = Entity(
            name="Licensed Exchange KZ",
            kind="exchange",
            licensed_service=True,
            licence_number="AFSA-D-0001",
            created_at=datetime.now(UTC),
        )
        s.add(e)
        s.flush()
        s.add(EntityAddress(entity_id=e.id or 0, chain="eth", address=address))
        state.bump(s, state.REGISTRY)


def list_criminals(engine: Engine, scenario: Scenario) -> None:
    """Sources as fraud, shadow exchangers as unlicensed exchangers: active listings, as after four eyes."""
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        for category, addresses in (
            ("fraud", scenario.source_addresses),
            ("unlicensed_exchanger", scenario.exchanger_addresses),
        ):
            for a in addresses:
                s.add(
                    Listing(
                        chain="eth",
                        family="evm",
                        address=a,
                        category=category,
                        confidence=70,
                        source="fiu",
                        legal_basis="eval",
                        status="active",
                        submitted_by="eval",
                        approved_by="eval",
                        created_at=now,
                        listed_since=now,
                    )
                )
        state.bump(s, state.REGISTRY)


def screen_all(client: TestClient, headers: dict[str, str], addresses: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(addresses), 10_000):
        part = addresses[i : i + 10_000]
        r = client.post("/v1/screen/batch", json={"addresses": part}, headers=headers)
        r.raise_for_status()
        for a, res in zip(part, r.json()["results"], strict=True):
            out[a] = res
    return out


def measure(
    label: str,
    scenario: Scenario,
    results: dict[str, dict[str, Any]],
    found: service.Findings,
    ids: dict[str, int],
) -> Outcome:
    flagged: dict[str, set[str]] = {t.name: set() for t in catalogue.TYPOLOGIES}
    for a, res in results.items():
        for f in res["red_flags"]:
            flagged[f["typology"]].add(a)
    typologies = {
        name: Scores(
            len(scenario.truth[name]),
            len(flagged[name]),
            len(flagged[name] & scenario.truth[name]),
            Counter(scenario.roles[a] for a in flagged[name] - scenario.truth[name]),
        )
        for name in scenario.truth
    }
    mops = scenario.of(*MOPS)
    ordinary = scenario.ordinary
    listed = {a for a, r in results.items() if r["direct"]}
    outcome = Outcome(
        label=label,
        typologies=typologies,
        mops=len(mops),
        mops_review_by_behaviour=sum(
            1 for a in mops if results[a]["red_flags"] and results[a]["action"] == "review" and a not in listed
        ),
        mops_not_allowed=sum(1 for a in mops if results[a]["action"] != "allow"),
        ordinary=len(ordinary),
        ordinary_flagged=Counter(scenario.roles[a] for a in ordinary if results[a]["red_flags"]),
        ordinary_not_allowed=Counter(scenario.roles[a] for a in ordinary if results[a]["action"] != "allow"),
        blocked_by_behaviour=sum(
            1
            for a, r in results.items()
            if r["action"] == "block" and not r["direct"] and not _blocking_exposure(r) and r["red_flags"]
        ),
    )
    outcome.misses = _misses(scenario, flagged, found, ids)
    return outcome


def _blocking_exposure(result: dict[str, Any]) -> bool:
    return any(e["min_hops"] == 1 for d in ("incoming", "outgoing") for e in result["exposure"][d])


def _misses(
    scenario: Scenario, flagged: dict[str, set[str]], found: service.Findings, ids: dict[str, int]
) -> dict[str, Counter[str]]:
    """For each typology, the conditions its missed true addresses failed (an address may fail several)."""
    index = ids
    ind = found.indicators
    out: dict[str, Counter[str]] = {}
    for t in catalogue.TYPOLOGIES:
        missed = scenario.truth[t.name] - flagged[t.name]
        failed: Counter[str] = Counter()
        for a in missed:
            node = index.get(a)
            if node is None:
                failed["no priced transfer"] += 1
                continue
            if ind["transfers_in"][node] + ind["transfers_out"][node] < found.min_transfers:
                failed[f"fewer than {found.min_transfers} transfers"] += 1
                continue
            for c in t.all_of:
                if not bool(c.test(ind)[node]):
                    failed[f"{c.indicator} {c.op} {c.threshold:g}"] += 1
            if t.any_of and not any(bool(c.test(ind)[node]) for c in t.any_of):
                failed["none of " + ", ".join(f"{c.indicator} {c.op} {c.threshold:g}" for c in t.any_of)] += 1
        out[t.name] = failed
    return out


def address_ids(engine: Engine, addresses: list[str]) -> dict[str, int]:
    """Dictionary id of each scenario address (indicator arrays are indexed by it)."""
    with engine.connect() as c:
        names = queries.keys_of(c, list(range(queries.address_bound(c))))
    return {a: i for i, (_, a) in names.items() if a in set(addresses)}


def run(params: Params, database_url: str | None = None, *, listed_run: bool = True) -> tuple[Scenario, list[Outcome]]:
    """Both runs on one chain and one database; returns the scenario and what each run measured."""
    with tempfile.TemporaryDirectory() as tmp, _node() as node:
        url = database_url or f"sqlite:///{Path(tmp) / 'eval.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        scenario, token, times = prepare(node, params, engine)
        scoring = scoring_settings(token)
        settings = Settings(database_url=url, key_pepper=PEPPER, snapshot_poll_seconds=0.2)
        outcomes = []
        app = create_app(settings, engine)
        app.state.scoring_settings = scoring
        with TestClient(app) as client:
            with session_scope(engine) as s:
                secret, _ = create_key(s, "bank", "Eval Bank", PEPPER.encode(), CLI, "eval-bank")
            bank = {"Authorization": f"Bearer {secret}"}
            addresses = sorted(a for a in scenario.roles)
            runs = [("behaviour only (nothing listed)", False)] + (
                [("sources and exchangers listed", True)] if listed_run else []
            )
            for label, listed in runs:
                if listed:
                    list_criminals(engine, scenario)
                t = time.perf_counter()
                summary = rescore(engine, scoring, settings.policy_version, trigger="eval")
                rescoring = time.perf_counter() - t
                client.app.state.ctx.snapshot.refresh()  # type: ignore[attr-defined]
                t = time.perf_counter()
                results = screen_all(client, bank, addresses)
                screening = time.perf_counter() - t
                found = service.find(engine, scoring, TypologySettings(_env_file=None))
                outcome = measure(label, scenario, results, found, address_ids(engine, addresses))
                outcome.seconds = {
                    **times,
                    "rescoring (exposure + indicators)": rescoring,
                    "indicators alone": found.seconds,
                    "screening": screening,
                }
                outcome.seconds["transfers"] = summary.transfers
                outcomes.append(outcome)
        engine.dispose()
        dispose_engines()
    return scenario, outcomes


def report(scenario: Scenario, outcomes: list[Outcome]) -> str:
    p = scenario.params
    roles = Counter(scenario.roles.values())
    lines = [
        f"scenario seed {p.seed}: {len(scenario.transfers):,} transfers over {p.days} days, "
        f"{len(scenario.roles):,} addresses ({', '.join(f'{n} {r}' for r, n in sorted(roles.items()))})",
    ]
    for o in outcomes:
        lines += [
            "",
            f"== {o.label} ==",
            f"{'typology':<20} {'truth':>6} {'flagged':>8} {'hits':>5} {'precision':>10} {'recall':>7}",
        ]
        for name, s in o.typologies.items():
            wrong = ", ".join(f"{n} {r}" for r, n in s.wrong.most_common())
            lines.append(
                f"{name:<20} {s.truth:>6} {s.flagged:>8} {s.hits:>5} {s.precision:>10.2f} {s.recall:>7.2f}"
                + (f"   others flagged: {wrong}" if wrong else "")
            )
        lines.append(
            f"mops flagged review by behaviour: {o.mops_review_by_behaviour}/{o.mops} "
            f"({o.mops_review_by_behaviour / max(1, o.mops):.0%}); review or block for any reason: "
            f"{o.mops_not_allowed}/{o.mops}"
        )
        fp = ", ".join(f"{n} {r}" for r, n in o.ordinary_flagged.most_common()) or "none"
        lines.append(
            f"ordinary accounts with a red flag: {sum(o.ordinary_flagged.values())}/{o.ordinary} "
            f"({o.ordinary_fp_rate:.1%}): {fp}"
        )
        why = ", ".join(f"{n} {r}" for r, n in o.ordinary_not_allowed.most_common()) or "none"
        lines.append(
            f"ordinary accounts reviewed or blocked for any reason (exposure included): "
            f"{sum(o.ordinary_not_allowed.values())}/{o.ordinary}: {why}"
        )
        lines.append(f"blocked by behaviour alone: {o.blocked_by_behaviour} (must be 0)")
        for name, failed in o.misses.items():
            if failed:
                lines.append(f"  {name} missed because: " + "; ".join(f"{c} ({n})" for c, n in failed.most_common()))
        lines.append(
            "  seconds: "
            + ", ".join(f"{k} {v:.2f}" if k != "transfers" else f"{k} {int(v):,}" for k, v in o.seconds.items())
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"scenario seed (default {SEED}; the tests use others)")
    parser.add_argument("--small", action="store_true", help="the small scenario the tests play (quick look)")
    parser.add_argument("--database-url", default=None, help="default: a scratch SQLite file")
    args = parser.parse_args(argv)
    base = SMALL if args.small else Params()
    params = Params(**{**base.__dict__, "seed": args.seed})
    scenario, outcomes = run(params, args.database_url)
    print(report(scenario, outcomes), flush=True)
    return 0 if all(o.blocked_by_behaviour == 0 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
