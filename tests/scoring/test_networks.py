"""``family_networks``: the networks an address view traces over, read from the asset dictionary instead of a pass
over the transfers, must be exactly the networks that have transfers (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.addresses import chain_family
from chains.types import Transfer
from registry.db.engine import session_scope
from registry.scoring import queries
from registry.transfers import store
from tests.scoring.factories import add_transfers, addr

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
TRON_A = "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"
TRON_B = "TXLAQ63Xg1NAzckPwKHvzw7CSEmLMEqcdj"


def _written(network: str, n: int, frm: str, to: str, block: int = 1) -> Transfer:
    return Transfer(network, f"0x{n:064x}", 0, block, WHEN, frm, to, "native", 10**18)


def _distinct(engine: Engine, family: str) -> list[str]:
    """The answer the query replaced: a pass over every transfer."""
    with engine.connect() as c:
        found = c.execute(text("SELECT DISTINCT network FROM transfer")).scalars()
        return sorted(str(n) for n in found if chain_family(str(n)) == family)


def _networks(engine: Engine, family: str) -> list[str]:
    with engine.connect() as c:
        return queries.family_networks(c, family)


def test_networks_with_transfers_are_listed_and_those_without_are_not(engine: Engine) -> None:
    assert _networks(engine, "evm") == [] == _distinct(engine, "evm")
    with session_scope(engine) as s:
        store.insert_transfers(
            s,
            [
                _written("eth", 1, addr(1), addr(2)),
                _written("bsc", 2, addr(1), addr(3)),
                _written("arbitrum", 3, addr(2), addr(3), block=100),
                _written("tron", 4, TRON_A, TRON_B),
            ],
        )
    add_transfers(engine, [(addr(4), addr(5), 1.0)], network="polygon")  # around the writer: no asset id yet
    # A reorg deletes arbitrum's only transfer; its asset stays in the dictionary.
    with session_scope(engine) as s:
        s.connection().execute(text("DELETE FROM transfer WHERE network = 'arbitrum' AND block >= 100"))
    with engine.connect() as c:
        assets = {str(n) for n in c.execute(text("SELECT network FROM transfer_asset")).scalars()}
    assert "arbitrum" in assets and "polygon" not in assets  # both ways the dictionary alone would be wrong

    assert _networks(engine, "evm") == ["bsc", "eth", "polygon"] == _distinct(engine, "evm")
    assert _networks(engine, "tron") == ["tron"] == _distinct(engine, "tron")
    assert _networks(engine, "btc") == []

    with session_scope(engine) as s:  # the rescoring gives the polygon row its ids: still listed, once
        store.assign_missing_ids(s.connection())
    assert _networks(engine, "evm") == ["bsc", "eth", "polygon"] == _distinct(engine, "evm")
