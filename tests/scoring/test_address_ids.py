"""Integer address ids: the dictionary the store's writer fills, the migration of stored transfers, and rows written
around the writer (both databases)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from chains.types import Transfer
from registry.db.engine import make_engine, session_scope
from registry.transfers import store
from tests.registry.migration_db import migrate
from tests.scoring.factories import add_transfers, addr

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"


def transfer(network: str, n: int, frm: str, to: str, asset: str = "native", amount: int = 10**18) -> Transfer:
    return Transfer(network, f"0x{n:064x}", 0, n, WHEN, frm, to, asset, amount)


def dictionary(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as c:
        return {(f, a): i for i, f, a in c.execute(text("SELECT id, family, address FROM address"))}


def transfer_ids(engine: Engine) -> list[tuple[str, str, str, str, int, int, int]]:
    with engine.connect() as c:
        return [
            tuple(r)  # type: ignore[misc]
            for r in c.execute(
                text(
                    "SELECT t.network, t.from_address, t.to_address, t.asset, t.from_id, t.to_id, t.asset_id "
                    "FROM transfer t ORDER BY t.id"
                )
            )
        ]


def assert_consistent(engine: Engine) -> None:
    """Every transfer's ids name its own addresses (in its network's address space) and asset."""
    ids = dictionary(engine)
    with engine.connect() as c:
        assets = {(n, a): i for i, n, a in c.execute(text("SELECT id, network, asset FROM transfer_asset"))}
    rows = transfer_ids(engine)
    assert rows
    for network, frm, to, asset, from_id, to_id, asset_id in rows:
        family = "tron" if network == "tron" else "evm"
        assert (from_id, to_id, asset_id) == (ids[family, frm], ids[family, to], assets[network, asset])
    assert len(set(ids.values())) == len(ids)


def test_writer_fills_one_dictionary_and_stays_idempotent(engine: Engine) -> None:
    a, b, c = addr(1), addr(2), addr(3)
    batch = [
        transfer("eth", 1, a, b),
        transfer("bsc", 2, a, c),  # the same address on another EVM network: the same id
        transfer("eth", 3, b, a, USDT, 5 * 10**6),
        transfer("tron", 4, "TA" + "1" * 32, "TB" + "2" * 32),
    ]
    with session_scope(engine) as s:
        assert store.insert_transfers(s, batch) == 4
    first = dictionary(engine)
    assert len(first) == 5 and ("tron", "TA" + "1" * 32) in first
    with session_scope(engine) as s:
        assert store.insert_transfers(s, batch) == 0  # idempotent on (network, tx_id, idx)
        assert store.insert_transfers(s, [*batch, transfer("eth", 5, c, "0x" + "f" * 40)]) == 1
    after = dictionary(engine)
    assert {k: after[k] for k in first} == first and len(after) == 6  # ids never change; one new address
    assert_consistent(engine)
    with engine.connect() as conn:
        assert not store.has_unassigned(conn)


def test_concurrent_writers_share_the_dictionary(engine: Engine) -> None:
    """Two writers adding overlapping new addresses at once: no error, one id per address, every row its ids."""
    shared = [addr(100 + i) for i in range(200)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(k: int) -> None:
        rows = [transfer("eth", 10_000 * k + i, shared[i], shared[(i * 7 + k) % 200]) for i in range(200)]
        try:
            start.wait()
            for part in range(0, 200, 50):
                with session_scope(engine) as s:
                    store.insert_transfers(s, rows[part : part + 50])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(dictionary(engine)) == 200
    assert len(transfer_ids(engine)) == 400
    assert_consistent(engine)


def test_rows_written_around_the_writer_get_their_ids(engine: Engine) -> None:
    add_transfers(engine, [(addr(1), addr(2), 1), (addr(2), addr(3), 2)])  # a plain INSERT, no ids
    add_transfers(engine, [(addr(2), addr(4), 1)], network="bsc")
    with engine.connect() as c:
        assert store.has_unassigned(c)
    with session_scope(engine) as s:
        assert store.assign_missing_ids(s.connection()) == 3
        assert store.assign_missing_ids(s.connection()) == 0
    with engine.connect() as c:
        assert not store.has_unassigned(c)
    assert len(dictionary(engine)) == 4
    assert_consistent(engine)


def test_migration_gives_stored_transfers_their_ids(empty_db_url: str) -> None:
    migrate(empty_db_url, "0016_console")
    raw = create_engine(empty_db_url, poolclass=NullPool)
    rows = [
        ("eth", 1, addr(1), addr(2), "native"),
        ("eth", 2, addr(2), addr(3), USDT),
        ("bsc", 3, addr(1), addr(3), "native"),
        ("tron", 4, "TA" + "1" * 32, "TB" + "2" * 32, "native"),
        ("tron", 5, "TB" + "2" * 32, "TA" + "1" * 32, "native"),
    ]
    with raw.begin() as c:
        for network, n, frm, to, asset in rows:
            c.execute(
                text(
                    "INSERT INTO transfer (network, tx_id, idx, block, block_time, from_address, to_address, asset, "
                    "amount, value) VALUES (:n, :tx, 0, 1, :t, :f, :to, :a, '1000', 1000.0)"
                ),
                {"n": network, "tx": f"0x{n:064x}", "t": "2026-01-01 00:00:00", "f": frm, "to": to, "a": asset},
            )
    migrate(empty_db_url, "heads")
    raw.dispose()
    engine = make_engine(empty_db_url)
    try:
        ids = dictionary(engine)
        assert sorted(ids) == sorted(
            [("evm", addr(1)), ("evm", addr(2)), ("evm", addr(3)), ("tron", "TA" + "1" * 32), ("tron", "TB" + "2" * 32)]
        )
        assert_consistent(engine)
        with engine.connect() as c:
            assert not store.has_unassigned(c)
            assert c.execute(text("SELECT count(*) FROM transfer_asset")).scalar_one() == 4
        # New writes reuse the migrated ids.
        with session_scope(engine) as s:
            assert store.insert_transfers(s, [transfer("polygon", 9, addr(3), addr(9))]) == 1
        assert dictionary(engine)[("evm", addr(3))] == ids[("evm", addr(3))]
        assert_consistent(engine)
    finally:
        engine.dispose()
