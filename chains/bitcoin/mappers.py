"""Pure mappers from Esplora bodies to records, and the rule that turns a Bitcoin transaction into transfers.

The pro-rata rule. A transaction spends inputs of one or more addresses and pays outputs to one or more
addresses; the chain does not say which input paid which output. We split every output over the input addresses
in proportion to what each put in:

    amount(i → o) = value(o) × in(i) / Σ in

computed in integers with the remainder of each output handed out by largest fractional part (ties by input
order), so the amounts to an output add up to exactly its value. Then:
- inputs and outputs are first summed per address (an address spending three coins is one input address);
- an output to one of the input addresses is change and moves nothing;
- outputs without an address (OP_RETURN, bare scripts) and inputs without one are left out;
- the fee is what is left of the inputs: it is not a transfer;
- coinbase transactions (new coins) have no sender and give no transfers.
The transfer ``idx`` is ``input position × number of outputs + output position`` over the summed lists, so the
sync and the crawl number the same pair the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chains.evm.mappers import block_time
from chains.types import NATIVE, BlockRef, MalformedResponse, Transfer

NETWORK = "btc"


def _sum_by_address(entries: list[tuple[str | None, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for addr, value in entries:
        if addr and value > 0:
            out[addr] = out.get(addr, 0) + value
    return out


def split_pro_rata(inputs: Mapping[str, int], outputs: Mapping[str, int]) -> list[tuple[int, str, str, int]]:
    """``(idx, from, to, amount)`` by the rule in the module docstring; inputs and outputs already summed."""
    total = sum(inputs.values())
    ins = list(inputs.items())
    outs = [(a, v) for a, v in outputs.items() if a not in inputs]
    n_out = len(outputs)
    positions = {a: k for k, a in enumerate(outputs)}
    result: list[tuple[int, str, str, int]] = []
    if total <= 0:
        return result
    for to, value in outs:
        shares = [(value * v) // total for _, v in ins]
        remainders = [(value * v) % total for _, v in ins]
        left = value - sum(shares)
        for k in sorted(range(len(ins)), key=lambda k: (-remainders[k], k))[:left]:
            shares[k] += 1
        for k, (frm, _) in enumerate(ins):
            if shares[k] > 0:
                result.append((k * n_out + positions[to], frm, to, shares[k]))
    return result


def map_transaction(tx: Mapping[str, Any], block: int | None = None, when: int | None = None) -> list[Transfer]:
    try:
        vin = tx["vin"]
        if any(v.get("is_coinbase") for v in vin):
            return []
        status = tx.get("status") or {}
        height = block if block is not None else int(status["block_height"])
        ts = when if when is not None else int(status["block_time"])
        inputs = _sum_by_address(
            [
                ((v.get("prevout") or {}).get("scriptpubkey_address"), int((v.get("prevout") or {})["value"]))
                for v in vin
            ]
        )
        outputs = _sum_by_address([(o.get("scriptpubkey_address"), int(o["value"])) for o in tx["vout"]])
        txid = str(tx["txid"])
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"esplora transaction: {e!r}") from e
    t = block_time(ts)
    return [
        Transfer(NETWORK, txid, idx, height, t, frm, to, NATIVE, amount)
        for idx, frm, to, amount in split_pro_rata(inputs, outputs)
    ]


def map_block_ref(raw: Mapping[str, Any]) -> BlockRef:
    try:
        return BlockRef(int(raw["height"]), str(raw["id"]), str(raw.get("previousblockhash") or ""))
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedResponse(f"esplora block: {e!r}") from e
