"""four eyes by person: normalised holders, case members, decision requests, one open listing/domain per key

Holders already stored are normalised in place (``registry.auth.persons.normalize_holder``), the maker's person
is copied onto existing listings and domain entries, every case gets its creator as a member, and the partial
unique indexes refuse a second open listing or domain entry. A database that already holds duplicates fails this
migration with the index name: close the duplicates (reject one of them) and run it again.

Revision ID: 0007_four_eyes
Revises: 0006_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import registry.db.types
from registry.auth.persons import normalize_holder

revision = "0007_four_eyes"
down_revision = "0006_merge"
branch_labels = None
depends_on = None

OPEN_LISTING = "status IN ('pending', 'active') AND case_id IS NOT NULL"
OPEN_DOMAIN = "status IN ('pending', 'active')"


def upgrade() -> None:
    bind = op.get_bind()
    for kid, holder in bind.execute(sa.text("SELECT id, holder FROM api_key WHERE holder IS NOT NULL")).all():
        bind.execute(sa.text("UPDATE api_key SET holder = :h WHERE id = :i"), {"h": normalize_holder(holder), "i": kid})
    op.create_index("ix_api_key_holder", "api_key", ["holder"])

    for table in ("listing", "blocklist_domain"):
        with op.batch_alter_table(table) as b:
            b.add_column(sa.Column("submitted_holder", sa.String(length=200), nullable=True))
            b.add_column(sa.Column("decided_holder", sa.String(length=200), nullable=True))
        op.execute(
            f"UPDATE {table} SET submitted_holder = (SELECT holder FROM api_key "
            f"WHERE CAST(api_key.id AS VARCHAR(64)) = {table}.submitted_by)"
        )
    op.create_index(
        "uq_listing_open_in_case",
        "listing",
        ["case_id", "family", "address", "category"],
        unique=True,
        sqlite_where=sa.text(OPEN_LISTING),
        postgresql_where=sa.text(OPEN_LISTING),
    )
    op.create_index(
        "uq_blocklist_domain_open",
        "blocklist_domain",
        ["domain"],
        unique=True,
        sqlite_where=sa.text(OPEN_DOMAIN),
        postgresql_where=sa.text(OPEN_DOMAIN),
    )

    op.create_table(
        "case_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "person", name="uq_case_member"),
    )
    op.create_index("ix_case_member_case_id", "case_member", ["case_id"])
    op.create_index("ix_case_member_person", "case_member", ["person"])
    op.execute(
        "INSERT INTO case_member (case_id, person, added_by, added_at) "
        "SELECT cases.id, api_key.holder, api_key.holder, cases.created_at FROM cases "
        "JOIN api_key ON api_key.id = cases.created_by WHERE api_key.holder IS NOT NULL"
    )

    op.create_table(
        "decision_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_holder", sa.String(length=200), nullable=False),
        sa.Column("requested_at", registry.db.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_holder", sa.String(length=200), nullable=True),
        sa.Column("decided_at", registry.db.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_decision_request_status", "decision_request", ["status"])
    op.create_index(
        "uq_decision_request_pending",
        "decision_request",
        ["kind", "target"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_decision_request_pending", table_name="decision_request")
    op.drop_index("ix_decision_request_status", table_name="decision_request")
    op.drop_table("decision_request")
    op.drop_index("ix_case_member_person", table_name="case_member")
    op.drop_index("ix_case_member_case_id", table_name="case_member")
    op.drop_table("case_member")
    op.drop_index("uq_blocklist_domain_open", table_name="blocklist_domain")
    op.drop_index("uq_listing_open_in_case", table_name="listing")
    for table in ("listing", "blocklist_domain"):
        with op.batch_alter_table(table) as b:
            b.drop_column("decided_holder")
            b.drop_column("submitted_holder")
    op.drop_index("ix_api_key_holder", table_name="api_key")
