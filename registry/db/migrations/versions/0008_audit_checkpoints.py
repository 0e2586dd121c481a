"""audit checkpoints: signed heads of the chain

Revision ID: 0008_audit_checkpoints
Revises: 0007_four_eyes
"""

from __future__ import annotations

revision = "0008_audit_checkpoints"
down_revision = "0007_four_eyes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
