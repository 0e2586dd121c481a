"""screening rollup: daily counts of the screening log rows that retention deletes

``screening_rollup`` counts screenings per UTC day, key, chain, risk level and action (with the key's organisation),
kept forever; ``screening_rollup_day`` records the days whose log rows are all counted there. Both start empty: the
retention job (``registry/screening/retention.py``) fills them as it deletes rows older than
``REGISTRY_SCREENING_LOG_RETENTION_DAYS``.

Revision ID: 0011_screening_rollup
Revises: 0010_designations
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0011_screening_rollup"
down_revision = "0010_designations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_rollup",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("risk_level", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("org", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("screenings", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "key_id", "chain", "risk_level", "action"),
    )
    op.create_table(
        "screening_rollup_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_up_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )


def downgrade() -> None:
    op.drop_table("screening_rollup_day")
    op.drop_table("screening_rollup")
