"""faults: (reserved for the bounded-under-faults work; empty if nothing in the schema changes)

Revision ID: 0009_faults
Revises: 0008_audit_checkpoints
"""

from __future__ import annotations

revision = "0009_faults"
down_revision = "0008_audit_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
