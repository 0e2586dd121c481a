"""A small transfer graph whose every share is computed by hand below (not by the code under test).

    L (listed fraud) sends 6 ETH to A (as 4 + 2), 3 ETH to B and 1 ETH to X (a licensed exchange): L sent 10.
    A sends 4 ETH to C and 2 ETH to D (A sent 6; its 0.0001 ETH to H is dust, its 5 ETH to itself nothing).
    B sends 1 ETH to C and 3 ETH to M (listed mixer): B sent 4.
    C sends 1 ETH to G; D sends 1 ETH back to L; X sends 5 ETH to E; M sends 2 ETH to F.
    A also sends C 100 USDT (at 1 USD, beside ETH at 3,000 USD it barely moves a share) and D a token the
    registry does not know, 10**30 base units twice (unpriced: no weight at all).

Forward from L (share of L's 10 ETH that reaches each address):
    hop 1: A 6/10 = 0.6, B 3/10 = 0.3, X 1/10 = 0.1 (licensed: followed no further, so E is never reached)
    hop 2: A passes 0.6 on in proportion to what A sent, by value: 12,000 USD of ETH and 100 USD of USDT to C,
           6,000 USD to D (A sent 18,100 USD): C 0.6 × 12,100/18,100, D 0.6 × 6,000/18,100;
           B passes 0.3: C 0.3 × 1/4 = 0.075, M 0.3 × 3/4 = 0.225 (listed: F is never reached)
    hop 3: C passes all it got to G; D passes all to L, the origin, listed, where the trail stops.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from chains.types import UNKNOWN_TIME
from registry.db import state
from registry.db.engine import session_scope
from registry.scoring.settings import USDT_ETH
from registry.transfers.tables import TransferRow
from tests.scoring.factories import add_licensed, add_listing, addr

ETH = 10**18
USDT = USDT_ETH.split(":", 1)[1]
TOKEN = "0x" + "de" * 20
L, A, B, C, D, G, H, M, X, E, F = (addr(n) for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11))
NAMES = {L: "L", A: "A", B: "B", C: "C", D: "D", G: "G", H: "H", M: "M", X: "X", E: "E", F: "F"}

A_SENT_USD = 12_000 + 100 + 6_000
C_SHARE = 0.6 * 12_100 / A_SENT_USD + 0.075
D_SHARE = 0.6 * 6_000 / A_SENT_USD

_tx = count(1)


def tx() -> str:
    return f"0x{next(_tx):064x}"


def when(day: int) -> datetime:
    return datetime(2026, 3, day, 12, 0, tzinfo=UTC)


def add(engine: Engine, rows: list[tuple[str, str, int, str, datetime]]) -> list[str]:
    """``(from, to, raw amount, asset, time)`` each as its own transaction, exact amounts; bumps the counter."""
    ids = [tx() for _ in rows]
    with session_scope(engine) as s:
        s.execute(
            insert(TransferRow),
            [
                {
                    "network": "eth",
                    "tx_id": i,
                    "idx": -1 if asset == "native" else 3,
                    "block": 100,
                    "block_time": t,
                    "from_address": frm,
                    "to_address": to,
                    "asset": asset,
                    "amount": str(raw),
                    "value": float(raw),
                }
                for i, (frm, to, raw, asset, t) in zip(ids, rows, strict=True)
            ],
        )
        state.bump(s, state.TRANSFERS)
    return ids


def build(engine: Engine) -> dict[str, list[str]]:
    """The graph of the module docstring; returns the tx ids per edge."""
    add_listing(engine, L, "fraud", case_number="C-1")
    add_listing(engine, M, "mixer")
    add_licensed(engine, X, name="Licensed Exchange KZ")
    n = "native"
    return {
        "LA": add(engine, [(L, A, 4 * ETH, n, when(1)), (L, A, 2 * ETH, n, when(2))]),
        "LB": add(engine, [(L, B, 3 * ETH, n, when(1))]),
        "LX": add(engine, [(L, X, 1 * ETH, n, when(1))]),
        "AC": add(engine, [(A, C, 4 * ETH, n, when(3)), (A, C, 100 * 10**6, USDT, when(5))]),
        "AD": add(
            engine, [(A, D, 2 * ETH, n, when(4)), (A, D, 10**30, TOKEN, when(4)), (A, D, 10**30, TOKEN, UNKNOWN_TIME)]
        ),
        "AH": add(engine, [(A, H, ETH // 10_000, n, when(6))]),
        "AA": add(engine, [(A, A, 5 * ETH, n, when(6))]),
        "BC": add(engine, [(B, C, 1 * ETH, n, when(3))]),
        "BM": add(engine, [(B, M, 3 * ETH, n, when(3))]),
        "CG": add(engine, [(C, G, 1 * ETH, n, when(7))]),
        "DL": add(engine, [(D, L, 1 * ETH, n, when(7))]),
        "XE": add(engine, [(X, E, 5 * ETH, n, when(7))]),
        "MF": add(engine, [(M, F, 2 * ETH, n, when(7))]),
    }
