"""Address validation and normalisation for every chain the registry lists.

``normalize(address, chain)`` is the single entry point: it returns the canonical form (EVM lowercase, Tron base58,
Bitcoin bech32 lowercase, Bitcoin Cash CashAddr lowercase with its ``bitcoincash:`` prefix, whichever form it came
in) and the chain, or raises ``AddressError`` naming the reason (checksum, length, prefix, characters, format,
chain, network: a testnet or regtest address) so that an HTTP caller gets a 422 it can act on.
``normalize_many(addresses)`` validates a batch's common forms at once in compiled code (``batch``), and leaves the
rest to ``normalize``.
"""

from chains.addresses.batch import normalize_many
from chains.addresses.normalize import (
    EVM_NETWORKS,
    LISTING_CHAINS,
    AddressError,
    NormalizedAddress,
    chain_family,
    detect_chain,
    normalize,
)

__all__ = [
    "EVM_NETWORKS",
    "LISTING_CHAINS",
    "AddressError",
    "NormalizedAddress",
    "chain_family",
    "detect_chain",
    "normalize",
    "normalize_many",
]
