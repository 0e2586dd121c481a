"""The published feed in the database: membership, the serial, and the change log ISPs diff against.

Every change that can move a domain in or out of the feed calls ``sync_feed`` with the domains it touched, in the
same transaction: the feed rows, the change log and the serial (counter ``blocklist``) commit with the change, so a
worker that sees the new serial sees the matching feed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from sqlmodel import Session

from blocklist.feeds import queries
from blocklist.models import ChangesPublic
from blocklist.tables import FeedAction
from registry.db import state
from registry.errors import Gone, InvalidInput


def desired_actions(session: Session, domains: list[str]) -> dict[str, str]:
    """What the feed should say about each domain: licensed (pass) beats blocked; absent otherwise."""
    out = dict.fromkeys(queries.blocked_among(session, domains), FeedAction.block.value)
    out.update(dict.fromkeys(queries.licensed_among(session, domains), FeedAction.passthru.value))
    return out


def sync_feed(session: Session, domains: Iterable[str]) -> int | None:
    """Bring the feed rows of ``domains`` in line with the registry; bump the serial once on any move."""
    names = sorted(set(domains))
    if not names:
        return None
    want = desired_actions(session, names)
    have = queries.feed_actions_of(session, names)
    removed = [(d, a) for d, a in have.items() if want.get(d) != a]
    added = [(d, a) for d, a in want.items() if have.get(d) != a]
    if not removed and not added:
        return None
    serial = state.bump(session, state.BLOCKLIST)
    queries.delete_feed_entries(session, [d for d, _ in removed])
    queries.insert_feed_entries(session, added, serial)
    queries.insert_changes(session, serial, removed, added)
    queries.mark_entered(session, [d for d, a in added if a == FeedAction.block.value], serial)
    queries.mark_left(session, [d for d, a in removed if a == FeedAction.block.value], serial)
    return serial


@dataclass(frozen=True)
class FeedData:
    """The feed at one serial: what every format renders (``blocklist.feeds.render``)."""

    serial: int
    blocked: list[str]  # sorted
    passthru: list[str]  # sorted


def load_feed(conn: Connection) -> FeedData:
    """The whole feed at one serial: read the serial on both sides of the rows and retry if it moved."""
    while True:
        serial = queries.read_serial(conn)
        blocked = queries.feed_names(conn, FeedAction.block)
        passed = queries.feed_names(conn, FeedAction.passthru)
        if queries.read_serial(conn) == serial:
            return FeedData(serial, blocked, passed)
        conn.rollback()


def changes_since(session: Session, since: int) -> ChangesPublic:
    """The net change from ``since`` to the current serial; 410 when the change log no longer reaches back."""
    current = queries.read_serial(session.connection())
    if since < 0:
        raise InvalidInput("since must be a serial (0 or more)")
    if since > current:
        raise InvalidInput(f"serial {since} is ahead of the feed (current serial {current}); fetch the full feed")
    if since == current:
        return ChangesPublic(since=since, serial=current, added=[], removed=[], passthru_added=[], passthru_removed=[])
    oldest = queries.oldest_change_serial(session)
    if oldest is None or since < oldest - 1:
        raise Gone(
            f"serial {since} is too old to diff (changes are kept from serial {oldest}); fetch the full feed",
            code="serial_too_old",
        )
    first: dict[tuple[str, str], str] = {}
    last: dict[tuple[str, str], str] = {}
    for domain, action, op in queries.changes_between(session, since, current):
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
    return ChangesPublic(
        since=since,
        serial=current,
        added=b["add"],
        removed=b["remove"],
        passthru_added=p["add"],
        passthru_removed=p["remove"],
    )


def prune_changes(session: Session, keep: int) -> int:
    """Keep the newest ``keep`` change rows' serials; a client older than that refetches the whole feed."""
    if queries.count_changes(session) <= keep:
        return 0
    cutoff = queries.cutoff_serial(session, keep)
    if cutoff is None:
        return 0
    return queries.delete_changes_through(session, cutoff)


def reconcile(session: Session) -> int | None:
    """Recompute the whole feed from the registry and repair drift.

    A crash mid-change cannot cause drift (one transaction), a hand edit of the database can.
    """
    want_blocked = queries.all_blocked(session)
    want_pass = queries.all_licensed(session)
    have = queries.all_feed_actions(session)
    want = dict.fromkeys(want_blocked, FeedAction.block.value) | dict.fromkeys(want_pass, FeedAction.passthru.value)
    touched = {d for d in set(have) | set(want) if have.get(d) != want.get(d)}
    return sync_feed(session, touched)
