"""four eyes by person: normalised holders, case members, decision requests, one open listing/domain per key

Revision ID: 0007_four_eyes
Revises: 0006_merge
"""

from __future__ import annotations

revision = "0007_four_eyes"
down_revision = "0006_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
