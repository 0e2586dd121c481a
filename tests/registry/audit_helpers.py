"""What an attacker with database rights (and our source code) does to the audit log, step by step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col
from sqlmodel import select as sm_select

from registry.audit.service import CLI, GENESIS, compute_hash, record
from registry.audit.tables import AuditCheckpoint, AuditEvent
from registry.db.engine import session_scope

EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
CHECKPOINTS = AuditCheckpoint.__table__  # type: ignore[attr-defined]


def some_events(engine: Engine, n: int = 5, start: int = 0) -> None:
    with session_scope(engine) as s:
        for i in range(start, start + n):
            record(
                s,
                CLI,
                action="test.event",
                entity_type="thing",
                entity_id=str(i),
                before={"v": i},
                after={"v": i + 1, "note": "ünïcødé"},
            )


def drop_event_guards(engine: Engine) -> None:
    """The first thing a DBA does: the triggers that refuse UPDATE, DELETE (and REPLACE on SQLite) go."""
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER audit_event_append_only ON audit_event"))
        else:
            for name in ("audit_event_no_update", "audit_event_no_delete", "audit_event_no_replace"):
                c.execute(text(f"DROP TRIGGER {name}"))


def drop_checkpoint_guards(engine: Engine) -> None:
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER audit_checkpoint_append_only ON audit_checkpoint"))
        else:
            for name in ("audit_checkpoint_no_update", "audit_checkpoint_no_delete", "audit_checkpoint_no_replace"):
                c.execute(text(f"DROP TRIGGER {name}"))


def recompute_chain(engine: Engine) -> None:
    """After an edit, a DBA with the source rehashes every row in id order with the product's own
    ``compute_hash`` and sets the counter to the number of rows: the chain is then consistent again."""
    with session_scope(engine) as s:
        prev = GENESIS
        events = s.exec(sm_select(AuditEvent).order_by(col(AuditEvent.id))).all()
        for ev in events:
            ev.prev_hash = prev
            ev.hash = compute_hash(ev)
            prev = ev.hash
            s.add(ev)
        s.execute(text("UPDATE registry_state SET value = :n WHERE name = 'audit'"), {"n": len(events)})


def set_counter(engine: Engine, value: int) -> None:
    with engine.begin() as c:
        c.execute(text("UPDATE registry_state SET value = :v WHERE name = 'audit'"), {"v": value})


def row(c: Connection, event_id: int) -> dict[str, Any]:
    found = c.execute(select(EVENTS).where(EVENTS.c.id == event_id)).mappings().one()
    return dict(found)


def shift_ids(c: Connection, from_id: int, by: int) -> None:
    """Renumber rows ``>= from_id`` by ``by`` in two steps (a one-step shift trips the primary key midway)."""
    c.execute(update(EVENTS).where(EVENTS.c.id >= from_id).values(id=-(EVENTS.c.id + by)))
    c.execute(update(EVENTS).where(EVENTS.c.id < 0).values(id=-EVENTS.c.id))


def swap_ids(c: Connection, a: int, b: int) -> None:
    c.execute(update(EVENTS).where(EVENTS.c.id == a).values(id=-a))
    c.execute(update(EVENTS).where(EVENTS.c.id == b).values(id=a))
    c.execute(update(EVENTS).where(EVENTS.c.id == -a).values(id=b))


def insert_forged_row(c: Connection, at_id: int) -> None:
    """Make room at ``at_id`` and put an invented event there."""
    template = row(c, at_id)
    shift_ids(c, at_id, 1)
    c.execute(insert(EVENTS).values({**template, "entity_id": "forged", "after": {"v": "invented"}}))


def delete_row(c: Connection, event_id: int) -> None:
    c.execute(delete(EVENTS).where(EVENTS.c.id == event_id))
    shift_ids(c, event_id + 1, -1)


def swap_contents(c: Connection, a: int, b: int) -> None:
    ra, rb = row(c, a), row(c, b)
    c.execute(update(EVENTS).where(EVENTS.c.id == a).values({k: v for k, v in rb.items() if k != "id"}))
    c.execute(update(EVENTS).where(EVENTS.c.id == b).values({k: v for k, v in ra.items() if k != "id"}))


def cut_tail(c: Connection, from_id: int) -> None:
    c.execute(delete(EVENTS).where(EVENTS.c.id >= from_id))
