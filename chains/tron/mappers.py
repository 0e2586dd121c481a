"""Pure mappers from TronGrid bodies to records.

The wallet API (``/walletsolidity/*``) names addresses in hex with the 0x41 prefix; the v1 API names them in
base58. Records always carry base58, the registry's canonical Tron form.

Identity: a Tron transaction holds exactly one contract, so a TRX payment is ``(txID, 0)``. A TRC-20 transaction
can move several tokens between several parties (a DEX swap, a batch payout), and TronGrid's TRC-20 history
(``/v1/accounts/{a}/transactions/trc20``) gives no log index: each account's page shows only the transfers that
account took part in, so numbering them in page order gave two transfers of one transaction the same key from two
accounts' pages (and ``ON CONFLICT DO NOTHING`` dropped one). A TRC-20 transfer's index is instead derived from
what TronGrid does give, ``trc20_index(token, from, to, value, occurrence)``: the same transfer gets the same key
from every page and from the full sync, and different transfers of one transaction get different keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import base58

from chains.evm.mappers import block_time
from chains.types import NATIVE, BlockRef, MalformedResponse, Transfer

NETWORK = "tron"
SEL_TRANSFER = "a9059cbb"  # transfer(address,uint256)
SEL_TRANSFER_FROM = "23b872dd"  # transferFrom(address,address,uint256)


def hex_to_base58(h: str) -> str:
    h = h.removeprefix("0x")
    if len(h) == 40:
        h = "41" + h
    if len(h) != 42 or not h.startswith("41"):
        raise ValueError(f"not a Tron hex address: {h[:50]!r}")
    return base58.b58encode_check(bytes.fromhex(h)).decode()


def base58_to_hex(a: str) -> str:
    return base58.b58decode_check(a).hex()


TRC20_INDEX_SPACE = 2**31 - 1
"""TRC-20 indices are 1 … 2**31 - 1: the ``transfer.idx`` column is a 32-bit integer, and 0 stays the TRX
payment's (a transaction is a TRX payment or a contract call, never both)."""


def trc20_index(token: str, src: str, dst: str, amount: int, occurrence: int = 0) -> int:
    """A TRC-20 transfer's index within its transaction, from its token, parties and amount (base58, base units).

    ``occurrence`` numbers transfers identical in all four within one transaction (0, 1, …, in the order the API
    lists them); every page that shows one of them shows them all, since they have the same two parties. Two
    different transfers of one transaction collide with probability 2**-31, against which a larger index column
    would be the only remedy.
    """
    return trc20_index_of(f"{token}|{src}|{dst}|{amount}|{occurrence}")


def trc20_index_of(key: str) -> int:
    """1 + (the first 56 bits of SHA-256(key)) mod (2**31 - 1): SHA-256 and 56 bits because PostgreSQL computes the
    same in SQL (``sha256``, a cast through ``bit(56)`` to a non-negative bigint), which the migration that re-keyed
    stored transfers relies on."""
    return 1 + int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big") % TRC20_INDEX_SPACE


def _word_address(word: str) -> str:
    return hex_to_base58("41" + word[24:64])


def map_block_ref(raw: Mapping[str, Any]) -> BlockRef:
    try:
        header = raw["block_header"]["raw_data"]
        return BlockRef(int(header["number"]), str(raw["blockID"]), str(header["parentHash"]))
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"tron block: {e!r}") from e


def map_transaction(tx: Mapping[str, Any], block: int, when_ms: int, tokens_hex: frozenset[str]) -> Transfer | None:
    """A successful TRX payment or a direct TRC-20 ``transfer``/``transferFrom`` call to a configured token."""
    ret = tx.get("ret") or [{}]
    if ret[0].get("contractRet", "SUCCESS") != "SUCCESS":
        return None
    contract = tx["raw_data"]["contract"][0]
    kind = contract["type"]
    value = contract["parameter"]["value"]
    when = block_time(when_ms // 1000)
    if kind == "TransferContract":
        amount = int(value["amount"])
        if amount <= 0:
            return None
        return Transfer(
            NETWORK,
            tx["txID"],
            0,
            block,
            when,
            hex_to_base58(value["owner_address"]),
            hex_to_base58(value["to_address"]),
            NATIVE,
            amount,
        )
    if kind == "TriggerSmartContract" and value.get("contract_address", "").lower() in tokens_hex:
        data = value.get("data", "")
        sel = data[:8]
        if sel == SEL_TRANSFER and len(data) >= 136:
            src, dst, amount = hex_to_base58(value["owner_address"]), _word_address(data[8:72]), int(data[72:136], 16)
        elif sel == SEL_TRANSFER_FROM and len(data) >= 200:
            src, dst, amount = _word_address(data[8:72]), _word_address(data[72:136]), int(data[136:200], 16)
        else:
            return None
        token = hex_to_base58(value["contract_address"])
        return Transfer(NETWORK, tx["txID"], trc20_index(token, src, dst, amount), block, when, src, dst, token, amount)
    return None


def map_block(raw: Mapping[str, Any], tokens_hex: frozenset[str]) -> tuple[BlockRef, list[Transfer]]:
    ref = map_block_ref(raw)
    try:
        when_ms = int(raw["block_header"]["raw_data"]["timestamp"])
        out = []
        for tx in raw.get("transactions", ()):
            t = map_transaction(tx, ref.number, when_ms, tokens_hex)
            if t is not None:
                out.append(t)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise MalformedResponse(f"tron block {ref.number}: {e!r}") from e
    return ref, out


def map_account_transactions(items: Iterable[Mapping[str, Any]], tokens_hex: frozenset[str]) -> list[Transfer]:
    """``/v1/accounts/{a}/transactions`` entries (wallet format plus ``blockNumber`` and ``block_timestamp``)."""
    out = []
    try:
        for tx in items:
            if "raw_data" not in tx:  # internal-transaction entries have no contract of their own
                continue
            t = map_transaction(tx, int(tx["blockNumber"]), int(tx["block_timestamp"]), tokens_hex)
            if t is not None:
                out.append(t)
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise MalformedResponse(f"tron account transactions: {e!r}") from e
    return out


def map_trc20_history(
    items: Iterable[Mapping[str, Any]], seen: dict[tuple[str, str, str, str, int], int] | None = None
) -> list[Transfer]:
    """``/v1/accounts/{a}/transactions/trc20`` entries. They carry no block number: ``block`` is 0 for them.

    ``seen`` counts identical transfers per transaction across the pages of one history (pass the same dict for
    every page); see ``trc20_index``.
    """
    out = []
    seen = {} if seen is None else seen
    try:
        for it in items:
            if it.get("type", "Transfer") != "Transfer":
                continue
            txid = str(it["transaction_id"])
            token, src, dst, amount = str(it["token_info"]["address"]), str(it["from"]), str(it["to"]), int(it["value"])
            occurrence = seen.get((txid, token, src, dst, amount), 0)
            seen[(txid, token, src, dst, amount)] = occurrence + 1
            out.append(
                Transfer(
                    NETWORK,
                    txid,
                    trc20_index(token, src, dst, amount, occurrence),
                    0,
                    block_time(int(it["block_timestamp"]) // 1000),
                    src,
                    dst,
                    token,
                    amount,
                )
            )
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"tron trc20 history: {e!r}") from e
    return out
