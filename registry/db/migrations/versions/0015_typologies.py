"""typologies: behavioural indicators per address and typology matches

Revision ID: 0015_typologies
Revises: 0014_reports
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0015_typologies"
down_revision = "0014_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_typology",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("red_flags", sa.Text(), nullable=False),
        sa.Column("indicators", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family", "address", name="uq_address_typology"),
    )
    op.create_table(
        "typology_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("typology", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family", "address", "typology", name="uq_typology_match"),
    )
    op.create_index("ix_typology_match_typology", "typology_match", ["typology"])
    op.create_table(
        "typology_observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("typology", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("first_flagged_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_flagged_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_typology_observation_period",
        "typology_observation",
        ["typology", "first_flagged_at", "last_flagged_at"],
    )
    op.create_index(
        "uq_typology_observation_open",
        "typology_observation",
        ["typology", "family", "address"],
        unique=True,
        sqlite_where=sa.text("is_open"),
        postgresql_where=sa.text("is_open"),
    )


def downgrade() -> None:
    op.drop_index("uq_typology_observation_open", table_name="typology_observation")
    op.drop_index("ix_typology_observation_period", table_name="typology_observation")
    op.drop_table("typology_observation")
    op.drop_index("ix_typology_match_typology", table_name="typology_match")
    op.drop_table("typology_match")
    op.drop_table("address_typology")
