"""investigations: transfer-file imports and the indexes that follow the money

Following the money needs no index beyond the transfer store's own: every query of it (counterparties, one grouped
query per traced hop, a path's transactions) is a range of ``ix_transfer_from`` or ``ix_transfer_to`` on
``(network, address)``. Covering indexes on ``(network, from_address | to_address, …, value, block_time, amount)``
were measured at 1,000,000 transfers (``make bench``, the ten busiest addresses): they halve the busiest addresses'
latency on PostgreSQL (index-only scans; counterparties 485 → 256 ms, 3-hop trace 589 → 242 ms) and take about a
third off on SQLite, but add some 350 MB per million transfers on either database and slow every write of the sync
and the file imports, while the p99 of both stays under a second without them. So this revision adds none.

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
