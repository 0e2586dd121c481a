"""The published feed in the database: membership, the serial, and the change log ISPs diff against.

Every change that can move a domain in or out of the feed calls ``sync_feed`` with the domains it touched, in the
same transaction: the feed rows, the change log and the serial (counter ``blocklist``) commit with the change, so a
worker that sees the new serial sees the matching feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, update
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
from registry.errors import Gone, InvalidInput

_CHUNK = 500


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def desired_actions(session: Session, domains: list[str]) -> dict[str, str]:
    """What the feed should say about each domain: licensed (pass) beats blocked; absent otherwise."""
    out: dict[str, str] = {}
    for chunk in _chunks(domains):
        blocked = session.execute(
            select(BlocklistDomain.domain)
            .where(
                col(BlocklistDomain.domain).in_(chunk),
                col(BlocklistDomain.status) == DomainStatus.active.value,
            )
            .distinct()
        ).scalars()
        out.update(dict.fromkeys(blocked, FeedAction.block.value))
        licensed = session.execute(
            select(LicensedDomain.domain)
            .join(LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id))
            .where(col(LicensedDomain.domain).in_(chunk), col(LicensedFirm.status) == "active")
        ).scalars()
        out.update(dict.fromkeys(licensed, FeedAction.passthru.value))
    return out


def sync_feed(session: Session, domains: Iterable[str]) -> int | None:
    """Bring the feed rows of ``domains`` in line with the registry; bump the serial once on any move."""
    names = sorted(set(domains))
    if not names:
        return None
    want = desired_actions(session, names)
    have: dict[str, str] = {}
    for chunk in _chunks(names):
        q = select(FeedEntry.domain, FeedEntry.action).where(col(FeedEntry.domain).in_(chunk))
        have.update((d, a) for d, a in session.execute(q).all())
    removed = [(d, a) for d, a in have.items() if want.get(d) != a]
    added = [(d, a) for d, a in want.items() if have.get(d) != a]
    if not removed and not added:
        return None
    serial = state.bump(session, state.BLOCKLIST)
    for chunk in _chunks([d for d, _ in removed]):
        session.execute(delete(FeedEntry).where(col(FeedEntry.domain).in_(chunk)))
    if added:
        session.execute(insert(FeedEntry), [{"domain": d, "action": a, "serial": serial} for d, a in added])
    session.execute(
        insert(FeedChange),
        [{"serial": serial, "domain": d, "action": a, "op": "remove"} for d, a in removed]
        + [{"serial": serial, "domain": d, "action": a, "op": "add"} for d, a in added],
    )
    blocked_in = [d for d, a in added if a == FeedAction.block.value]
    blocked_out = [d for d, a in removed if a == FeedAction.block.value]
    for chunk in _chunks(blocked_in):
        session.execute(
            update(BlocklistDomain)
            .where(
                col(BlocklistDomain.domain).in_(chunk),
                col(BlocklistDomain.status) == DomainStatus.active.value,
            )
            .values(serial_added=serial, serial_removed=None)
        )
    for chunk in _chunks(blocked_out):
        session.execute(
            update(BlocklistDomain)
            .where(col(BlocklistDomain.domain).in_(chunk), col(BlocklistDomain.serial_removed).is_(None))
            .where(col(BlocklistDomain.serial_added).is_not(None))
            .values(serial_removed=serial)
        )
    return serial


@dataclass(frozen=True)
class FeedData:
    serial: int
    blocked: list[str]  # sorted
    passthru: list[str]  # sorted


def read_serial(conn: Connection) -> int:
    value = conn.execute(
        select(state.RegistryState.value).where(col(state.RegistryState.name) == state.BLOCKLIST)
    ).scalar()
    return int(value or 0)


def load_feed(conn: Connection) -> FeedData:
    """The whole feed at one serial: read the serial on both sides of the rows and retry if it moved."""
    block, passthru = FeedAction.block.value, FeedAction.passthru.value
    q = select(FeedEntry.domain).order_by(col(FeedEntry.domain))
    while True:
        serial = read_serial(conn)
        blocked = list(conn.execute(q.where(col(FeedEntry.action) == block)).scalars())
        passed = list(conn.execute(q.where(col(FeedEntry.action) == passthru)).scalars())
        if read_serial(conn) == serial:
            return FeedData(serial, blocked, passed)
        conn.rollback()


@dataclass(frozen=True)
class FeedDiff:
    since: int
    serial: int
    added: list[str]
    removed: list[str]
    passthru_added: list[str]
    passthru_removed: list[str]


def changes_since(session: Session, since: int) -> FeedDiff:
    current = read_serial(session.connection())
    if since < 0:
        raise InvalidInput("since must be a serial (0 or more)")
    if since > current:
        raise InvalidInput(f"serial {since} is ahead of the feed (current serial {current}); fetch the full feed")
    if since == current:
        return FeedDiff(since, current, [], [], [], [])
    oldest = session.execute(select(func.min(FeedChange.serial))).scalar()
    if oldest is None or since < int(oldest) - 1:
        raise Gone(
            f"serial {since} is too old to diff (changes are kept from serial {oldest}); fetch the full feed",
            code="serial_too_old",
        )
    rows = session.execute(
        select(FeedChange.domain, FeedChange.action, FeedChange.op)
        .where(col(FeedChange.serial) > since, col(FeedChange.serial) <= current)
        .order_by(col(FeedChange.serial), col(FeedChange.id))
    ).all()
    first: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], str] = {}
    for domain, action, op in rows:
        first.setdefault((domain, action), op)
        last[(domain, action)] = op
    net: dict[str, dict[str, list[str]]] = {a.value: {"add": [], "remove": []} for a in FeedAction}
    for key, op in last.items():
        if first[key] == op:  # add…add = added; remove…remove = removed; add…remove (or back) = no net change
            net[key[1]][op].append(key[0])
    for lists in net.values():
        for v in lists.values():
            v.sort()
    b, p = net[FeedAction.block.value], net[FeedAction.passthru.value]
    return FeedDiff(since, current, b["add"], b["remove"], p["add"], p["remove"])


def prune_changes(session: Session, keep: int) -> int:
    """Keep the newest ``keep`` change rows' serials; a client older than that refetches the whole feed."""
    total = session.execute(select(func.count()).select_from(FeedChange)).scalar() or 0
    if total <= keep:
        return 0
    cutoff = session.execute(
        select(FeedChange.serial).order_by(col(FeedChange.serial).desc()).offset(keep).limit(1)
    ).scalar()
    if cutoff is None:
        return 0
    res = session.execute(delete(FeedChange).where(col(FeedChange.serial) <= cutoff))
    return int(getattr(res, "rowcount", 0) or 0)


def reconcile(session: Session) -> int | None:
    """Recompute the whole feed from the registry and repair drift.

    A crash mid-change cannot cause drift (one transaction), a hand edit of the database can.
    """
    want_blocked = set(
        session.execute(
            select(BlocklistDomain.domain).where(col(BlocklistDomain.status) == DomainStatus.active.value)
        ).scalars()
    )
    want_pass = set(
        session.execute(
            select(LicensedDomain.domain)
            .join(LicensedFirm, col(LicensedFirm.id) == col(LicensedDomain.firm_id))
            .where(col(LicensedFirm.status) == "active")
        ).scalars()
    )
    have = dict(session.execute(select(FeedEntry.domain, FeedEntry.action)).all())
    want = dict.fromkeys(want_blocked, FeedAction.block.value) | dict.fromkeys(want_pass, FeedAction.passthru.value)
    touched = {d for d in set(have) | set(want) if have.get(d) != want.get(d)}
    return sync_feed(session, touched)
