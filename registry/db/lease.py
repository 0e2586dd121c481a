"""Leases: at most one holder of a named piece of work at a time, across every process on the database.

A lease is a row in ``job_lease`` taken with a conditional UPDATE (or the first INSERT), renewed while the work
runs and released at its end; one whose holder died expires and is taken over. The scheduler takes one per job;
longer units of work that can also be started by hand (a rescoring) take their own by name.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from registry.db.engine import read_only
from registry.db.types import utc_field


class JobLease(SQLModel, table=True):
    """One row per lease name (a job id such as ``sync:eth``, or ``rescore``)."""

    __tablename__ = "job_lease"
    job_id: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)
    expires_at: datetime = utc_field()


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def acquire(engine: Engine, name: str, holder: str, seconds: float) -> bool:
    """Take the lease if nobody holds it (not even this holder: a second run in the same process waits too)."""
    now = datetime.now(UTC)
    exp = now + timedelta(seconds=seconds)
    with engine.begin() as c:
        updated = c.execute(
            text("UPDATE job_lease SET holder = :h, expires_at = :exp WHERE job_id = :j AND expires_at < :now"),
            {"h": holder, "exp": db_time(engine, exp), "j": name, "now": db_time(engine, now)},
        ).rowcount
    if updated:
        return True
    try:
        with engine.begin() as c:
            c.execute(
                text("INSERT INTO job_lease (job_id, holder, expires_at) VALUES (:j, :h, :exp)"),
                {"j": name, "h": holder, "exp": db_time(engine, exp)},
            )
        return True
    except IntegrityError:
        return False


def renew(engine: Engine, name: str, holder: str, seconds: float) -> bool:
    exp = datetime.now(UTC) + timedelta(seconds=seconds)
    with engine.begin() as c:
        n = c.execute(
            text("UPDATE job_lease SET expires_at = :exp WHERE job_id = :j AND holder = :h"),
            {"exp": db_time(engine, exp), "j": name, "h": holder},
        ).rowcount
    return bool(n)


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as c:
        c.execute(
            text("UPDATE job_lease SET expires_at = :now WHERE job_id = :j AND holder = :h"),
            {"now": db_time(engine, datetime.now(UTC) - timedelta(seconds=1)), "j": name, "h": holder},
        )


def db_time(engine: Engine, dt: datetime) -> datetime:
    """SQLite keeps naive UTC text (see ``UtcDateTime``); raw comparisons must use the same form."""
    return dt.replace(tzinfo=None) if engine.dialect.name == "sqlite" else dt


def current_holder(engine: Engine, name: str) -> tuple[str, datetime] | None:
    """Who holds ``name`` now and until when; None when it is free (never taken, released or expired)."""
    with Session(read_only(engine)) as session:
        lease = session.get(JobLease, name)
    if lease is None or lease.expires_at <= datetime.now(UTC):
        return None
    return lease.holder, lease.expires_at
