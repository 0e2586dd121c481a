"""merge the feature branches (sync, scoring, blocklist, ops) into one head

Revision ID: 0006_merge
Revises: 0002_sync, 0003_scoring, 0004_blocklist, 0005_ops
"""

from __future__ import annotations

revision = "0006_merge"
down_revision = ("0002_sync", "0003_scoring", "0004_blocklist", "0005_ops")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
