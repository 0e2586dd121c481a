from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, Integer, text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from registry.db.types import utc_field

ID = BigInteger().with_variant(Integer(), "sqlite")
"""Primary keys: BIGINT on PostgreSQL; SQLite auto-numbers only a column declared exactly INTEGER PRIMARY KEY."""

UNASSIGNED = "from_id IS NULL OR to_id IS NULL OR asset_id IS NULL"
"""Rows written around the store's writer (before migration 0017, or by a plain INSERT): the partial index on it
lets the rescoring find them without a scan, and the store gives them their ids."""


class AddressRow(SQLModel, table=True):
    """The address dictionary: one integer per (address space, normalised address), filled by the writer.

    The scoring reads transfers as ``(from_id, to_id, asset_id, value)`` integer and float columns: turning two
    address strings per transfer into node numbers was most of a rescoring's time (issue 17). An id is never reused
    or changed, so a Parquet export and a cluster's copy of it keep meaning the same addresses.
    """

    __tablename__ = "address"
    __table_args__ = (UniqueConstraint("family", "address", name="uq_address"),)
    id: int | None = Field(default=None, sa_column=Column(ID, primary_key=True))
    family: str = Field(max_length=16)  # chains.addresses.chain_family of the network: every EVM network is "evm"
    address: str = Field(max_length=128)


class AssetRow(SQLModel, table=True):
    """One integer per (network, asset): the scoring prices a transfer by ``asset_id`` with a lookup array."""

    __tablename__ = "transfer_asset"
    __table_args__ = (UniqueConstraint("network", "asset", name="uq_transfer_asset"),)
    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=16)
    asset: str = Field(max_length=128)


class TransferRow(SQLModel, table=True):
    """One value movement. ``(network, tx_id, idx)`` makes every write idempotent.

    ``amount`` is the exact integer in base units as text: wei values pass 2**63 at 9.2 ETH and SQLite has no
    wider integer. ``value`` is the same amount as a float, what the scoring's sparse matrices are built from.
    The address and asset columns stay (investigations look transfers up by address); ``from_id``, ``to_id`` and
    ``asset_id`` repeat them as dictionary ids for the scoring.
    """

    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("network", "tx_id", "idx", name="uq_transfer_key"),
        Index("ix_transfer_from", "network", "from_address"),
        Index("ix_transfer_to", "network", "to_address"),
        Index("ix_transfer_block", "network", "block"),
        Index("ix_transfer_unassigned", "id", sqlite_where=text(UNASSIGNED), postgresql_where=text(UNASSIGNED)),
    )
    id: int | None = Field(default=None, sa_column=Column(ID, primary_key=True))
    network: str = Field(max_length=16)
    tx_id: str = Field(max_length=100)
    idx: int
    block: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_time: datetime = utc_field()
    from_address: str = Field(max_length=128)
    to_address: str = Field(max_length=128)
    asset: str = Field(max_length=128)  # "native" or the token contract (normalised)
    amount: str = Field(max_length=80)
    value: float = Field(sa_column=Column(Float, nullable=False))
    from_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    to_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    asset_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
