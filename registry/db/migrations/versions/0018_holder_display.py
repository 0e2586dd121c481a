"""holder display names: the name a key's holder was given as, case kept, for people to read

``api_key.holder`` stays the normalised person that four eyes compares (0007). ``holder_display`` is what pages,
packs and lists show. Keys created before this revision only have the normalised form, so it is copied: the best
there is until the person gets a new key (the most recently created key of a person names them).

Plain ``ADD COLUMN`` (nullable, no default) on both databases: no table rebuild. Frozen: its own SQL.

Revision ID: 0018_holder_display
Revises: 0017_address_ids
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018_holder_display"
down_revision = "0017_address_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_key", sa.Column("holder_display", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.execute("UPDATE api_key SET holder_display = holder WHERE holder IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("api_key") as b:
        b.drop_column("holder_display")
