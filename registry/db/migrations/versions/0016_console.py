"""console: server-side sessions of people signed in to the web console

Revision ID: 0016_console
Revises: 0015_typologies
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0016_console"
down_revision = "0015_typologies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("org", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_console_session_key_id"), "console_session", ["key_id"], unique=False)
    op.create_index(op.f("ix_console_session_ended_at"), "console_session", ["ended_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_console_session_ended_at"), table_name="console_session")
    op.drop_index(op.f("ix_console_session_key_id"), table_name="console_session")
    op.drop_table("console_session")
