"""What people read instead of base units and bare indexes: pure functions, no database.

An amount is shown exactly (decimal text from the integer in base units, never through a float) with the symbol and
decimals of the registry's asset table (``REGISTRY_SCORING_ASSETS``, ``registry.scoring.valuation``), and beside it
the reference value the scoring weighs it with. A token missing from the table keeps its raw amount and no symbol:
guessing 18 decimals would print a wrong number with confidence.

A transfer's stored ``idx`` only makes it unique; what it means depends on the chain (``chains/``), so it is shown
as a position:

- EVM, idx -1: ``{"kind": "call", "index": null}``, the transaction's own value (the native coin);
- EVM, idx N >= 0: ``{"kind": "log", "index": N}``, the token ``Transfer`` event at log index N;
- Tron, idx 0: ``{"kind": "call", "index": null}``, the transaction's TRX payment;
- Tron, idx N > 0: ``{"kind": "trc20", "index": N}``, a TRC-20 transfer; N is derived from the token, the parties
  and the amount (``chains.tron.mappers.trc20_index``), not an event position;
- Bitcoin, idx N: ``{"kind": "output", "index": N}``, one input address's pro-rata part of one output address,
  N = input position × outputs + output position over the transaction's per-address sums
  (``chains.bitcoin.mappers``).
"""

from __future__ import annotations

from typing import Any

from chains.addresses import chain_family
from registry.scoring.settings import AssetPrice


def decimal_text(raw: int, decimals: int) -> str:
    """``raw / 10**decimals`` as exact decimal text without trailing zeros: 1250500000, 6 -> ``"1250.5"``."""
    if decimals <= 0:
        return str(raw)
    sign, raw = ("-", -raw) if raw < 0 else ("", raw)
    whole, frac = divmod(raw, 10**decimals)
    text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".")
    return sign + text


def amount(
    network: str, asset: str, raw: int, entry: AssetPrice | None, unit_price: float, value: float | None = None
) -> dict[str, Any]:
    """The ``Amount`` of the investigations API: ``value`` is the reference value (``raw × unit price`` unless the
    caller summed it already, as SQL does for many transfers)."""
    return {
        "network": network,
        "asset": asset,
        "symbol": entry.symbol if entry is not None else None,
        "decimals": entry.decimals if entry is not None else None,
        "amount": decimal_text(raw, entry.decimals) if entry is not None else str(raw),
        "raw": str(raw),
        "value": float(raw) * unit_price if value is None else value,
    }


def position(network: str, idx: int) -> dict[str, Any]:
    """The meaning of a stored ``idx`` on ``network`` (table in the module docstring)."""
    family = chain_family(network)
    if family == "btc":
        return {"kind": "output", "index": idx}
    if family == "tron":
        return {"kind": "call", "index": None} if idx == 0 else {"kind": "trc20", "index": idx}
    return {"kind": "call", "index": None} if idx < 0 else {"kind": "log", "index": idx}
