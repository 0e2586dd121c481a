"""Pure mappers from TronGrid bodies to records.

The wallet API (``/walletsolidity/*``) names addresses in hex with the 0x41 prefix; the v1 API names them in
base58. Records always carry base58, the registry's canonical Tron form. A Tron transaction holds exactly one
contract, so its transfer is ``(txID, 0)``; TRC-20 history entries of one transaction are numbered in order.
"""

from __future__ import annotations

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
        return Transfer(NETWORK, tx["txID"], 0, block, when, src, dst, token, amount)
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


def map_trc20_history(items: Iterable[Mapping[str, Any]]) -> list[Transfer]:
    """``/v1/accounts/{a}/transactions/trc20`` entries. They carry no block number: ``block`` is 0 for them."""
    out = []
    seen: dict[str, int] = {}
    try:
        for it in items:
            if it.get("type", "Transfer") != "Transfer":
                continue
            txid = str(it["transaction_id"])
            idx = seen.get(txid, 0)
            seen[txid] = idx + 1
            out.append(
                Transfer(
                    NETWORK,
                    txid,
                    idx,
                    0,
                    block_time(int(it["block_timestamp"]) // 1000),
                    str(it["from"]),
                    str(it["to"]),
                    str(it["token_info"]["address"]),
                    int(it["value"]),
                )
            )
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"tron trc20 history: {e!r}") from e
    return out
