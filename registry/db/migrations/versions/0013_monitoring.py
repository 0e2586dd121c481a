"""monitoring: watchlists, alerts outbox, webhook endpoints and deliveries

``monitoring_watch`` (a bank's watched addresses with its customer refs), ``monitoring_endpoint`` (a bank's webhook
and signing secrets), ``monitoring_cursor`` (registry versions processed), ``monitoring_state`` (the last results
the alert computation saw), ``monitoring_change`` (the changes feed), ``monitoring_alert`` (the outbox with its
delivery state). All start empty; the first processing of a version sets the baseline without alerting.

Revision ID: 0013_monitoring
Revises: 0012_investigations
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0013_monitoring"
down_revision = "0012_investigations"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _utc() -> registry.db.types.UtcDateTime:
    return registry.db.types.UtcDateTime(timezone=True)


def _results() -> list[sa.Column[object]]:
    """Both sides of a change: the result before and after (score, level, action, direct listings)."""
    return [
        sa.Column("prev_score", sa.Integer(), nullable=False),
        sa.Column("prev_level", _str(8), nullable=False),
        sa.Column("prev_action", _str(8), nullable=False),
        sa.Column("prev_direct", sa.Text(), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_level", _str(8), nullable=False),
        sa.Column("action", _str(8), nullable=False),
        sa.Column("direct", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "monitoring_watch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank", _str(200), nullable=False),
        sa.Column("family", _str(16), nullable=False),
        sa.Column("address", _str(128), nullable=False),
        sa.Column("chain", _str(16), nullable=False),
        sa.Column("ref", _str(64), nullable=False),
        sa.Column("added_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank", "family", "address", name="uq_monitoring_watch"),
    )
    op.create_index("ix_monitoring_watch_address", "monitoring_watch", ["family", "address"])
    op.create_table(
        "monitoring_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bank", _str(200), nullable=False),
        sa.Column("url", _str(2000), nullable=False),
        sa.Column("secret", _str(100), nullable=False),
        sa.Column("previous_secret", _str(100), nullable=True),
        sa.Column("previous_until", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("paused_until", _utc(), nullable=True),
        sa.Column("last_success_at", _utc(), nullable=True),
        sa.Column("last_error", _str(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank"),
    )
    op.create_table(
        "monitoring_cursor",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("processed_at", _utc(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "monitoring_state",
        sa.Column("family", _str(16), nullable=False),
        sa.Column("address", _str(128), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_level", _str(8), nullable=False),
        sa.Column("action", _str(8), nullable=False),
        sa.Column("direct", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("family", "address"),
    )
    op.create_table(
        "monitoring_change",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("family", _str(16), nullable=False),
        sa.Column("address", _str(128), nullable=False),
        *_results(),
        sa.Column("alerting", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_monitoring_change_version", "monitoring_change", ["version"])
    op.create_table(
        "monitoring_alert",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bank", _str(200), nullable=False),
        sa.Column("family", _str(16), nullable=False),
        sa.Column("address", _str(128), nullable=False),
        sa.Column("chain", _str(16), nullable=False),
        sa.Column("ref", _str(64), nullable=False),
        sa.Column("registry_version", sa.Integer(), nullable=False),
        *_results(),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("deadline_at", _utc(), nullable=False),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("pulled_at", _utc(), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("last_error", _str(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank", "family", "address", "registry_version", name="uq_monitoring_alert"),
    )
    op.create_index("ix_monitoring_alert_bank", "monitoring_alert", ["bank", "status", "id"])
    op.create_index("ix_monitoring_alert_due", "monitoring_alert", ["status", "next_attempt_at"])
    op.create_index("ix_monitoring_alert_sent", "monitoring_alert", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_alert_sent", table_name="monitoring_alert")
    op.drop_index("ix_monitoring_alert_due", table_name="monitoring_alert")
    op.drop_index("ix_monitoring_alert_bank", table_name="monitoring_alert")
    op.drop_table("monitoring_alert")
    op.drop_index("ix_monitoring_change_version", table_name="monitoring_change")
    op.drop_table("monitoring_change")
    op.drop_table("monitoring_state")
    op.drop_table("monitoring_cursor")
    op.drop_table("monitoring_endpoint")
    op.drop_index("ix_monitoring_watch_address", table_name="monitoring_watch")
    op.drop_table("monitoring_watch")
