"""address ids: the address dictionary and integer ids on transfers

Revision ID: 0017_address_ids
Revises: 0016_console
"""

from __future__ import annotations

revision = "0017_address_ids"
down_revision = "0016_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
