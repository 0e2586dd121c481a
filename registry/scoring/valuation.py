"""Making transfer values comparable across assets: ``value / 10**decimals * price`` per (network, asset).

Kept deliberately simple: a configured table of reference prices (natives and major stablecoins built in).
Shares are ratios, so the price only matters where different assets meet at one address; an unpriced token
counts 0 by default because airdropped spam tokens with absurd face values would otherwise own every share.
"""

from __future__ import annotations

from collections.abc import Iterable

from chains.addresses import chain_family
from registry.scoring.settings import AssetPrice, ScoringSettings

UNKNOWN_DECIMALS = 18


def _key(network: str, asset: str) -> tuple[str, str]:
    network = network.lower()
    # EVM contracts are stored lowercase; a configured checksummed address must still match.
    return network, asset.lower() if chain_family(network) == "evm" or asset.lower() == "native" else asset


def configured_prices(settings: ScoringSettings) -> dict[tuple[str, str], float]:
    """Price of one base unit per (network, asset) in the form transfers are stored (EVM contracts lowercase)."""
    return {_key(*k.split(":", 1)): p.price / 10.0**p.decimals for k, p in settings.scoring_assets.items()}


def unknown_unit_price(settings: ScoringSettings) -> float:
    return settings.scoring_unknown_asset_price / 10.0**UNKNOWN_DECIMALS


def unit_prices(pairs: Iterable[tuple[str, str]], settings: ScoringSettings) -> dict[tuple[str, str], float]:
    """Price of one base unit for each (network, asset) pair given, as stored (unknown ones included)."""
    table = configured_prices(settings)
    unknown = unknown_unit_price(settings)
    return {pair: table.get(_key(*pair), unknown) for pair in pairs}


def asset_table(settings: ScoringSettings) -> dict[tuple[str, str], AssetPrice]:
    """The configured assets keyed as transfers are stored: symbol and decimals for people, price for the scoring."""
    return {_key(*k.split(":", 1)): p for k, p in settings.scoring_assets.items()}


def asset_entry(table: dict[tuple[str, str], AssetPrice], network: str, asset: str) -> AssetPrice | None:
    """One stored ``(network, asset)``'s entry of ``asset_table``, or None for an unknown token."""
    return table.get(_key(network, asset))
