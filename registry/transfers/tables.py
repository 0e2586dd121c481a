from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Float, Integer
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from registry.db.types import utc_field


class TransferRow(SQLModel, table=True):
    """One value movement. ``(network, tx_id, idx)`` makes every write idempotent.

    ``amount`` is the exact integer in base units as text: wei values pass 2**63 at 9.2 ETH and SQLite has no
    wider integer. ``value`` is the same amount as a float, what the scoring's sparse matrices are built from.
    """

    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("network", "tx_id", "idx", name="uq_transfer_key"),
        Index("ix_transfer_from", "network", "from_address"),
        Index("ix_transfer_to", "network", "to_address"),
        Index("ix_transfer_block", "network", "block"),
    )
    # SQLite auto-numbers only a column declared exactly INTEGER PRIMARY KEY.
    id: int | None = Field(
        default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    )
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
