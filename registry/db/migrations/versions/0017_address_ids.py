"""address ids: the address dictionary and integer ids on transfers

Two dictionaries, ``address`` (address space, normalised address → id) and ``transfer_asset`` ((network, asset) →
id), and three nullable columns on ``transfer`` (``from_id``, ``to_id``, ``asset_id``) that the writer fills
(``registry.transfers.store``). The scoring reads those integers instead of two address strings per transfer.

The transfers already stored get their ids here, set-based (one ``INSERT … SELECT`` per network into the
dictionary, one ``UPDATE`` per network: a join on PostgreSQL, correlated index lookups on SQLite), inside the
migration's transaction. On PostgreSQL the ``UPDATE`` writes a new version of every transfer row: a table of 10^8
rows needs that much free disk until autovacuum reclaims the old versions (or run ``VACUUM transfer`` after).
A partial index on the rows still without ids lets the rescoring find (and assign) any row written around the
writer later.

The migration is frozen: it holds its own SQL rather than calling the store, whose code may change.

Revision ID: 0017_address_ids
Revises: 0016_console
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017_address_ids"
down_revision = "0016_console"
branch_labels = None
depends_on = None

UNASSIGNED = "from_id IS NULL OR to_id IS NULL OR asset_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "address",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("family", "address", name="uq_address"),
    )
    op.create_table(
        "transfer_asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("asset", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("network", "asset", name="uq_transfer_asset"),
    )
    # Plain ADD COLUMN (nullable, no default) on both databases: no table rebuild.
    op.add_column("transfer", sa.Column("from_id", sa.BigInteger(), nullable=True))
    op.add_column("transfer", sa.Column("to_id", sa.BigInteger(), nullable=True))
    op.add_column("transfer", sa.Column("asset_id", sa.Integer(), nullable=True))
    _assign(op.get_bind())
    op.create_index(
        "ix_transfer_unassigned",
        "transfer",
        ["id"],
        unique=False,
        sqlite_where=sa.text(UNASSIGNED),
        postgresql_where=sa.text(UNASSIGNED),
    )


def downgrade() -> None:
    op.drop_index("ix_transfer_unassigned", table_name="transfer")
    with op.batch_alter_table("transfer") as b:
        b.drop_column("asset_id")
        b.drop_column("to_id")
        b.drop_column("from_id")
    op.drop_table("transfer_asset")
    op.drop_table("address")


def _assign(bind: sa.engine.Connection) -> None:
    from chains.addresses import chain_family

    networks = [str(n) for (n,) in bind.execute(sa.text("SELECT DISTINCT network FROM transfer"))]
    if not networks:
        return
    bind.execute(
        sa.text(
            "INSERT INTO transfer_asset (network, asset) SELECT DISTINCT network, asset FROM transfer ORDER BY 1, 2"
        )
    )
    postgres = bind.dialect.name == "postgresql"
    for network in sorted(networks):
        p = {"n": network, "f": chain_family(network)}
        bind.execute(
            sa.text(
                "INSERT INTO address (family, address) SELECT CAST(:f AS TEXT), u.a FROM ("
                "SELECT from_address AS a FROM transfer WHERE network = :n UNION "
                "SELECT to_address FROM transfer WHERE network = :n) AS u "
                "WHERE NOT EXISTS (SELECT 1 FROM address x WHERE x.family = CAST(:f AS TEXT) AND x.address = u.a) ORDER BY u.a"
            ),
            p,
        )
        if postgres:
            sql = (
                "UPDATE transfer t SET from_id = f.id, to_id = o.id, asset_id = s.id "
                "FROM address f, address o, transfer_asset s WHERE t.network = :n "
                "AND f.family = :f AND f.address = t.from_address AND o.family = :f AND o.address = t.to_address "
                "AND s.network = t.network AND s.asset = t.asset"
            )
        else:
            sql = (
                "UPDATE transfer SET "
                "from_id = (SELECT id FROM address WHERE family = :f AND address = transfer.from_address), "
                "to_id = (SELECT id FROM address WHERE family = :f AND address = transfer.to_address), "
                "asset_id = (SELECT id FROM transfer_asset s WHERE s.network = transfer.network "
                "AND s.asset = transfer.asset) WHERE network = :n"
            )
        bind.execute(sa.text(sql), p)
