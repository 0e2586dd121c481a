"""The four-eyes migration on a database that already holds keys, cases, listings and domains: holders are
normalised, makers are copied onto their rows, creators become members (both databases)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.registry.migration_db import migrate


def test_existing_data_is_carried_over(empty_db_url: str) -> None:
    migrate(empty_db_url, "0006_merge")
    engine = create_engine(empty_db_url, poolclass=NullPool)
    now = "2026-01-01 00:00:00+00:00"
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO api_key (id, prefix, digest, role, org, holder, created_at) VALUES "
                "(1, 'rk_a', 'd1', 'investigator', 'FIU', '  Alice   SMITH ', :t), "
                "(2, 'rk_b', 'd2', 'supervisor', 'FIU', 'Ａｌｉｃｅ smith', :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO cases (id, number, title, secrecy, created_by, created_org, created_at) "
                "VALUES (1, 'C-1', 't', 'secret', 1, 'FIU', :t)"
            ),
            {"t": now},
        )
        c.execute(
            text(
                "INSERT INTO listing (id, case_id, chain, family, address, category, confidence, source, legal_basis, "
                "evidence_note, status, submitted_by, created_at) VALUES "
                "(1, 1, 'eth', 'evm', '0xab', 'fraud', 70, 'fiu', 'b', '', 'pending', '1', :t)"
            ),
            {"t": now},
        )
    migrate(empty_db_url, "heads")
    with engine.connect() as c:
        assert [h for (h,) in c.execute(text("SELECT holder FROM api_key ORDER BY id"))] == ["alice smith"] * 2
        assert c.execute(text("SELECT submitted_holder FROM listing")).scalar() == "alice smith"
        assert c.execute(text("SELECT case_id, person FROM case_member")).all() == [(1, "alice smith")]
    engine.dispose()
