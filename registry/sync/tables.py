"""Sync state: a cursor per network, recent block hashes for reorg detection, run history, crawl frontier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, Index, SQLModel

from registry.db.types import utc_field


class SyncCursor(SQLModel, table=True):
    """The next block a full sync of ``network`` fetches; moved in the same transaction as each batch's rows."""

    __tablename__ = "sync_cursor"
    network: str = Field(primary_key=True, max_length=16)
    next_block: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = utc_field()


class SyncBlock(SQLModel, table=True):
    """Hash of a synced block near the tip; a later mismatch with the node shows a reorg and where it forked."""

    __tablename__ = "sync_block"
    network: str = Field(primary_key=True, max_length=16)
    number: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: str = Field(max_length=80)


class SyncRun(SQLModel, table=True):
    """One sync or crawl run and how it ended: a dead node or a malformed body leaves its reason here."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_network", "network", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=16)
    kind: str = Field(max_length=8)  # sync | crawl
    started_at: datetime = utc_field()
    finished_at: datetime | None = utc_field(nullable=True)
    status: str = Field(default="running", max_length=8)  # running | ok | failed (chain error) | error (any other)
    reason: str | None = Field(default=None, max_length=500)
    first_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_block: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    transfers: int = 0
    rolled_back: int = 0


class CrawlAddress(SQLModel, table=True):
    """An address on the crawl frontier: its hop distance from a seed and where its history was read up to."""

    __tablename__ = "crawl_address"
    __table_args__ = (Index("ix_crawl_address_hops", "network", "hops"),)
    network: str = Field(primary_key=True, max_length=16)
    address: str = Field(primary_key=True, max_length=128)
    hops: int
    since: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    crawled_at: datetime | None = utc_field(nullable=True)
