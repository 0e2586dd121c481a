"""The transfer-file readers on recorded samples of the public formats: keys the sync's, times, every bad row."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chains.tron.mappers import map_trc20_history, trc20_index
from chains.types import UNKNOWN_TIME, Transfer, is_unknown_time
from registry.transfers import files
from registry.transfers.files import BlockTimes, FileRefused, Kind, Receipts, RowError, Tally

BODIES = Path(__file__).resolve().parent / "bodies"
CHAIN_BODIES = Path(__file__).resolve().parents[1] / "chains" / "bodies"


def read(name: str) -> io.StringIO:
    return io.StringIO((BODIES / name).read_text(), newline="")


def split(items: list[Transfer | RowError]) -> tuple[list[Transfer], list[RowError]]:
    return [i for i in items if isinstance(i, Transfer)], [i for i in items if isinstance(i, RowError)]


def block_times() -> BlockTimes:
    errors: list[RowError] = []
    times = BlockTimes.read(read("blocks.csv"), errors.append)
    assert not errors
    return times


def test_formats_are_told_apart_by_their_headers_and_shapes() -> None:
    expect = {
        "token_transfers.csv": Kind.token_transfers,
        "blocks.csv": Kind.blocks,
        "transactions.csv": Kind.transactions,
        "receipts.csv": Kind.receipts,
        "generic.csv": Kind.generic,
        "trongrid_trc20_dump.json": Kind.tron_json,
        "tronscan_trc20_transfers.json": Kind.tron_json,
    }
    assert {name: files.detect((BODIES / name).read_text()) for name in expect} == expect
    with pytest.raises(FileRefused, match="cannot tell the format"):
        files.detect("address,category,confidence\n")


def test_token_transfers_keep_the_log_index_and_take_times_from_blocks_csv() -> None:
    tally = Tally()
    good, bad = split(list(files.token_transfers(read("token_transfers.csv"), "eth", block_times(), tally)))
    assert not bad and len(good) == tally.rows == 7 and tally.unknown_time == 0
    first = good[0]
    assert first == Transfer(
        "eth",
        "0xac692a37da214ecc54aa4b2213da340cbc64aefef80ca56bca3d031a6ea54edd",
        101,
        19_000_000,
        datetime.fromtimestamp(1705173443, UTC),
        "0x5b5ac8cd10ea265c289c67688d206914a7fd67df",
        "0xe1240c99678535253a771951a92ab78a9cc60318",
        "0xdac17f958d2ee523a2206206994597c13d831ec7",
        1_250_500_000,
    )
    same_tx = [t for t in good if t.tx_id.startswith("0x35883a26")]
    assert sorted(t.idx for t in same_tx) == [15, 16]  # two transfers of one transaction: two keys
    assert good[-1].from_address == "0x" + "0" * 40  # a mint, as the sync stores it
    assert {t.time for t in good if t.block == 19_000_001} == {datetime.fromtimestamp(1705173455, UTC)}


def test_without_blocks_csv_the_time_is_unknown() -> None:
    tally = Tally()
    good, _ = split(list(files.token_transfers(read("token_transfers.csv"), "eth", None, tally)))
    assert tally.unknown_time == len(good) == 7
    assert all(t.time is UNKNOWN_TIME and is_unknown_time(t.time) for t in good)
    assert is_unknown_time(datetime(1970, 1, 1)) and not is_unknown_time(good[0].time.replace(year=2024))


def test_every_bad_row_is_reported_with_its_line_and_the_good_rows_still_come() -> None:
    tally = Tally()
    good, bad = split(list(files.token_transfers(read("token_transfers_bad_rows.csv"), "eth", None, tally)))
    assert [t.idx for t in good] == [1, 6]
    assert [(e.line, e.column) for e in bad] == [
        (3, "from_address"),
        (4, "value"),
        (5, "transaction_hash"),
        (6, None),
        (8, "to_address"),
    ]
    assert bad[0].reason.startswith("checksum")
    assert bad[3].reason == "6 fields where the header has 7"
    assert bad[4].value == "TQ7pF3NTDL2Tjz5rdJ6ECjQWjaWHpLZJMH"


def test_transactions_are_native_transfers_of_successful_payments_only() -> None:
    receipt_errors: list[RowError] = []
    receipts = Receipts.read(read("receipts.csv"), receipt_errors.append)
    assert not receipt_errors and len(receipts.failed) == 1
    tally = Tally()
    good, bad = split(list(files.transactions(read("transactions.csv"), "eth", None, receipts, tally)))
    assert not bad
    assert [(t.idx, t.asset, t.amount) for t in good] == [
        (-1, "native", 2_500_000_000_000_000_000),
        (-1, "native", 500_000_000_000_000_000),  # the creation, to the contract its receipt names
        (-1, "native", 123_456_789),
    ]
    assert good[1].to_address == next(iter(receipts.created.values()))
    assert tally.skipped == {"no value moved": 1, "failed transaction (receipt status 0)": 1}
    assert good[0].time == datetime.fromtimestamp(1705173443, UTC)  # transactions.csv has block_timestamp


def _trongrid_pages() -> list[dict[str, object]]:
    pages: list[dict[str, object]] = json.loads((BODIES / "trongrid_trc20_dump.json").read_text())
    return pages


def test_a_trongrid_dump_gets_the_keys_the_crawl_gives() -> None:
    pages = _trongrid_pages()
    seen: dict[tuple[str, str, str, str, int], int] = {}
    crawl = [t for p in pages for t in map_trc20_history(p["data"], seen)]  # type: ignore[arg-type]
    tally = Tally()
    good, bad = split(list(files.tron_json(read("trongrid_trc20_dump.json"), tally)))
    assert not bad and good == crawl and len(good) == 4
    payout = [t for t in good if t.amount == 5_000_000]
    assert len({t.key for t in payout}) == 2  # the same payment twice in one transaction, split over two pages
    assert tally.skipped == {"Approval (not a transfer)": 1}


@pytest.mark.parametrize("layout", ["array", "json-lines", "back-to-back", "one-page", "chunked"])
def test_dump_layouts_read_alike(layout: str) -> None:
    pages = _trongrid_pages()
    if layout == "array":
        text = json.dumps(pages, indent=2)
    elif layout == "json-lines":
        text = "\n".join(json.dumps(p) for p in pages) + "\n"
    elif layout == "back-to-back":
        text = "".join(json.dumps(p, indent=1) for p in pages)
    elif layout == "one-page":
        text = json.dumps({"data": [i for p in pages for i in p["data"]], "success": True})  # type: ignore[attr-defined]
    else:
        text = json.dumps(pages)
    stream = io.StringIO(text)
    if layout == "chunked":  # values cut anywhere by the reads
        values = list(files.json_values(text[i : i + 7] for i in range(0, len(text), 7)))
        assert [v for _, v in values] == pages
    good, bad = split(list(files.tron_json(stream, Tally())))
    assert not bad and len(good) == 4


def test_broken_json_names_its_line() -> None:
    text = '{"data": [], "success": true}\n{"data": [\n  {"transaction_id": "ab",,}\n]}\n'
    with pytest.raises(FileRefused) as e:
        list(files.tron_json(io.StringIO(text), Tally()))
    assert e.value.line == 3


def test_a_tronscan_page_keys_transfers_as_trongrid_and_leaves_out_reverted_ones() -> None:
    trongrid, _ = split(list(files.tron_json(read("trongrid_trc20_dump.json"), Tally())))
    tally = Tally()
    good, bad = split(list(files.tron_json(read("tronscan_trc20_transfers.json"), tally)))
    assert not bad and len(good) == 2
    assert good[0].key == trongrid[0].key  # the same transfer seen through the other explorer
    assert good[0].block == 62_563_401  # Tronscan gives the block; TronGrid's history does not
    assert tally.skipped == {"failed or reverted transaction": 1}


def test_generic_csv_converts_whole_units_and_derives_what_the_sync_derives() -> None:
    tally = Tally()
    good, bad = split(list(files.generic(read("generic.csv"), None, tally)))
    assert not bad, bad
    eth, usdt, trc20, trx, btc, undated = good
    assert (eth.idx, eth.asset, eth.amount) == (-1, "native", 1_250_000_000_000_000_000)
    assert (usdt.idx, usdt.amount) == (12, 1_250_500_000)
    assert trc20.idx == trc20_index(
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", trc20.from_address, trc20.to_address, 77_000_001
    )
    assert trc20.time == datetime.fromtimestamp(1717418940, UTC)
    assert (trx.idx, trx.asset, trx.amount) == (0, "native", 15_000_000)
    assert trx.time == datetime(2024, 6, 3, 12, 49, 3, tzinfo=UTC)  # no zone: UTC
    assert (btc.network, btc.idx, btc.amount) == ("btc", 1, 1_500_000)
    assert btc.time == datetime(2024, 5, 25, 2, 0, tzinfo=UTC)
    assert undated.block == 0 and undated.time is UNKNOWN_TIME and tally.unknown_time == 1


@pytest.mark.parametrize(
    ("row", "column", "reason"),
    [
        ("eth,0x" + "ab" * 32 + ",,1,,0x" + "11" * 20 + ",0x" + "22" * 20 + ",ETH,1.0000000000000000001,18", "amount",
         "more fractional digits"),
        ("eth,0x" + "ab" * 32 + ",,1,,0x" + "11" * 20 + ",0x" + "22" * 20 + ",0x" + "33" * 20 + ",5,", "index",
         "log index"),
        ("eth,0x" + "ab" * 32 + ",3,1,,0x" + "11" * 20 + ",0x" + "22" * 20 + ",native,5,", "index", "-1"),
        ("ltc," + "ab" * 32 + ",1,1,,a,b,native,5,", "network", "not a network"),
        ("btc," + "ab" * 32 + ",,1,,bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh,"
         "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2,native,5,", "index", "Bitcoin transfer needs its index"),
        ("eth,0x" + "ab" * 32 + ",,1,yesterday,0x" + "11" * 20 + ",0x" + "22" * 20 + ",ETH,5,", "time", "not a time"),
        ("tron," + "ab" * 32 + ",0,1,,TKfEsS38wwhcwVeSmzjrtVzrLoKN38ts8W,TX75sgDyZ8uvHGRraFVTCcFgnmsMgsWGwk,"
         "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t,5,", "index", "TRC-20 index is 1"),
        ("eth,0x" + "ab" * 31 + ",,1,,0x" + "11" * 20 + ",0x" + "22" * 20 + ",ETH,5,", "tx_id", "64 hex"),
    ],
)  # fmt: skip
def test_generic_csv_refuses_what_the_sync_would_key_differently(row: str, column: str, reason: str) -> None:
    text = ",".join(files.GENERIC_COLUMNS) + "\n" + row + "\n"
    good, bad = split(list(files.generic(io.StringIO(text), None, Tally())))
    assert not good
    [e] = bad
    assert (e.line, e.column) == (2, column) and reason in e.reason, e


def test_a_header_without_the_columns_refuses_the_file() -> None:
    with pytest.raises(FileRefused, match="missing column"):
        list(files.token_transfers(io.StringIO("token_address,from_address\n"), "eth", None, Tally()))
