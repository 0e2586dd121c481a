"""The adapter contract every chain satisfies, and the records it returns.

A sync engine that knows only this module can drive any chain: ask for the safe head, fetch a block range (the
transfers in it plus the block hashes that let it notice a reorg), and fetch one address's activity for the crawl.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, runtime_checkable

NATIVE = "native"
"""Asset name of a chain's own coin (ETH, BNB, TRX, BTC); tokens are named by their normalised contract."""

UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""``Transfer.time`` when the source does not say it (an ethereum-etl ``token_transfers.csv`` loaded without its
``blocks.csv``). The stored column is NOT NULL, so "unknown" is this sentinel, the Unix epoch: no transfer of any
supported chain happened then (genesis blocks carry no transfers). Whatever shows a time to people shows this one
as unknown (``is_unknown_time``); a later import, sync or crawl that knows the block's time fills it in."""


def is_unknown_time(t: datetime | None) -> bool:
    """True for the sentinel (or None); compares the instant, so a naive UTC value read back from SQLite counts."""
    if t is None:
        return True
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)) == UNKNOWN_TIME


class Transfer(NamedTuple):
    """One value movement. ``(network, tx_id, idx)`` is its identity on every path (sync and crawl alike).

    A NamedTuple rather than a frozen dataclass: a sync builds tens of thousands per second and a tuple is
    built several times faster, with the same immutability and typed fields.
    """

    network: str
    tx_id: str
    idx: int
    block: int
    time: datetime
    from_address: str
    to_address: str
    asset: str
    amount: int  # base units (wei, sun, satoshi, token units), exact

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.network, self.tx_id, self.idx)


@dataclass(frozen=True, slots=True)
class BlockRef:
    number: int
    hash: str
    parent_hash: str


@dataclass(slots=True)
class BlockBatch:
    """What a range fetch returns: the transfers, and the hashes of (some of) its blocks for reorg checks.

    ``blocks`` always holds the first and the last block of the range and every block an adapter saw anyway; the
    parent hash of the first links the batch to what was stored before it.
    """

    start: int
    end: int
    transfers: list[Transfer] = field(default_factory=list)
    blocks: list[BlockRef] = field(default_factory=list)


@dataclass(slots=True)
class Activity:
    """An address's transfers since a point, and the point to continue from next time."""

    transfers: list[Transfer]
    next_since: int
    complete: bool  # False when a budget cut the history short: the next crawl continues from next_since


@runtime_checkable
class ChainAdapter(Protocol):
    """The contract. Implementations: ``EvmAdapter``, ``TronAdapter``, ``BitcoinAdapter``."""

    network: str

    def safe_head(self) -> int:
        """The highest block deep enough (confirmations, solidified) that it is not expected to change."""
        ...

    def fetch_range(self, start: int, end: int) -> BlockBatch:
        """Transfers in blocks ``start..end`` inclusive."""
        ...

    def block_refs(self, numbers: Sequence[int]) -> list[BlockRef]:
        """Hashes of the given blocks as the node sees them now (reorg detection)."""
        ...

    def activity(self, address: str, since: int, until: int, limit: int) -> Activity:
        """Transfers from or to ``address`` in blocks ``since..until`` (Tron: milliseconds), at most ``limit``."""
        ...


class ChainError(Exception):
    """Root of every adapter failure; ``reason`` is short and safe to record (no URLs with keys in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransportError(ChainError):
    """The node could not be reached, timed out, or kept answering 429/5xx after the retries."""


class MalformedResponse(ChainError):
    """The node answered, but with a body that is not what the API documents; never guessed around."""


class RangeTooLarge(ChainError):
    """The node refused a block range as too large (or too many results): the caller splits it."""


class ReorgDetected(ChainError):
    """A block's parent hash does not match the hash stored for the block before it."""

    def __init__(self, reason: str, block: int) -> None:
        super().__init__(reason)
        self.block = block
