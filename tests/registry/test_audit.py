"""The audit log: every change recorded, append-only in the database, and tampering detected by the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from registry.audit.service import CLI, verify
from registry.auth.service import create_key, revoke_key
from registry.db.engine import session_scope
from tests.registry import audit_helpers as dba

_some_events = dba.some_events
_drop_guards = dba.drop_event_guards  # what an attacker with database rights would do first


def test_key_changes_are_audited_and_chain_verifies(engine: Engine) -> None:
    with session_scope(engine) as s:
        _, key = create_key(s, "bank", "Jusan", b"x" * 32, CLI)
    with session_scope(engine) as s:
        revoke_key(s, key.id or 0, CLI)
    with engine.connect() as c:
        actions = [r[0] for r in c.execute(text("SELECT action FROM audit_event ORDER BY id"))]
    assert actions == ["key.create", "key.revoke"]
    with session_scope(engine) as s:
        result = verify(s)
    assert result.ok and result.checked == 2


def test_database_refuses_update_and_delete(engine: Engine) -> None:
    _some_events(engine, 2)
    for stmt in ("UPDATE audit_event SET action = 'x' WHERE id = 1", "DELETE FROM audit_event WHERE id = 1"):
        with pytest.raises(DBAPIError), engine.begin() as c:
            c.execute(text(stmt))


@pytest.mark.parametrize(
    ("tamper", "expect"),
    [
        ("UPDATE audit_event SET entity_id = '999' WHERE id = 3", "row 3: content does not match"),
        ("DELETE FROM audit_event WHERE id = 2", "missing"),
        ("DELETE FROM audit_event WHERE id = 5", "rows removed at the end"),
    ],
)
def test_tampering_is_detected(engine: Engine, tamper: str, expect: str) -> None:
    _some_events(engine, 5)
    with session_scope(engine) as s:
        assert verify(s).ok
    _drop_guards(engine)
    with engine.begin() as c:
        c.execute(text(tamper))
    with session_scope(engine) as s:
        result = verify(s)
    assert not result.ok
    assert any(expect in p for p in result.problems), result.problems


def test_rewriting_a_row_with_a_fresh_hash_still_breaks_the_chain(engine: Engine) -> None:
    from registry.audit.service import compute_hash
    from registry.audit.tables import AuditEvent

    _some_events(engine, 4)
    _drop_guards(engine)
    with session_scope(engine) as s:
        ev = s.get(AuditEvent, 2)
        assert ev is not None
        ev.after = {"v": 1000}
        ev.hash = compute_hash(ev)  # the forger recomputes this row's hash …
        s.add(ev)
    with session_scope(engine) as s:
        result = verify(s)
    assert not result.ok  # … but row 3 still links to the old one
    assert any("row 3" in p for p in result.problems)
