"""Migration 0018 on a database that already holds keys: each key gets a display name, copied from its normalised
holder (the best there is), a key without a holder none; both databases."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.registry.migration_db import migrate


def test_existing_keys_get_their_holder_as_display_name(empty_db_url: str) -> None:
    migrate(empty_db_url, "0017_address_ids")
    engine = create_engine(empty_db_url, poolclass=NullPool)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO api_key (id, prefix, digest, role, org, holder, created_at) VALUES "
                "(1, 'rk_a', 'd1', 'investigator', 'FIU', 'борис ким', :t), "
                "(2, 'rk_b', 'd2', 'bank', 'Bank', NULL, :t)"
            ),
            {"t": "2026-01-01 00:00:00+00:00"},
        )
    migrate(empty_db_url, "heads")
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, holder, holder_display FROM api_key ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, "борис ким", "борис ким"), (2, None, None)]
    engine.dispose()
