"""typologies: behavioural indicators per address and typology matches

Revision ID: 0015_typologies
Revises: 0014_reports
"""

from __future__ import annotations

revision = "0015_typologies"
down_revision = "0014_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
