"""blocklist: licensed firms, domains, feed

Revision ID: 0004_blocklist
Revises: 0001_core
Create Date: 2026-11-22 01:48:17.562667
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import registry.db.types

revision = "0004_blocklist"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("op", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feed_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feed_change_serial"), ["serial"], unique=False)

    op.create_table(
        "feed_entry",
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("domain"),
    )
    op.create_table(
        "licensed_firm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("regulator", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("firm_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("licence_number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status_text", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("issued_on", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("inactive_since", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("activities", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("section", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("bin", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("details_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("regulator", "firm_key", name="uq_licensed_firm_key"),
    )
    op.create_table(
        "register_fetch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("regulator", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("started_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("firms", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "blocklist_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("registrable", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("legal_basis", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("decision_reason", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("serial_added", sa.Integer(), nullable=True),
        sa.Column("serial_removed", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["entity.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("blocklist_domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blocklist_domain_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_blocklist_domain_domain_status", ["domain", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_blocklist_domain_entity_id"), ["entity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_blocklist_domain_registrable"), ["registrable"], unique=False)
        batch_op.create_index(batch_op.f("ix_blocklist_domain_status"), ["status"], unique=False)

    op.create_table(
        "licensed_domain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("domain", sqlmodel.sql.sqltypes.AutoString(length=253), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["licensed_firm.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("domain"),
    )
    with op.batch_alter_table("licensed_domain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licensed_domain_firm_id"), ["firm_id"], unique=False)

    op.create_table(
        "licensed_firm_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("fetch_id", sa.Integer(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fetch_id"],
            ["register_fetch.id"],
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["licensed_firm.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("licensed_firm_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licensed_firm_change_fetch_id"), ["fetch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_licensed_firm_change_firm_id"), ["firm_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("licensed_firm_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licensed_firm_change_firm_id"))
        batch_op.drop_index(batch_op.f("ix_licensed_firm_change_fetch_id"))

    op.drop_table("licensed_firm_change")
    with op.batch_alter_table("licensed_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licensed_domain_firm_id"))

    op.drop_table("licensed_domain")
    with op.batch_alter_table("blocklist_domain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blocklist_domain_status"))
        batch_op.drop_index(batch_op.f("ix_blocklist_domain_registrable"))
        batch_op.drop_index(batch_op.f("ix_blocklist_domain_entity_id"))
        batch_op.drop_index("ix_blocklist_domain_domain_status")
        batch_op.drop_index(batch_op.f("ix_blocklist_domain_case_id"))

    op.drop_table("blocklist_domain")
    op.drop_table("register_fetch")
    op.drop_table("licensed_firm")
    op.drop_table("feed_entry")
    with op.batch_alter_table("feed_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feed_change_serial"))

    op.drop_table("feed_change")
