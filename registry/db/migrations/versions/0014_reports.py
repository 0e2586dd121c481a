"""reports: stored report drafts and their facts

Revision ID: 0014_reports
Revises: 0013_monitoring
"""

from __future__ import annotations

revision = "0014_reports"
down_revision = "0013_monitoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
