"""console: server-side sessions of people signed in to the web console

Revision ID: 0016_console
Revises: 0015_typologies
"""

from __future__ import annotations

revision = "0016_console"
down_revision = "0015_typologies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
