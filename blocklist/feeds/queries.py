"""SQL of the published feed: its rows, its change log, the serial, and what the registry says each name should be.

Lists of names are sent in chunks of ``CHUNK``: a register refresh or a repair can touch thousands of names, more
than SQLite takes as parameters of one statement.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Row, delete, func, insert, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from blocklist.tables import (
    BlocklistDomain,
    DomainStatus,
    FeedAction,
    FeedChange,
    FeedEntry,
    LicensedDomain,
    LicensedFirm,
)
from registry.db import state

CHUNK = 500
ACTIVE_LICENCE = "active"


def chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def blocked_among(session: Session, names: list[str]) -> list[str]:
    """The names with an active blocklist entry."""
    out: list[str] = []
    for part in chunks(names):
        q = select(BlocklistDomain.domain).where(
            col(BlocklistDomain.domain).in_(part), col(BlocklistDomain.status) == DomainStatus.active.value
        )
        out.extend(session.execute(q.distinct()).scalars())
    return out


def licensed_among(session: Session, names: list[str]) -> list[str]:
    """The names mapped to a firm whose licence is active."""
    out: list[str] = []
    for part in chunks(names):
        q = (
            select(LicensedDomain.domain)
            .join(LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id))
            .where(col(LicensedDomain.domain).in_(part), col(LicensedFirm.status) == ACTIVE_LICENCE)
        )
        out.extend(session.execute(q).scalars())
    return out


def all_blocked(session: Session) -> set[str]:
    q = select(BlocklistDomain.domain).where(col(BlocklistDomain.status) == DomainStatus.active.value)
    return set(session.execute(q).scalars())


def all_licensed(session: Session) -> set[str]:
    q = (
        select(LicensedDomain.domain)
        .join(LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id))
        .where(col(LicensedFirm.status) == ACTIVE_LICENCE)
    )
    return set(session.execute(q).scalars())


def feed_actions_of(session: Session, names: list[str]) -> dict[str, str]:
    """The feed's rows for these names: name → action."""
    out: dict[str, str] = {}
    for part in chunks(names):
        q = select(FeedEntry.domain, FeedEntry.action).where(col(FeedEntry.domain).in_(part))
        out.update((d, a) for d, a in session.execute(q).all())
    return out


def all_feed_actions(session: Session) -> dict[str, str]:
    return dict(session.execute(select(FeedEntry.domain, FeedEntry.action)).all())


def delete_feed_entries(session: Session, names: list[str]) -> None:
    for part in chunks(names):
        session.execute(delete(FeedEntry).where(col(FeedEntry.domain).in_(part)))


def insert_feed_entries(session: Session, entries: list[tuple[str, str]], serial: int) -> None:
    if entries:
        session.execute(insert(FeedEntry), [{"domain": d, "action": a, "serial": serial} for d, a in entries])


def insert_changes(session: Session, serial: int, removed: list[tuple[str, str]], added: list[tuple[str, str]]) -> None:
    """One change-log row per name that left (``remove``) or entered (``add``) the feed at ``serial``."""
    session.execute(
        insert(FeedChange),
        [{"serial": serial, "domain": d, "action": a, "op": "remove"} for d, a in removed]
        + [{"serial": serial, "domain": d, "action": a, "op": "add"} for d, a in added],
    )


def mark_entered(session: Session, names: list[str], serial: int) -> None:
    """Active entries of these names entered the feed at ``serial`` (and have not left it since)."""
    for part in chunks(names):
        session.execute(
            update(BlocklistDomain)
            .where(col(BlocklistDomain.domain).in_(part), col(BlocklistDomain.status) == DomainStatus.active.value)
            .values(serial_added=serial, serial_removed=None)
        )


def mark_left(session: Session, names: list[str], serial: int) -> None:
    """Entries of these names that were in the feed left it at ``serial``."""
    for part in chunks(names):
        session.execute(
            update(BlocklistDomain)
            .where(col(BlocklistDomain.domain).in_(part), col(BlocklistDomain.serial_removed).is_(None))
            .where(col(BlocklistDomain.serial_added).is_not(None))
            .values(serial_removed=serial)
        )


def read_serial(conn: Connection) -> int:
    value = conn.execute(
        select(state.RegistryState.value).where(col(state.RegistryState.name) == state.BLOCKLIST)
    ).scalar()
    return int(value or 0)


def feed_names(conn: Connection, action: FeedAction) -> list[str]:
    """Every name of the feed with this action, sorted (the renders depend on the order)."""
    q = select(FeedEntry.domain).where(col(FeedEntry.action) == action.value).order_by(col(FeedEntry.domain))
    return list(conn.execute(q).scalars())


def oldest_change_serial(session: Session) -> int | None:
    value = session.execute(select(func.min(FeedChange.serial))).scalar()
    return None if value is None else int(value)


def changes_between(session: Session, since: int, upto: int) -> list[Row[str, str, str]]:
    """Change-log rows after ``since`` up to ``upto``, oldest first: (domain, action, op)."""
    q = (
        select(FeedChange.domain, FeedChange.action, FeedChange.op)
        .where(col(FeedChange.serial) > since, col(FeedChange.serial) <= upto)
        .order_by(col(FeedChange.serial), col(FeedChange.id))
    )
    return list(session.execute(q).all())


def count_changes(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(FeedChange)).scalar() or 0)


def cutoff_serial(session: Session, keep: int) -> int | None:
    """The serial of the newest change row beyond the newest ``keep`` rows: what pruning deletes up to."""
    q = select(FeedChange.serial).order_by(col(FeedChange.serial).desc()).offset(keep).limit(1)
    return session.execute(q).scalar()


def delete_changes_through(session: Session, serial: int) -> int:
    res = session.execute(delete(FeedChange).where(col(FeedChange.serial) <= serial))
    return int(getattr(res, "rowcount", 0) or 0)
