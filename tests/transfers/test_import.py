"""``registry import transfers`` on both databases: files written from the anvil chain the sync tests run, as
ethereum-etl writes them, must store exactly what the node says, and be idempotent with the sync either way round."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from chains.types import is_unknown_time
from registry.cli import app
from registry.db import state
from registry.db.engine import dispose_engines, session_scope
from registry.sync.blocks import sync_network
from registry.transfers import service
from tests.chains.anvil import BASE_FEE_ZERO, Anvil, anvil_binary
from tests.chains.evm_helpers import adapter, make_activity, node_truth, stored
from tests.transfers.etl import export_blocks_and_transactions, export_receipts, export_token_transfers

BODIES = Path(__file__).resolve().parent / "bodies"


@dataclass
class Chain:
    node: Anvil
    token: str
    upto: int
    token_transfers: Path
    blocks: Path
    transactions: Path
    receipts: Path
    times: dict[int, datetime]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """One anvil chain for the module: token transfers, payments, a contract creation carrying value, a reverted
    payment; exported to ethereum-etl files up to a block two behind the head (the sync's safe head)."""
    if anvil_binary() is None:
        pytest.fail("anvil is not installed: run `npm ci` (make test does)")
    node = Anvil.start(extra=BASE_FEE_ZERO)
    try:
        token = node.deploy_token()
        make_activity(node, token, rounds=4)
        node.mine(2)
        upto = node.block_number() - 2
        d = tmp_path_factory.mktemp("etl")
        blocks, txs = export_blocks_and_transactions(node, d / "blocks.csv", d / "transactions.csv", upto)
        times = {
            n: datetime.fromtimestamp(int(node.rpc("eth_getBlockByNumber", [hex(n), False])["timestamp"], 16), UTC)
            for n in range(upto + 1)
        }
        yield Chain(
            node,
            token,
            upto,
            export_token_transfers(node, d / "token_transfers.csv", upto),
            blocks,
            txs,
            export_receipts(node, d / "receipts.csv", upto),
            times,
        )
    finally:
        node.stop()


def stored_times(engine: Engine) -> dict[tuple[str, int], tuple[int, datetime]]:
    with engine.connect() as c:
        rows = c.execute(text("SELECT tx_id, idx, block, block_time FROM transfer WHERE network = 'eth'")).all()
    return {(r[0], int(r[1])): (int(r[2]), as_time(r[3])) for r in rows}


def as_time(v: datetime | str) -> datetime:
    """A stored time as an aware datetime (SQLite hands a plain SQL query its text form)."""
    t = datetime.fromisoformat(v) if isinstance(v, str) else v
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def same_instant(a: datetime, b: datetime) -> bool:
    return as_time(a) == b


@pytest.mark.anvil
def test_etl_files_store_what_the_node_says_and_a_sync_after_adds_nothing(chain: Chain, engine: Engine) -> None:
    report = service.import_files(
        engine, [chain.token_transfers, chain.transactions], blocks=[chain.blocks], receipts=[chain.receipts]
    )
    assert report.errors_total == 0 and not report.refused
    truth = node_truth(chain.node, chain.token, chain.upto)
    rows = stored(engine)
    assert len(rows) == len(set(rows)) and set(rows) == truth
    assert any(r[1] == -1 for r in rows) and any(r[1] >= 0 for r in rows)  # payments and token transfers
    for (_, _), (block, when) in stored_times(engine).items():
        assert same_instant(when, chain.times[block])  # every time from blocks.csv / block_timestamp
    txs = next(f for f in report.files if f.kind == "ethereum-etl transactions.csv")
    assert txs.skipped.get("failed transaction (receipt status 0)") == 1

    again = service.import_files(engine, [chain.token_transfers], blocks=[chain.blocks])
    assert again.inserted == 0 and again.transfers > 0
    synced = sync_network(engine, adapter(chain.node, chain.token, confirmations=2))
    assert synced.ok and synced.inserted == 0 and synced.transfers_seen == len(truth)
    assert set(stored(engine)) == truth


@pytest.mark.anvil
def test_a_sync_then_the_files_add_nothing(chain: Chain, engine: Engine) -> None:
    synced = sync_network(engine, adapter(chain.node, chain.token, confirmations=2))
    assert synced.ok and synced.inserted > 0
    before = stored(engine)
    with session_scope(engine) as s:
        counter = state.read_all(s).get(state.TRANSFERS, 0)
    report = service.import_files(
        engine, [chain.token_transfers, chain.transactions], blocks=[chain.blocks], receipts=[chain.receipts]
    )
    assert report.inserted == 0 and report.transfers == len(before)
    assert sorted(stored(engine)) == sorted(before)
    with session_scope(engine) as s:
        assert state.read_all(s).get(state.TRANSFERS, 0) == counter  # nothing new: rescoring has nothing to do


@pytest.mark.anvil
def test_unknown_times_are_stored_as_unknown_and_filled_by_the_blocks_later(chain: Chain, engine: Engine) -> None:
    first = service.import_files(engine, [chain.token_transfers])
    [fr] = first.files
    assert fr.inserted == fr.unknown_time > 0
    assert all(is_unknown_time(when) for _, when in stored_times(engine).values())
    with session_scope(engine) as s:
        counter = state.read_all(s)[state.TRANSFERS]

    later = service.import_files(engine, [chain.blocks])
    dated = [f for f in later.files if f.kind == "ethereum-etl blocks.csv"]
    assert dated[0].times_filled == fr.inserted
    for block, when in stored_times(engine).values():
        assert same_instant(when, chain.times[block])
    with session_scope(engine) as s:
        assert state.read_all(s)[state.TRANSFERS] > counter


@pytest.mark.anvil
def test_the_same_file_with_its_blocks_fills_the_times_an_earlier_import_lacked(chain: Chain, engine: Engine) -> None:
    service.import_files(engine, [chain.token_transfers])
    again = service.import_files(engine, [chain.token_transfers], blocks=[chain.blocks])
    [fr] = [f for f in again.files if f.kind == "ethereum-etl token_transfers.csv"]
    assert fr.inserted == 0 and fr.times_filled == fr.transfers > 0
    assert not any(is_unknown_time(when) for _, when in stored_times(engine).values())


@pytest.mark.anvil
def test_a_sync_dates_the_transfers_a_file_brought_without_times(chain: Chain, engine: Engine) -> None:
    """The investigator loads a case's token_transfers.csv alone; the node syncs the same blocks later: the node
    knows the times, so the stored rows get them (and the rescoring hears of it), with nothing added twice."""
    [fr] = service.import_files(engine, [chain.token_transfers]).files
    assert fr.inserted == fr.unknown_time > 0
    with session_scope(engine) as s:
        counter = state.read_all(s)[state.TRANSFERS]
    synced = sync_network(engine, adapter(chain.node, chain.token, confirmations=2))
    assert synced.ok and synced.times_filled == fr.inserted
    assert synced.inserted == len(node_truth(chain.node, chain.token, chain.upto)) - fr.inserted  # the payments
    for block, when in stored_times(engine).values():
        assert same_instant(when, chain.times[block])
    with session_scope(engine) as s:
        assert state.read_all(s)[state.TRANSFERS] > counter


def test_bad_rows_are_reported_good_ones_go_in_unless_strict(engine: Engine) -> None:
    bad_file = BODIES / "token_transfers_bad_rows.csv"
    strict = service.import_files(engine, [bad_file], strict=True)
    [fr] = strict.files
    assert fr.refused and fr.inserted == 0 and [e.line for e in fr.errors] == [3, 4, 5, 6, 8]
    assert stored(engine) == []

    lenient = service.import_files(engine, [bad_file])
    [fr] = lenient.files
    assert not fr.refused and fr.inserted == 2 and fr.errors_total == 5
    assert sorted(r[1] for r in stored(engine)) == [1, 6]
    with engine.connect() as c:
        audit = c.execute(
            text("SELECT entity_id, after FROM audit_event WHERE action = 'transfers.import' ORDER BY id")
        ).all()
    assert [row[0] for row in audit] == [fr.sha256]  # the strict run imported nothing and recorded nothing
    after = json.loads(audit[0][1]) if isinstance(audit[0][1], str) else audit[0][1]
    assert (after["file"], after["bad_rows"], after["inserted"]) == ("token_transfers_bad_rows.csv", 5, 2)


@pytest.mark.anvil
def test_transactions_without_receipts_are_refused_unless_asked(chain: Chain, engine: Engine) -> None:
    refused = service.import_files(engine, [chain.transactions])
    assert refused.refused and "receipts" in (refused.files[0].refused or "") and stored(engine) == []
    taken = service.import_files(engine, [chain.transactions], without_receipts=True)
    assert taken.inserted > 0


def test_tron_and_generic_files_on_both_databases(engine: Engine) -> None:
    report = service.import_files(
        engine,
        [BODIES / "trongrid_trc20_dump.json", BODIES / "tronscan_trc20_transfers.json", BODIES / "generic.csv"],
    )
    assert report.errors_total == 0
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["trongrid_trc20_dump.json"].inserted == 4
    tronscan = by_name["tronscan_trc20_transfers.json"]
    assert (tronscan.transfers, tronscan.inserted) == (2, 1)  # one transfer is the TronGrid dump's, same key
    assert by_name["generic.csv"].inserted == 6
    with engine.connect() as c:
        networks = dict(c.execute(text("SELECT network, count(*) FROM transfer GROUP BY network")).all())
    assert networks == {"tron": 7, "eth": 3, "btc": 1}


def test_the_command_reports_lines_and_exits_by_outcome(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.settings import get_settings

    monkeypatch.setenv("REGISTRY_DATABASE_URL", db_url)
    get_settings.cache_clear()  # the engine fixture read the settings before the variable was set
    runner = CliRunner()
    try:
        bad = runner.invoke(app, ["import", "transfers", "-q", str(BODIES / "token_transfers_bad_rows.csv")])
        assert bad.exit_code == 1, bad.output
        assert "line 3, from_address" in bad.output and "5 bad rows" in bad.output and "2 new" in bad.output
        good = runner.invoke(
            app, ["import", "transfers", "-q", str(BODIES / "token_transfers.csv"), str(BODIES / "blocks.csv")]
        )
        assert good.exit_code == 0, good.output
        assert "7 new" in good.output and "registry score" in good.output
        nothing = runner.invoke(app, ["import", "transfers", "-q", "--format", "generic", str(BODIES / "blocks.csv")])
        assert nothing.exit_code == 2 and "not generic" in nothing.output
    finally:
        dispose_engines()
