"""Bulk transfer writes: idempotent, exact amounts, times that read back through the ORM unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chains.types import Transfer
from registry.db import state
from registry.db.engine import session_scope
from registry.transfers import store
from registry.transfers.tables import TransferRow

T0 = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def make(n: int, start: int = 0) -> list[Transfer]:
    return [
        Transfer(
            "eth",
            f"0x{i:064x}",
            i % 3,
            100 + i,
            T0 + timedelta(seconds=i),
            f"0x{i:040x}",
            f"0x{i + 1:040x}",
            "native",
            10**30 + i,
        )  # fmt: skip
        for i in range(start, start + n)
    ]


def test_overlapping_batches_insert_each_row_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert store.insert_transfers(s, make(50)) == 50
    with session_scope(engine) as s:
        assert store.insert_transfers(s, make(50, start=25)) == 25  # half already stored
        state.bump(s, state.TRANSFERS)
    with session_scope(engine) as s:
        assert store.insert_transfers(s, make(75)) == 0
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM transfer")).scalar_one() == 75


def test_rows_read_back_exactly_through_the_orm(engine: Engine) -> None:
    rows = make(3)
    with session_scope(engine) as s:
        store.insert_transfers(s, rows)
    with Session(engine) as s:
        got = s.exec(select(TransferRow).order_by(col(TransferRow.block))).all()
    assert [(r.tx_id, r.block_time, int(r.amount), r.value) for r in got] == [
        (t.tx_id, t.time, t.amount, float(t.amount)) for t in rows
    ]


def test_a_failed_transaction_leaves_nothing(engine: Engine) -> None:
    try:
        with session_scope(engine) as s:
            store.insert_transfers(s, make(10))
            raise RuntimeError("crash after the write, before the commit")
    except RuntimeError:
        pass
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM transfer")).scalar_one() == 0
