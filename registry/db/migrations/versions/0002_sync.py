"""sync: cursor per network, recent block hashes, run history, crawl frontier

Revision ID: 0002_sync
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0002_sync"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_cursor",
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network"),
    )
    op.create_table(
        "sync_block",
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.PrimaryKeyConstraint("network", "number"),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("started_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("first_block", sa.BigInteger(), nullable=True),
        sa.Column("last_block", sa.BigInteger(), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("rolled_back", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_run_network", "sync_run", ["network", "id"], unique=False)
    op.create_table(
        "crawl_address",
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("hops", sa.Integer(), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("crawled_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("network", "address"),
    )
    op.create_index("ix_crawl_address_hops", "crawl_address", ["network", "hops"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crawl_address_hops", table_name="crawl_address")
    op.drop_table("crawl_address")
    op.drop_index("ix_sync_run_network", table_name="sync_run")
    op.drop_table("sync_run")
    op.drop_table("sync_block")
    op.drop_table("sync_cursor")
