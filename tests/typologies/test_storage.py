"""Indicators and matches are stored with every rescoring (SQLite and PostgreSQL): the flagged addresses' red flags
and indicators, one row per match, and a history the period reports count."""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from registry.db.engine import session_scope
from registry.db.types import utcnow
from registry.scoring.rescore import HOOKS, rescore
from registry.scoring.settings import ScoringSettings
from registry.typologies import service
from registry.typologies.tables import TypologyObservation
from tests.typologies.factories import add_timed, addr, mop_network, ordinary_account

MOP = addr(100)


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(sql))]


def test_the_hook_is_registered_once() -> None:
    assert HOOKS.count(service.rescore_hook) == 1


def test_rescoring_stores_red_flags_with_indicator_values_and_their_history(
    engine: Engine, scoring: ScoringSettings
) -> None:
    mop_network(engine)
    ordinary_account(engine)
    before = utcnow()
    rescore(engine, scoring, "t1")
    [(family, address, flags, indicators)] = _rows(
        engine, "SELECT family, address, red_flags, indicators FROM address_typology"
    )
    assert (family, address) == ("evm", MOP)
    [flag] = orjson.loads(str(flags))
    assert flag["typology"] == "mop_passthrough" and flag["version"] == 1
    values = {i["name"]: i["value"] for i in flag["indicators"]}
    # The hand-computed figures of ``mop_network``.
    assert values["senders"] == 6 and values["one_off_share"] == 1
    assert values["pass_through"] == 0.98 and values["dwell_hours"] == 6 and values["top_sink_share"] == 1
    every = orjson.loads(str(indicators))
    assert every["received"]["value"] == 3000 and every["sent"]["value"] == 2940
    assert 0 < every["senders"]["percentile"] <= 100
    assert _rows(engine, "SELECT family, address, typology, version FROM typology_match") == [
        ("evm", MOP, "mop_passthrough", 1)
    ]

    # The history: one open row from the first rescoring that found it, carried on by the next ones, closed by
    # the first that no longer does.
    rescore(engine, scoring, "t2")
    with session_scope(engine) as s:
        [obs] = s.exec(select(TypologyObservation)).all()
        assert obs.is_open and obs.first_flagged_at < obs.last_flagged_at
        assert service.observed_between(s, before - timedelta(hours=1), before) == {
            "mop_passthrough": 0,
            "exchanger_cashout": 0,
            "peel_chain": 0,
            "structuring": 0,
        }
        assert service.observed_between(s, before, utcnow())["mop_passthrough"] == 1
    # The mop starts keeping what it gets (twenty more payments, nothing passed on): no longer a mop.
    add_timed(engine, [(addr(2000 + i), MOP, 800.0, 20.0 + i) for i in range(20)])
    rescore(engine, scoring, "t3")
    after_close = utcnow()
    assert _rows(engine, "SELECT address FROM address_typology") == []
    with session_scope(engine) as s:
        [obs] = s.exec(select(TypologyObservation)).all()
        assert not obs.is_open
        # Still counted in the period it was flagged, not after the rescoring that stopped finding it.
        assert service.observed_between(s, before, after_close)["mop_passthrough"] == 1
        assert service.observed_between(s, after_close, after_close + timedelta(days=1))["mop_passthrough"] == 0
