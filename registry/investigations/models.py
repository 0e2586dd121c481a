"""Response and request models of the investigations API (``/work/helpers/investigations-api.md`` is the contract;
fields may be added, never renamed). Only investigators and supervisors get these; nothing here names a case but
the candidates' listings, which go to a case the caller is a member of."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from registry.cases.models import ListingPublic
from registry.taxonomy.categories import CONFIDENCE_LEVELS
from registry.types import AddressStr, ChainStr, ReasonStr


class Amount(BaseModel):
    network: str = Field(description="the network the transfers are on (eth, bsc, tron, btc, …)")
    asset: str = Field(description='"native" or the token contract')
    symbol: str | None = Field(description="from the registry's asset table; null for a token it does not know")
    decimals: int | None
    amount: str = Field(description="exact decimal amount in whole units (the raw amount when decimals is unknown)")
    raw: str = Field(description="exact amount in base units (wei, sun, satoshi, token units)")
    value: float = Field(description="the reference value the scoring weighs it with (0 for unpriced tokens)")


class Position(BaseModel):
    """What a stored transfer index means (``registry.investigations.units``)."""

    kind: Literal["log", "call", "trc20", "output"]
    index: int | None


class EntityRef(BaseModel):
    id: int
    name: str
    kind: str
    licensed: bool = Field(description="a licensed service: the money trail stops at it")


class Risk(BaseModel):
    score: int
    level: str
    action: str


class ListingSummary(BaseModel):
    categories: list[str]
    status: Literal["active"] = Field(description="live listings only (what banks see)")


class Counterparty(BaseModel):
    address: str
    direction: Literal["in", "out"] = Field(description="in: it paid the address; out: the address paid it")
    amounts: list[Amount] = Field(description="per network and asset, largest value first")
    value: float = Field(description="total reference value")
    transfers: int
    first_seen: datetime | None = Field(description="null when no transfer's time is known")
    last_seen: datetime | None
    listing: ListingSummary | None
    risk: Risk
    entity: EntityRef | None


class Counterparties(BaseModel):
    address: str
    chain: str
    items: list[Counterparty]
    next: str | None = Field(description="cursor of the next page (pass as ?after=); null on the last page")
    total: int = Field(description="counterparty and direction pairs in all pages")


class NodeInfo(BaseModel):
    address: str
    listed: list[str] = Field(description="live listed categories")
    licensed: bool
    exposed: bool = Field(description="the address has exposure of its own (its risk comes from it)")
    entity: EntityRef | None
    risk: Risk


class TraceNode(NodeInfo):
    hops: int = Field(description="fewest hops from the origin (0: the origin)")
    share: float = Field(description="share of the origin's outflow (forward) or inflow (backward) reaching it")
    value: float = Field(description="the share in reference value: share × the origin's total")
    expanded: bool = Field(description="its own transfers were followed (false: a leaf, licensed, listed or pruned)")


class TraceEdge(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    value: float = Field(description="reference value of all transfers from → to that count")
    share: float = Field(description="share of the origin's outflow (inflow) that moved along this edge")
    hop_share: float = Field(description="share of the sender's outflow (forward) or receiver's inflow (backward)")
    transfers: int

    model_config = ConfigDict(populate_by_name=True)


class Trace(BaseModel):
    address: str
    chain: str
    direction: Literal["forward", "backward"]
    hops: int
    total: float = Field(description="the origin's total outflow (forward) or inflow (backward), reference value")
    returned: float = Field(
        description="share of it that came back to the origin within the hops (round trips); the origin's node "
        "shows share 1, where the money starts"
    )
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    truncated: bool = Field(description="pruning or the node limit left reached addresses out")


class PathTx(BaseModel):
    tx_id: str
    block_time: datetime | None
    position: Position
    amount: Amount


class PathHop(BaseModel):
    from_: str = Field(alias="from", serialization_alias="from")
    to: str
    share: float = Field(description="share of the receiver's inflow (backward) or the sender's outflow (forward)")
    transactions: list[PathTx] = Field(description="the largest transfers of this hop (at most 5)")

    model_config = ConfigDict(populate_by_name=True)


class PathOut(BaseModel):
    share: float = Field(description="the product of the hop shares: the haircut term this path adds")
    direction: Literal["outgoing", "incoming"] = Field(
        description="outgoing: money went from the address to the end; incoming: it came from there"
    )
    category: str | None = Field(description="the listed category the path ends at (category search)")
    hops: list[PathHop]


class Paths(BaseModel):
    address: str
    chain: str
    paths: list[PathOut]


class Destination(NodeInfo):
    rank: int
    share: float
    value: float
    hops: int
    candidate: bool = Field(description="may be listed in one action: not licensed and not listed already")


class Destinations(BaseModel):
    address: str
    chain: str
    hops: int
    total: float = Field(description="the address's total outflow, reference value")
    items: list[Destination]


class AddressRef(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    chain: ChainStr
    address: AddressStr


class CandidatesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    chain: ChainStr = Field(description="the chain of every address")
    addresses: list[AddressStr] = Field(min_length=1, max_length=100)
    category: str = Field("money_mule", min_length=1, max_length=32)
    confidence: str = Field(
        "heuristic", description="a confidence level name (GET /v1/categories): heuristic or stronger"
    )
    reason: ReasonStr = Field(description="why these wallets: kept in each listing's evidence note and the audit log")
    legal_basis: ReasonStr | None = Field(None, description="the listings' legal basis; default: the reason")
    derived_from: AddressRef = Field(description="the wallet the money was followed from")

    @field_validator("confidence")
    @classmethod
    def _known_level(cls, v: str) -> str:
        names = [c.name for c in CONFIDENCE_LEVELS]
        if v not in names:
            raise ValueError(f"unknown confidence level {v!r}; levels: {', '.join(names)}")
        return v


class CandidatesOut(BaseModel):
    listings: list[ListingPublic]
