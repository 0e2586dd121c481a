"""designations: what OFAC says about a sanctions listing; one key per Bitcoin Cash address and per TRC-20 transfer

Four nullable columns on ``listing`` carry the SDN entry behind an OFAC listing (name, programmes, designation date,
OFAC's entry id); rows already stored keep them null until the next import of ``sdn_advanced.xml`` fills them.

Two rules about keys changed with them, so the rows stored under the old rules are re-keyed here:

- Bitcoin Cash addresses are stored in one form, CashAddr in lower case with the ``bitcoincash:`` prefix (before:
  the CashAddr payload without prefix, or the legacy base58 form as given). Listings and entity addresses of the
  ``bch`` chain are rewritten; a row whose new form would duplicate an open listing of the same case and category
  (or an entity address) is left as it was and named in the log.
- TRC-20 transfers are keyed by an index derived from token, parties and amount (``chains.tron.mappers.
  trc20_index``) instead of their position on one account's history page. Stored Tron token transfers get their
  new index (computed in SQL: SHA-256 on PostgreSQL, the mappers' own function on SQLite), so that the next crawl
  or sync finds them stored instead of adding them a second time. Two phases (a temporary negative index unique in
  its transaction, then the new one) keep ``uq_transfer_key`` satisfied throughout.

Revision ID: 0010_designations
Revises: 0009_faults
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0010_designations"
down_revision = "0009_faults"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    with op.batch_alter_table("listing") as b:
        b.add_column(sa.Column("designation_name", sa.String(length=500), nullable=True))
        b.add_column(sa.Column("designation_programs", sa.String(length=1000), nullable=True))
        b.add_column(sa.Column("designated_on", sa.Date(), nullable=True))
        b.add_column(sa.Column("designation_ref", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    _bch_listings(bind)
    _bch_entity_addresses(bind)
    _trc20_indices(bind)


def downgrade() -> None:
    with op.batch_alter_table("listing") as b:
        b.drop_column("designation_ref")
        b.drop_column("designated_on")
        b.drop_column("designation_programs")
        b.drop_column("designation_name")


def _canonical_bch(address: str) -> str | None:
    from chains.addresses import AddressError, normalize

    try:
        return normalize(address, "bch").address
    except AddressError:
        return None


def _bch_listings(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.text("SELECT id, case_id, address, category, status FROM listing WHERE family = 'bch' ORDER BY id")
    ).all()
    open_keys = {
        (case_id, address, category)
        for _, case_id, address, category, status in rows
        if case_id is not None and status in ("pending", "active")
    }
    for lid, case_id, address, category, status in rows:
        new = _canonical_bch(address)
        if new is None or new == address:
            continue
        if case_id is not None and status in ("pending", "active"):
            if (case_id, new, category) in open_keys:
                log.warning("listing %s: %s is listed in its case as %s already; left as it was", lid, address, new)
                continue
            open_keys.discard((case_id, address, category))
            open_keys.add((case_id, new, category))
        bind.execute(sa.text("UPDATE listing SET address = :a WHERE id = :i"), {"a": new, "i": lid})


def _bch_entity_addresses(bind: sa.Connection) -> None:
    rows = bind.execute(sa.text("SELECT id, address FROM entity_address WHERE chain = 'bch' ORDER BY id")).all()
    taken = {address for _, address in rows}
    for eid, address in rows:
        new = _canonical_bch(address)
        if new is None or new == address:
            continue
        if new in taken:
            log.warning("entity address %s: %s is stored as %s already; left as it was", eid, address, new)
            continue
        taken.discard(address)
        taken.add(new)
        bind.execute(sa.text("UPDATE entity_address SET address = :a WHERE id = :i"), {"a": new, "i": eid})


TRC20_KEY = (
    "asset || '|' || from_address || '|' || to_address || '|' || amount || '|' || CAST(row_number() OVER "
    "(PARTITION BY tx_id, asset, from_address, to_address, amount ORDER BY idx, id) - 1 AS VARCHAR(20))"
)
PG_INDEX = (
    "1 + (('x' || substr(encode(sha256(convert_to({key}, 'UTF8')), 'hex'), 1, 14))::bit(56)::bigint % 2147483647)"
)


def _trc20_indices(bind: sa.Connection) -> None:
    """Set-based, so that a store of many millions of Tron token transfers is re-keyed inside the database."""
    from chains.tron.mappers import trc20_index_of

    if bind.dialect.name == "postgresql":
        index = PG_INDEX.format(key=TRC20_KEY)
    else:
        bind.connection.driver_connection.create_function(  # type: ignore[union-attr]
            "trc20_index_of", 1, trc20_index_of, deterministic=True
        )
        index = f"trc20_index_of({TRC20_KEY})"
    bind.execute(
        sa.text(
            "CREATE TEMPORARY TABLE trc20_rekey AS SELECT id, tx_id, idx AS old_idx, "
            f"{index} AS new_idx, row_number() OVER (PARTITION BY tx_id ORDER BY id) AS rn "
            "FROM transfer WHERE network = 'tron' AND asset <> 'native'"
        )
    )
    bind.execute(sa.text("CREATE INDEX ix_trc20_rekey_id ON trc20_rekey (id)"))
    bind.execute(sa.text("ANALYZE trc20_rekey"))  # temporary tables get no statistics otherwise (PostgreSQL)
    # Two different transfers of one transaction with one index (probability 2**-31): the later row keeps a
    # negative index of its own, outside the key space the mappers produce, rather than being lost.
    bind.execute(
        sa.text(
            "UPDATE trc20_rekey SET new_idx = -rn WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
            "(PARTITION BY tx_id, new_idx ORDER BY id) AS k FROM trc20_rekey) d WHERE k > 1)"
        )
    )
    changed = "WHERE id IN (SELECT id FROM trc20_rekey WHERE new_idx <> old_idx)"
    bind.execute(
        sa.text(f"UPDATE transfer SET idx = (SELECT -r.rn FROM trc20_rekey r WHERE r.id = transfer.id) {changed}")
    )
    bind.execute(
        sa.text(f"UPDATE transfer SET idx = (SELECT r.new_idx FROM trc20_rekey r WHERE r.id = transfer.id) {changed}")
    )
    bind.execute(sa.text("DROP TABLE trc20_rekey"))
