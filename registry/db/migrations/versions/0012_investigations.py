"""investigations: transfer-file imports and the indexes that follow the money

Revision ID: 0012_investigations
Revises: 0011_screening_rollup
"""

from __future__ import annotations

revision = "0012_investigations"
down_revision = "0011_screening_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
