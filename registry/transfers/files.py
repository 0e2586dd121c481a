"""Pure readers of the transfer files a case brings: rows in, ``Transfer`` records or row errors out.

No database and no network: a reader takes an open text stream and yields a ``Transfer`` per good row and a
``RowError`` (line, column, value, reason) per bad one, so every malformed-file case is tested without a database
and the service (``service.py``) decides what to do with them. Every reader streams: one row is in memory at a
time, except ``blocks.csv`` and ``receipts.csv``, of which only what lookups need is kept (block times as two packed
integer arrays; failed and contract-creating transactions' hashes).

Keys are the sync's, so an import and a sync of the same chain write the same rows once (``(network, tx_id, idx)``,
``chains/evm/mappers.py``, ``chains/tron/mappers.py``):

- **ethereum-etl** ``token_transfers.csv`` (``export_token_transfers``: token_address, from_address, to_address,
  value, transaction_hash, log_index, block_number): ``idx`` = ``log_index``. The file has no time: it comes from a
  ``blocks.csv`` (``export_blocks_and_transactions``: number, hash, …, timestamp) given beside it, or from a
  ``block_timestamp`` column where an export has one (ethereum-etl-postgres, BigQuery), else it is unknown
  (``chains.types.UNKNOWN_TIME``). ethereum-etl also writes ERC-721 transfers there (the token id as ``value``),
  which the sync skips; nothing in the file tells them apart, and an NFT contract has no price in the scoring's
  asset table, so it weighs nothing in the exposure.
- **ethereum-etl** ``transactions.csv``: native value transfers, ``idx`` = -1; successful ones only, which needs
  ``receipts.csv`` (``export_receipts_and_logs``: status, and contract_address for a creation), as the sync reads
  receipts.
- **TRC-20 JSON dumps**: pages of TronGrid's ``/v1/accounts/{address}/transactions/trc20`` (``{"data": [...]}``)
  or of Tronscan's ``/api/token_trc20/transfers`` (``{"token_transfers": [...]}``), one page, a JSON array of
  pages, or pages one after another (JSON Lines). ``idx`` is ``chains.tron.mappers.trc20_index`` through the sync's
  own mapper. One file holds one account's history (as the crawl reads it): identical transfers within a
  transaction are numbered across the file's pages, so two accounts' pages in one file would number the same
  transfer twice.
- **generic CSV**: network, tx_id, index, block, time, from, to, asset, amount, decimals (see ``GENERIC_COLUMNS``).
"""

from __future__ import annotations

import csv
import json
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from enum import StrEnum
from typing import IO, Any

import numpy as np

from chains.addresses import EVM_NETWORKS, AddressError, normalize
from chains.evm.mappers import NATIVE_IDX, block_time
from chains.tron.mappers import TRC20_INDEX_SPACE, map_trc20_history, trc20_index
from chains.types import NATIVE, UNKNOWN_TIME, MalformedResponse, Transfer

IMPORT_NETWORKS: frozenset[str] = EVM_NETWORKS | {"tron", "btc"}
"""Networks a file may load: those the registry syncs and scores (the chains with an adapter)."""

NATIVE_SYMBOLS: dict[str, frozenset[str]] = {
    "eth": frozenset({"ETH"}),
    "arbitrum": frozenset({"ETH"}),
    "optimism": frozenset({"ETH"}),
    "base": frozenset({"ETH"}),
    "linea": frozenset({"ETH"}),
    "bsc": frozenset({"BNB"}),
    "polygon": frozenset({"POL", "MATIC"}),
    "avalanche": frozenset({"AVAX"}),
    "fantom": frozenset({"FTM"}),
    "etc": frozenset({"ETC"}),
    "tron": frozenset({"TRX"}),
    "btc": frozenset({"BTC"}),
}
"""A generic CSV may name a chain's own coin by its symbol instead of ``native``."""

TOKEN_TRANSFER_COLUMNS = (
    "token_address",
    "from_address",
    "to_address",
    "value",
    "transaction_hash",
    "log_index",
    "block_number",
)
TRANSACTION_COLUMNS = ("hash", "from_address", "to_address", "value", "block_number")
BLOCK_COLUMNS = ("number", "timestamp")
RECEIPT_COLUMNS = ("transaction_hash", "status", "contract_address")
GENERIC_REQUIRED = ("tx_id", "from", "to", "amount")
GENERIC_COLUMNS = ("network", "tx_id", "index", "block", "time", "from", "to", "asset", "amount", "decimals")
"""The generic CSV (a header row; names case-insensitive, any order, other columns ignored):

- ``network``: eth, bsc, polygon, … (the EVM networks), tron or btc; blank or absent: ``--network``;
- ``tx_id``: the transaction hash (EVM: 0x and 64 hex digits; Tron and Bitcoin: 64 hex digits);
- ``index``: the transfer's index within its transaction, as the sync numbers it. EVM: the log index of a token
  transfer, blank (or -1) for the native coin. Tron: blank, and it is derived as the sync derives it (0 for TRX,
  ``trc20_index`` for a token). Bitcoin: required, the sync's pro-rata index (input position × outputs + output
  position over the per-address sums, ``docs/chains.md``): a file that numbers Bitcoin transfers otherwise is
  not idempotent with a sync of the same transactions;
- ``block``: the block height (blank: 0, unknown); ``time``: ISO 8601 (UTC when it names no zone) or Unix seconds
  (blank: unknown);
- ``from``, ``to``: addresses, normalised as listings are;
- ``asset``: ``native`` (or blank, or the coin's symbol: ETH, TRX, BTC, …) or the token contract;
- ``amount`` and ``decimals``: with ``decimals`` the amount is in whole units (``1250.5`` USDT with 6 decimals is
  1,250,500,000 base units; more fractional digits than ``decimals`` is an error); without it the amount is in base
  units (an integer)."""

MAX_VALUE_LEN = 100
"""A row error quotes at most this much of the offending value."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_EVM_TX = re.compile(r"0x[0-9a-f]{64}")
_INT = re.compile(r"[0-9]+")


class Format(StrEnum):
    auto = "auto"
    ethereum_etl = "ethereum-etl"
    trongrid_json = "trongrid-json"
    tronscan_json = "tronscan-json"
    generic = "generic"


class Kind(StrEnum):
    """What one file turned out to be (``detect``)."""

    token_transfers = "ethereum-etl token_transfers.csv"
    transactions = "ethereum-etl transactions.csv"
    blocks = "ethereum-etl blocks.csv"
    receipts = "ethereum-etl receipts.csv"
    tron_json = "TRC-20 JSON dump"
    generic = "generic CSV"


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row. ``line`` is where the row starts in the file (1 is the header); for a JSON dump it is the line
    where the row's page starts, and ``item`` the row's position in that page (0-based)."""

    line: int
    column: str | None
    value: str | None
    reason: str
    item: int | None = None


class FileRefused(ValueError):
    """The file as a whole cannot be read (not the expected format, a header missing columns, broken JSON)."""

    def __init__(self, reason: str, line: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass
class Tally:
    """What a reader saw besides good rows and errors: rows read, rows skipped on purpose (why → count), rows whose
    time is unknown."""

    rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    unknown_time: int = 0

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


Item = Transfer | RowError


def _cut(value: str | None) -> str | None:
    return None if value is None else value[:MAX_VALUE_LEN]


class _Bad(Exception):
    """A row's field is wrong: carried to the reader's loop, which turns it into a ``RowError``."""

    def __init__(self, column: str | None, value: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.value = value
        self.reason = reason


class Addresses:
    """Address normalisation through ``chains.addresses`` with a bounded cache per network: a file names the same
    few thousand addresses (token contracts above all) over and over, and a dictionary hit costs far less than the
    checks."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.spaces: dict[str, dict[str, str]] = {}

    def space(self, network: str) -> dict[str, str]:
        """The cache of one network (as given → normalised), for readers that look it up inline."""
        return self.spaces.setdefault(network, {})

    def __call__(self, value: str, network: str, column: str) -> str:
        seen = self.space(network)
        found = seen.get(value)
        if found is not None:
            return found
        try:
            norm = normalize(value, network).address
        except AddressError as e:
            raise _Bad(column, value, f"{e.reason}: {e.message}") from None
        if len(seen) >= self.limit:
            seen.clear()
        seen[value] = norm
        return norm


def detect(head: str) -> Kind:
    """The kind of a file from its first characters (a JSON value, or a CSV header row)."""
    start = head.lstrip("\ufeff \t\r\n")
    if start[:1] in ("{", "["):
        return Kind.tron_json
    columns = _header(next(csv.reader([start.splitlines()[0] if start else ""]), []))
    have = set(columns)
    if set(TOKEN_TRANSFER_COLUMNS) <= have:
        return Kind.token_transfers
    if set(TRANSACTION_COLUMNS) <= have:
        return Kind.transactions
    if set(RECEIPT_COLUMNS) <= have and "log_index" not in have:
        return Kind.receipts
    if set(BLOCK_COLUMNS) <= have:
        return Kind.blocks
    if set(GENERIC_REQUIRED) <= have:
        return Kind.generic
    raise FileRefused(
        "cannot tell the format from the header "
        f"({', '.join(columns[:12]) or 'empty'}): expected ethereum-etl token_transfers.csv "
        f"({', '.join(TOKEN_TRANSFER_COLUMNS)}), transactions.csv, blocks.csv, receipts.csv, a TRC-20 JSON dump, "
        f"or the generic CSV ({', '.join(GENERIC_COLUMNS)})"
    )


def kinds_for(fmt: Format) -> frozenset[Kind]:
    """Kinds a ``--format`` accepts (``auto``: any)."""
    if fmt == Format.ethereum_etl:
        return frozenset({Kind.token_transfers, Kind.transactions, Kind.blocks, Kind.receipts})
    if fmt in (Format.trongrid_json, Format.tronscan_json):
        return frozenset({Kind.tron_json})
    if fmt == Format.generic:
        return frozenset({Kind.generic})
    return frozenset(Kind)


def _header(row: list[str]) -> list[str]:
    return [c.strip().lstrip("\ufeff").lower() for c in row]


# ---------------------------------------------------------------------------------------------------- CSV basics


def _csv_table(stream: IO[str], required: Iterable[str]) -> tuple[dict[str, int], Iterator[tuple[int, list[str]]]]:
    """The header's column positions, and ``(line, fields)`` per data row; blank lines are skipped.

    ``line`` is where the row starts (a quoted field may span lines). A header without the ``required`` columns
    refuses the file; a row that cannot be split (an unclosed quote) ends it with a ``FileRefused`` at that line.
    """
    reader = csv.reader(stream, strict=True)
    try:
        header = _header(next(reader))
    except StopIteration:
        raise FileRefused("the file is empty; expected a header row") from None
    except csv.Error as e:
        raise FileRefused(f"unreadable header: {e}") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRefused(f"missing column(s) {', '.join(missing)} in the header ({', '.join(header[:20])})")
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise FileRefused(f"repeated column(s) {', '.join(dup)}")
    return {c: i for i, c in enumerate(header)}, _data_rows(reader)


def _data_rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    prev_end = reader.line_num
    while True:
        start = prev_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise FileRefused(f"broken CSV: {e}", start) from None
        prev_end = reader.line_num
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        yield start, fields


def _csv_rows(stream: IO[str], required: Iterable[str]) -> Iterator[tuple[int, dict[str, int], list[str]]]:
    """``(line, column positions, fields)`` per data row (``_csv_table`` for readers that bind positions once)."""
    positions, rows = _csv_table(stream, required)
    for line, fields in rows:
        yield line, positions, fields


def _width_error(line: int, fields: list[str], positions: Mapping[str, int]) -> RowError | None:
    """A row with more or fewer fields than the header (``positions`` has one entry per header column)."""
    if len(fields) != len(positions):
        return RowError(line, None, None, f"{len(fields)} fields where the header has {len(positions)}")
    return None


def _uint(value: str, column: str, limit: int | None = None) -> int:
    v = value if value.isdigit() and value.isascii() else value.strip()
    if not (v.isdigit() and v.isascii()):  # isascii: int() would take other scripts' digits
        raise _Bad(column, value, "not a non-negative integer")
    n = int(v)
    if limit is not None and n > limit:
        raise _Bad(column, value, f"larger than {limit}")
    return n


def _evm_tx(value: str, column: str) -> str:
    if len(value) == 66 and _EVM_TX.fullmatch(value):  # what exports write: checked as is
        return value
    v = value.strip().lower()
    if not v.startswith("0x"):
        v = "0x" + v
    if not _EVM_TX.fullmatch(v):
        raise _Bad(column, value, "not a transaction hash (0x and 64 hex digits)")
    return v


def _hex_tx(value: str, column: str) -> str:
    v = value.strip().lower().removeprefix("0x")
    if not _HEX64.fullmatch(v):
        raise _Bad(column, value, "not a transaction id (64 hex digits)")
    return v


def parse_time(value: str, column: str = "time") -> datetime | None:
    """Unix seconds (or milliseconds, past the year 5000 in seconds) or ISO 8601; a time without a zone is UTC;
    BigQuery's ``2015-08-07 03:30:33 UTC`` too. Blank: unknown (None)."""
    v = value.strip()
    if not v:
        return None
    if _INT.fullmatch(v):
        n = int(v)
        seconds = n // 1000 if n > 100_000_000_000 else n
        if seconds <= 0:
            raise _Bad(column, value, "a time at or before 1970-01-01 is not a block time")
        return block_time(seconds)
    text = v[:-4] if v.endswith(" UTC") else v
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise _Bad(column, value, "not a time (ISO 8601, e.g. 2024-06-03T12:00:00Z, or Unix seconds)") from None
    t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    if t <= UNKNOWN_TIME:
        raise _Bad(column, value, "a time at or before 1970-01-01 is not a block time")
    return t


# -------------------------------------------------------------------------------------------- blocks and receipts


class BlockTimes:
    """Block number → time from an ethereum-etl ``blocks.csv``: two sorted int64 arrays (16 bytes a block, not a
    Python dict entry's ~100), looked up by binary search; consecutive rows of one block hit a one-entry cache."""

    def __init__(self, numbers: array[int], stamps: array[int]) -> None:
        order = np.argsort(np.frombuffer(numbers, dtype=np.int64), kind="stable")
        self.numbers = np.frombuffer(numbers, dtype=np.int64)[order]
        self.stamps = np.frombuffer(stamps, dtype=np.int64)[order]
        self._last: tuple[int, datetime | None] = (-1, None)

    def __len__(self) -> int:
        return int(self.numbers.size)

    def get(self, block: int) -> datetime | None:
        if self._last[0] == block:
            return self._last[1]
        i = int(np.searchsorted(self.numbers, block))
        found = block_time(int(self.stamps[i])) if i < self.numbers.size and self.numbers[i] == block else None
        self._last = (block, found)
        return found

    @classmethod
    def read(cls, stream: IO[str], errors: Callable[[RowError], None]) -> BlockTimes:
        numbers, stamps = array("q"), array("q")
        for line, pos, f in _csv_rows(stream, BLOCK_COLUMNS):
            bad = _width_error(line, f, pos)
            if bad is not None:
                errors(bad)
                continue
            try:
                n = _uint(f[pos["number"]], "number")
                ts = _uint(f[pos["timestamp"]], "timestamp")
                if n >= 2**63 or ts >= 2**40:
                    raise _Bad("number", f[pos["number"]], "out of range")
            except _Bad as e:
                errors(RowError(line, e.column, _cut(e.value), e.reason))
                continue
            numbers.append(n)
            stamps.append(ts)
        return cls(numbers, stamps)


@dataclass
class Receipts:
    """What ``transactions.csv`` needs from ethereum-etl's ``receipts.csv``: which transactions failed (status 0)
    and which address each contract creation made. Receipts without a status (before Byzantium) count as
    successful, as the sync counts them."""

    failed: set[str] = field(default_factory=set)
    created: dict[str, str] = field(default_factory=dict)
    rows: int = 0

    @classmethod
    def read(cls, stream: IO[str], errors: Callable[[RowError], None]) -> Receipts:
        out = cls()
        for line, pos, f in _csv_rows(stream, RECEIPT_COLUMNS):
            bad = _width_error(line, f, pos)
            if bad is not None:
                errors(bad)
                continue
            try:
                tx = _evm_tx(f[pos["transaction_hash"]], "transaction_hash")
            except _Bad as e:
                errors(RowError(line, e.column, _cut(e.value), e.reason))
                continue
            out.rows += 1
            status = f[pos["status"]].strip()
            if status == "0":
                out.failed.add(tx)
            created = f[pos["contract_address"]].strip().lower()
            if created:
                out.created[tx] = created
        return out


# ----------------------------------------------------------------------------------------------- ethereum-etl CSV


def token_transfers(
    stream: IO[str], network: str, times: BlockTimes | None, tally: Tally, addresses: Addresses | None = None
) -> Iterator[Item]:
    """ethereum-etl ``token_transfers.csv``: ``(transaction_hash, log_index)`` keys, as ``map_erc20_logs``.

    The loop is the hot path of a multi-million-row import: column positions are bound once and the address cache
    is consulted inline."""
    addr = addresses or Addresses()
    seen = addr.space(network)
    pos, rows = _csv_table(stream, TOKEN_TRANSFER_COLUMNS)
    width = len(pos)
    i_tok, i_from, i_to, i_val = pos["token_address"], pos["from_address"], pos["to_address"], pos["value"]
    i_tx, i_log, i_block = pos["transaction_hash"], pos["log_index"], pos["block_number"]
    i_time = pos.get("block_timestamp")
    for line, f in rows:
        tally.rows += 1
        if len(f) != width:
            yield RowError(line, None, None, f"{len(f)} fields where the header has {width}")
            continue
        try:
            block = _uint(f[i_block], "block_number", 2**63 - 1)
            if i_time is not None and f[i_time].strip():
                when = parse_time(f[i_time], "block_timestamp") or UNKNOWN_TIME
            else:
                when = (times.get(block) if times is not None else None) or UNKNOWN_TIME
            a, b, c = f[i_from], f[i_to], f[i_tok]
            t = Transfer(
                network,
                _evm_tx(f[i_tx], "transaction_hash"),
                _uint(f[i_log], "log_index", TRC20_INDEX_SPACE),
                block,
                when,
                seen.get(a) or addr(a, network, "from_address"),
                seen.get(b) or addr(b, network, "to_address"),
                seen.get(c) or addr(c, network, "token_address"),
                _uint(f[i_val], "value"),
            )
        except _Bad as e:
            yield RowError(line, e.column, _cut(e.value), e.reason)
            continue
        if when is UNKNOWN_TIME:
            tally.unknown_time += 1
        yield t


def _row_time(f: list[str], pos: Mapping[str, int], block: int, times: BlockTimes | None) -> datetime:
    """The row's own ``block_timestamp`` if the export has one, else the block's from ``blocks.csv``, else unknown."""
    i = pos.get("block_timestamp")
    if i is not None and f[i].strip():
        found = parse_time(f[i], "block_timestamp")
        if found is not None:
            return found
    if times is not None:
        known = times.get(block)
        if known is not None:
            return known
    return UNKNOWN_TIME


def transactions(
    stream: IO[str],
    network: str,
    times: BlockTimes | None,
    receipts: Receipts | None,
    tally: Tally,
    addresses: Addresses | None = None,
) -> Iterator[Item]:
    """ethereum-etl ``transactions.csv``: value-carrying, successful transactions, ``(hash, -1)`` as
    ``map_native_transfers``. Without ``receipts`` a failed payment cannot be told from a good one (the service
    refuses that unless told otherwise) and a contract creation's address is unknown (skipped, as the sync does)."""
    addr = addresses or Addresses()
    for line, pos, f in _csv_rows(stream, TRANSACTION_COLUMNS):
        tally.rows += 1
        bad = _width_error(line, f, pos)
        if bad is not None:
            yield bad
            continue
        try:
            value = _uint(f[pos["value"]], "value")
            tx = _evm_tx(f[pos["hash"]], "hash")
            block = _uint(f[pos["block_number"]], "block_number", 2**63 - 1)
            if value == 0:
                tally.skip("no value moved")
                continue
            if receipts is not None and tx in receipts.failed:
                tally.skip("failed transaction (receipt status 0)")
                continue
            to = f[pos["to_address"]].strip()
            if not to:
                to = receipts.created.get(tx, "") if receipts is not None else ""
                if not to:
                    tally.skip("contract creation without its receipt")
                    continue
            when = _row_time(f, pos, block, times)
            t = Transfer(
                network,
                tx,
                NATIVE_IDX,
                block,
                when,
                addr(f[pos["from_address"]], network, "from_address"),
                addr(to, network, "to_address"),
                NATIVE,
                value,
            )
        except _Bad as e:
            yield RowError(line, e.column, _cut(e.value), e.reason)
            continue
        if when is UNKNOWN_TIME:
            tally.unknown_time += 1
        yield t


# --------------------------------------------------------------------------------------------------- generic CSV


def generic(
    stream: IO[str], default_network: str | None, tally: Tally, addresses: Addresses | None = None
) -> Iterator[Item]:
    """The generic CSV (``GENERIC_COLUMNS``)."""
    addr = addresses or Addresses()
    seen: dict[tuple[str, str, str, str, int], int] = {}  # Tron: identical transfers within a transaction
    for line, pos, f in _csv_rows(stream, GENERIC_REQUIRED):
        tally.rows += 1
        bad = _width_error(line, f, pos)
        if bad is not None:
            yield bad
            continue

        def get(column: str, fields: list[str] = f, positions: dict[str, int] = pos) -> str:
            i = positions.get(column)
            return fields[i].strip() if i is not None else ""

        try:
            t = _generic_row(get, default_network, addr, seen)
        except _Bad as e:
            yield RowError(line, e.column, _cut(e.value), e.reason)
            continue
        if t.time is UNKNOWN_TIME:
            tally.unknown_time += 1
        yield t


def _generic_row(
    get: Callable[[str], str],
    default_network: str | None,
    addr: Addresses,
    seen: dict[tuple[str, str, str, str, int], int],
) -> Transfer:
    network = (get("network") or default_network or "").lower()
    if not network:
        raise _Bad("network", "", "no network: fill the column or give --network")
    if network not in IMPORT_NETWORKS:
        raise _Bad("network", network, f"not a network the registry syncs ({', '.join(sorted(IMPORT_NETWORKS))})")
    evm = network in EVM_NETWORKS
    tx = _evm_tx(get("tx_id"), "tx_id") if evm else _hex_tx(get("tx_id"), "tx_id")
    src = addr(get("from"), network, "from")
    dst = addr(get("to"), network, "to")
    asset_text = get("asset")
    if not asset_text or asset_text.lower() == NATIVE or asset_text.upper() in NATIVE_SYMBOLS.get(network, ()):
        asset = NATIVE
    elif network == "btc":
        raise _Bad("asset", asset_text, "Bitcoin moves only BTC (native)")
    else:
        asset = addr(asset_text, network, "asset")
    amount = _amount(get("amount"), get("decimals"))
    block_text = get("block")
    block = _uint(block_text, "block", 2**63 - 1) if block_text else 0
    when = parse_time(get("time")) or UNKNOWN_TIME
    index_text = get("index")
    if evm:
        if asset == NATIVE:
            if index_text not in ("", "-1"):
                raise _Bad("index", index_text, "a native EVM transfer's index is -1 (or blank), as the sync keys it")
            idx = NATIVE_IDX
        else:
            if not index_text:
                raise _Bad("index", "", "a token transfer needs its log index")
            idx = _uint(index_text, "index", TRC20_INDEX_SPACE)
    elif network == "tron":
        if asset == NATIVE:
            if index_text not in ("", "0"):
                raise _Bad("index", index_text, "a TRX payment's index is 0 (or blank), as the sync keys it")
            idx = 0
        elif index_text:
            idx = _uint(index_text, "index", TRC20_INDEX_SPACE)
            if idx == 0:
                raise _Bad("index", index_text, "0 is a TRX payment's index; a TRC-20 index is 1 or more")
        else:
            key = (tx, asset, src, dst, amount)
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            idx = trc20_index(asset, src, dst, amount, occurrence)
    else:
        if not index_text:
            raise _Bad("index", "", "a Bitcoin transfer needs its index (see the generic CSV's description)")
        idx = _uint(index_text, "index", TRC20_INDEX_SPACE)
    return Transfer(network, tx, idx, block, when, src, dst, asset, amount)


def _amount(text: str, decimals_text: str) -> int:
    """Base units from ``amount`` (whole units when ``decimals`` is given, else base units), exactly."""
    if not text:
        raise _Bad("amount", "", "no amount")
    if not decimals_text:
        return _uint(text, "amount")
    decimals = _uint(decimals_text, "decimals", 36)
    with localcontext() as ctx:
        ctx.prec = 120
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise _Bad("amount", text, "not a number") from None
        if not d.is_finite() or d < 0:
            raise _Bad("amount", text, "not a non-negative number")
        base = d.scaleb(decimals)
        if base != base.to_integral_value():
            raise _Bad("amount", text, f"more fractional digits than the asset's {decimals} decimals")
        return int(base)


# ------------------------------------------------------------------------------------------------ TRC-20 JSON dumps


_GIVE_UP_AFTER = 1 << 16
"""A JSON syntax error this far before the end of what has been read is an error, not a value cut off by the
end of the buffer: stop instead of reading the rest of the file into memory looking for its end."""


def json_values(chunks: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` for each top-level JSON value of a stream, and for each element of a top-level array.

    Hand-written on ``JSONDecoder.raw_decode`` (no streaming JSON parser is among the dependencies): a dump is a
    sequence of pages of at most a few hundred transfers each (TronGrid's page limit is 200), so one page at a time
    is what is held, whether the pages come as one array, one per line or back to back.
    """
    decoder = json.JSONDecoder()
    it = iter(chunks)
    buf, pos, line = "", 0, 1
    while True:
        while pos < len(buf) and buf[pos] in " \t\r\n,[]\ufeff":
            if buf[pos] == "\n":
                line += 1
            pos += 1
        if pos >= len(buf):
            more = next(it, None)
            if more is None:
                return
            buf, pos = more, 0
            continue
        try:
            value, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as e:
            rest = buf[pos:]
            added = [] if len(buf) - e.pos > _GIVE_UP_AFTER else _take(it, len(rest))
            if not added:
                raise FileRefused(f"not JSON: {e.msg}", line + buf.count("\n", pos, e.pos)) from None
            buf, pos = rest + "".join(added), 0
            continue
        yield line, value
        line += buf.count("\n", pos, end)
        pos = end


def _take(it: Iterator[str], at_least: int) -> list[str]:
    """Chunks adding up to at least ``at_least`` characters (or what is left): a value larger than a chunk is read
    in doubling steps, so it is parsed a logarithmic number of times, not once per chunk."""
    out: list[str] = []
    size = 0
    while size < max(at_least, 1):
        chunk = next(it, None)
        if chunk is None:
            break
        out.append(chunk)
        size += len(chunk)
    return out


def _chunks(stream: IO[str], size: int = 1 << 20) -> Iterator[str]:
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        yield chunk


def tron_json(stream: IO[str], tally: Tally, addresses: Addresses | None = None) -> Iterator[Item]:
    """TRC-20 transfer pages of TronGrid or Tronscan, each page recognised by its shape; ``idx`` through the sync's
    own ``map_trc20_history`` (one ``seen`` for the whole file: it is one account's history)."""
    addr = addresses or Addresses()
    seen: dict[tuple[str, str, str, str, int], int] = {}
    for line, value in json_values(_chunks(stream)):
        for k, (item, shape) in enumerate(_page_items(value, line)):
            tally.rows += 1
            try:
                t = (
                    _trongrid_item(item, seen, tally, addr)
                    if shape == "trongrid"
                    else _tronscan_item(item, seen, tally, addr)
                )
            except _Bad as e:
                yield RowError(line, e.column, _cut(e.value), e.reason, item=k)
                continue
            if t is not None:
                yield t


def _page_items(value: Any, line: int) -> Iterator[tuple[Any, str]]:
    if isinstance(value, dict):
        if isinstance(value.get("data"), list):
            if value.get("success") is False:
                raise FileRefused(f"a TronGrid page that failed (success: false): {str(value)[:200]}", line)
            for it in value["data"]:
                yield it, "trongrid"
            return
        if isinstance(value.get("token_transfers"), list):
            for it in value["token_transfers"]:
                yield it, "tronscan"
            return
        if "transaction_id" in value:
            yield value, ("tronscan" if "quant" in value else "trongrid")
            return
    raise FileRefused(
        'a JSON value that is neither a TronGrid page ({"data": [...]}) nor a Tronscan page '
        '({"token_transfers": [...]}) nor one transfer',
        line,
    )


def _trongrid_item(
    it: Any, seen: dict[tuple[str, str, str, str, int], int], tally: Tally, addr: Addresses
) -> Transfer | None:
    if not isinstance(it, dict):
        raise _Bad(None, str(it)[:MAX_VALUE_LEN], "not a transfer object")
    if it.get("type", "Transfer") != "Transfer":
        tally.skip(f"{it.get('type')} (not a transfer)")
        return None
    info = it.get("token_info")
    token = info.get("address") if isinstance(info, dict) else None
    value = str(it.get("value", ""))
    if not _INT.fullmatch(value):
        raise _Bad("value", value, "not a non-negative integer")
    tx = _hex_tx(str(it.get("transaction_id", "")), "transaction_id")
    # Addresses in base58 as the sync stores them (a dump in the 41… hex form becomes base58 first): the TRC-20
    # index is computed from these strings.
    normalised = {
        **it,
        "transaction_id": tx,
        "from": addr(str(it.get("from", "")), "tron", "from"),
        "to": addr(str(it.get("to", "")), "tron", "to"),
        "token_info": {"address": addr(str(token or ""), "tron", "token_info.address")},
    }
    try:
        found = map_trc20_history([normalised], seen)
    except MalformedResponse as e:
        raise _Bad("block_timestamp", None, f"not a TronGrid TRC-20 transfer: {e.reason}") from None
    return found[0] if found else None


def _tronscan_item(
    it: Any, seen: dict[tuple[str, str, str, str, int], int], tally: Tally, addr: Addresses
) -> Transfer | None:
    """A Tronscan item, keyed like TronGrid's: converted to TronGrid's shape and mapped by the same function."""
    if not isinstance(it, dict):
        raise _Bad(None, str(it)[:MAX_VALUE_LEN], "not a transfer object")
    if it.get("revert") or any(it.get(k) not in (None, "SUCCESS") for k in ("contractRet", "finalResult")):
        tally.skip("failed or reverted transaction")
        return None
    if it.get("confirmed") is False:
        tally.skip("not yet confirmed")
        return None
    converted = {
        "transaction_id": it.get("transaction_id"),
        "token_info": {"address": it.get("contract_address") or (it.get("tokenInfo") or {}).get("tokenId")},
        "block_timestamp": it.get("block_ts"),
        "from": it.get("from_address"),
        "to": it.get("to_address"),
        "type": "Transfer",
        "value": it.get("quant"),
    }
    t = _trongrid_item(converted, seen, tally, addr)
    if t is None:
        return None
    block = it.get("block")
    if isinstance(block, int) and block >= 0:
        t = t._replace(block=block)
    return t
