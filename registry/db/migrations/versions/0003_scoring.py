"""scoring: address scores, rescoring runs, the rescoring lease

Revision ID: 0003_scoring
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0003_scoring"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_level", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("exposure", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family", "address", name="uq_address_score"),
    )
    op.create_table(
        "scoring_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("max_hops", sa.Integer(), nullable=False),
        sa.Column("policy_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("transfers_counter", sa.Integer(), nullable=False),
        sa.Column("registry_counter_in", sa.Integer(), nullable=False),
        sa.Column("registry_counter_out", sa.Integer(), nullable=False),
        sa.Column("next_expiry", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("scoring_run")
    op.drop_table("address_score")
