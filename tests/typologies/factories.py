"""Test data for typologies: transfers at given hours (the indicators read time), in USDT on eth (6 decimals,
price 1: amounts are reference values), written the way the sync writes them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from registry.db import state
from registry.db.engine import session_scope
from registry.entities.tables import Entity, EntityAddress
from registry.scoring.settings import USDT_ETH
from registry.transfers.tables import TransferRow

START = datetime(2026, 3, 2, tzinfo=UTC)
USDT = USDT_ETH.split(":", 1)[1]
_tx = count(1)


def addr(n: int) -> str:
    """A distinct, valid, lowercase EVM address for a small integer."""
    return f"0x{n:040x}"


def add_timed(engine: Engine, edges: Iterable[tuple[str, str, float, float]]) -> None:
    """``(from, to, amount in USDT, hour after START)``, each its own transaction; bumps the transfers counter."""
    rows = []
    for frm, to, amount, hour in edges:
        base = int(round(amount * 10**6))
        rows.append(
            {
                "network": "eth",
                "tx_id": f"0x{next(_tx):064x}",
                "idx": 0,
                "block": 1 + int(hour),
                "block_time": START + timedelta(hours=hour),
                "from_address": frm,
                "to_address": to,
                "asset": USDT,
                "amount": str(base),
                "value": float(base),
            }
        )
    with session_scope(engine) as s:
        if rows:
            s.execute(insert(TransferRow), rows)
        state.bump(s, state.TRANSFERS)


def add_entity(engine: Engine, address: str, *, kind: str, licensed: bool, name: str = "Entity") -> None:
    with session_scope(engine) as s:
        e = Entity(
            name=name,
            kind=kind,
            licensed_service=licensed,
            licence_number="AFSA-X-1" if licensed else None,
            created_at=datetime.now(UTC),
        )
        s.add(e)
        s.flush()
        assert e.id is not None
        s.add(EntityAddress(entity_id=e.id, chain="eth", address=address))
        state.bump(s, state.REGISTRY)


def mop_network(engine: Engine, *, mop: int = 100, sink: int = 200, first_victim: int = 1000, victims: int = 6) -> None:
    """A mop: ``victims`` one-off senders pay 500 USDT each, an hour apart; six hours after the third it passes
    2,940 (98 %) to one sink. Hand-computed: senders 6, one-off share 1, pass-through 0.98, FIFO dwell 6 h
    (the outflow's middle, 1,470, falls in the third receipt, at hour 2; sent at hour 8), top sink share 1."""
    edges = [(addr(first_victim + i), addr(mop), 500.0, float(i)) for i in range(victims)]
    edges.append((addr(mop), addr(sink), 2940.0, 8.0))
    add_timed(engine, edges)


def ordinary_account(
    engine: Engine, *, who: int = 300, employer: int = 301, shops: tuple[int, ...] = (302, 303)
) -> None:
    """A salary twice, spent slowly at two shops over two weeks, a third kept: not a mop."""
    edges = [
        (addr(employer), addr(who), 1234.56, 0.0),
        (addr(employer), addr(who), 1234.56, 336.0),
        (addr(who), addr(shops[0]), 310.4, 30.0),
        (addr(who), addr(shops[1]), 205.75, 120.0),
        (addr(who), addr(shops[0]), 280.1, 250.0),
        (addr(who), addr(shops[1]), 420.0, 400.0),
    ]
    add_timed(engine, edges)
