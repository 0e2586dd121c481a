"""Request and response models of monitoring. A bank's models carry its own watchlist and alerts and nothing of
the cases behind a listing (category and source only, as in a screening result); the agency's carry counts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from registry.types import MAX_ID, AddressStr, ChainStr

RefStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""The bank's opaque customer reference (``registry.monitoring.watchlist.check_ref`` says what passes)."""


class WatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AddressStr
    chain: ChainStr | None = Field(None, description="btc, tron, eth, bsc, …; detected from the address if left out")
    ref: RefStr = Field(
        description=(
            "your own id for the customer (1-64 of A-Z a-z 0-9 . _ : / # -); no personal data: names, e-mail "
            "addresses, IINs (12 digits) and card numbers (13-19 digits) are refused"
        )
    )


class WatchlistAdd(BaseModel):
    """Up to ``REGISTRY_MONITORING_MAX_ITEMS`` (100,000) addresses; all or nothing."""

    model_config = ConfigDict(extra="forbid")
    items: list[WatchItem] = Field(max_length=100_000)


class UnwatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: AddressStr
    chain: ChainStr | None = None


class WatchlistRemove(BaseModel):
    """Addresses to stop watching (objects or bare address strings); all or nothing."""

    model_config = ConfigDict(extra="forbid")
    items: list[UnwatchItem | AddressStr] = Field(max_length=100_000)


class WatchlistCounts(BaseModel):
    received: int = Field(description="items in the call")
    added: int = Field(0, description="addresses newly watched")
    already_watched: int = Field(0, description="addresses watched before (their ref is updated)")
    removed: int = Field(0, description="addresses no longer watched")
    watched: int = Field(description="addresses your bank watches now")


class WatchedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    address: str
    chain: str
    ref: str
    added_at: datetime


class WatchlistPage(BaseModel):
    items: list[WatchedPublic]
    next_after_id: int | None = Field(description="pass as after_id for the next page; null on the last one")


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="https URL your bank receives alerts at (Standard Webhooks)"
    )


class WebhookPublic(BaseModel):
    url: str
    created_at: datetime
    updated_at: datetime
    secret_fingerprint: str = Field(description="sha256 prefix of the current secret: tells secrets apart")
    previous_secret_until: datetime | None = Field(
        description="until then deliveries carry a second signature, made with the secret before the last rotation"
    )
    failures: int = Field(description="consecutive failed deliveries")
    paused_until: datetime | None = Field(description="no delivery before this (backoff after a failure)")
    last_success_at: datetime | None
    last_error: str | None
    alerts: dict[str, int] = Field(description="your alerts by status: pending, delivered, dead, pull")


class WebhookSecret(WebhookPublic):
    secret: str | None = Field(
        description="the signing secret (whsec_…): shown once, when the webhook is created or its secret rotated"
    )


class WebhookRemoved(BaseModel):
    alerts_left_for_pull: int = Field(description="alerts that waited to be pushed: read them with GET /v1/alerts")


class AlertListing(BaseModel):
    category: str
    source: str


class AlertResult(BaseModel):
    risk_score: int
    risk_level: str
    action: str
    direct: list[AlertListing]


class AlertPublic(BaseModel):
    """One alert: the watched address, your ref, and its result before and after the registry version."""

    id: int = Field(description="grows with every alert: read in order with ?after=")
    address: str
    chain: str
    ref: str
    registry_version: str
    previous: AlertResult
    current: AlertResult
    reasons: list[str] = Field(description="listed, listing_removed, level_raised, level_lowered, action_changed")
    created_at: datetime
    status: str = Field(description="pending, delivered, dead (a dead letter: replay it), pull (no webhook)")
    attempts: int
    delivered_at: datetime | None
    last_error: str | None


class AlertPage(BaseModel):
    alerts: list[AlertPublic]
    next_after: int = Field(description="the cursor to send as ?after= next time (the last id read, or yours)")


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, max_length=10_000, description="dead letters to replay; all of them when left out"
    )


class ReplayResult(BaseModel):
    replayed: int


class AddressChangePublic(BaseModel):
    """An address whose screening result changed at ``registry_version`` (score, level, action or direct
    listings); screen it for the full result (exposure)."""

    address: str
    chain: str = Field(description="the address space: evm for every EVM network, else the chain")
    registry_version: str
    risk_score: int
    risk_level: str
    action: str
    direct: list[AlertListing]


class ChangesPage(BaseModel):
    since: int
    version: int = Field(description="the last version processed: ask ?since= this next time")
    changes: list[AddressChangePublic]
    next_after: int | None = Field(description="more changes in this page's range: pass as ?after=")


class BankCounts(BaseModel):
    bank: str
    watched: int
    alerts: int
    pending: int
    delivered: int
    dead: int
    pull: int


class MonitoringSummary(BaseModel):
    """Counts per bank, never which addresses a bank watches."""

    banks: list[BankCounts]
    watched: int
    last_processed_version: int | None
