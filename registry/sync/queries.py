"""Every SQL statement of the sync and the crawl but writing transfers (``registry.transfers.store``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from registry.db.types import utcnow
from registry.transfers.store import sqlite_time


def get_cursor(session: Session, network: str) -> int | None:
    row = session.execute(text("SELECT next_block FROM sync_cursor WHERE network = :n"), {"n": network}).first()
    return None if row is None else int(row[0])


def set_cursor(session: Session, network: str, next_block: int) -> None:
    session.execute(
        text(
            "INSERT INTO sync_cursor (network, next_block, updated_at) VALUES (:n, :b, :t) "
            "ON CONFLICT (network) DO UPDATE SET next_block = excluded.next_block, updated_at = excluded.updated_at"
        ),
        {"n": network, "b": next_block, "t": _bind_time(session, utcnow())},
    )


def _bind_time(session: Session, t: datetime) -> Any:
    return sqlite_time(t) if session.connection().dialect.name == "sqlite" else t


def stored_hashes(session: Session, network: str, limit: int) -> dict[int, str]:
    rows = session.execute(
        text("SELECT number, hash FROM sync_block WHERE network = :n ORDER BY number DESC LIMIT :l"),
        {"n": network, "l": limit},
    )
    return {int(n): str(h) for n, h in rows}


def stored_hash(session: Session, network: str, number: int) -> str | None:
    row = session.execute(
        text("SELECT hash FROM sync_block WHERE network = :n AND number = :b"), {"n": network, "b": number}
    ).first()
    return None if row is None else str(row[0])


def save_hashes(session: Session, network: str, hashes: Iterable[tuple[int, str]], keep_from: int) -> None:
    """Upsert the given hashes and forget those below ``keep_from`` (too deep to be reorged)."""
    params = [{"n": network, "b": b, "h": h} for b, h in hashes]
    if params:
        session.execute(
            text(
                "INSERT INTO sync_block (network, number, hash) VALUES (:n, :b, :h) "
                "ON CONFLICT (network, number) DO UPDATE SET hash = excluded.hash"
            ),
            params,
        )
    session.execute(text("DELETE FROM sync_block WHERE network = :n AND number < :b"), {"n": network, "b": keep_from})


def roll_back(session: Session, network: str, from_block: int) -> int:
    """Forget everything of ``network`` from ``from_block`` up: transfers, hashes; the cursor moves back to it."""
    result = session.connection().execute(
        text("DELETE FROM transfer WHERE network = :n AND block >= :b"), {"n": network, "b": from_block}
    )
    deleted = result.rowcount
    session.execute(text("DELETE FROM sync_block WHERE network = :n AND number >= :b"), {"n": network, "b": from_block})
    set_cursor(session, network, from_block)
    return int(deleted or 0)


def start_run(session: Session, network: str, kind: str, first_block: int | None) -> int:
    row = session.execute(
        text(
            "INSERT INTO sync_run (network, kind, started_at, status, first_block, transfers, rolled_back) "
            "VALUES (:n, :k, :t, 'running', :f, 0, 0) RETURNING id"
        ),
        {"n": network, "k": kind, "t": _bind_time(session, utcnow()), "f": first_block},
    ).one()
    return int(row[0])


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    reason: str | None,
    last_block: int | None,
    transfers: int,
    rolled_back: int,
) -> None:
    session.execute(
        text(
            "UPDATE sync_run SET finished_at = :t, status = :s, reason = :r, last_block = :l, transfers = :x, "
            "rolled_back = :rb WHERE id = :id"
        ),
        {
            "t": _bind_time(session, utcnow()),
            "s": status,
            "r": reason[:500] if reason else None,
            "l": last_block,
            "x": transfers,
            "rb": rolled_back,
            "id": run_id,
        },
    )


def recent_runs(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.execute(
        text(
            "SELECT id, network, kind, status, reason, first_block, last_block, transfers, rolled_back "
            "FROM sync_run ORDER BY id DESC LIMIT :l"
        ),
        {"l": limit},
    ).mappings()
    return [dict(r) for r in rows]


def crawl_seeds(session: Session) -> list[tuple[str, str]]:
    """``(chain, address)`` of active listings and of addresses banks screened: where the crawl starts."""
    rows = session.execute(
        text(
            "SELECT chain, address FROM listing WHERE status = 'active' UNION SELECT chain, address FROM screening_log"
        )
    )
    return [(str(c), str(a)) for c, a in rows]


def upsert_frontier(session: Session, rows: Sequence[tuple[str, str, int]]) -> None:
    """Add ``(network, address, hops)``; an address already known keeps the shorter distance."""
    if not rows:
        return
    session.execute(
        text(
            "INSERT INTO crawl_address (network, address, hops, since) VALUES (:n, :a, :h, 0) "
            "ON CONFLICT (network, address) DO UPDATE SET hops = "
            "CASE WHEN excluded.hops < crawl_address.hops THEN excluded.hops ELSE crawl_address.hops END"
        ),
        [{"n": n, "a": a, "h": h} for n, a, h in rows],
    )


def frontier(session: Session, network: str, hops: int, until: int, limit: int) -> list[tuple[str, int, int]]:
    """Addresses at distance ``hops`` whose history is not read up to ``until``: least recently crawled first."""
    rows = session.execute(
        text(
            "SELECT address, hops, since FROM crawl_address WHERE network = :n AND hops = :h AND since <= :u "
            "ORDER BY crawled_at IS NOT NULL, crawled_at, address LIMIT :l"
        ),
        {"n": network, "h": hops, "u": until, "l": limit},
    )
    return [(str(a), int(h), int(s)) for a, h, s in rows]


def mark_crawled(session: Session, network: str, done: Sequence[tuple[str, int]]) -> None:
    if not done:
        return
    now = _bind_time(session, utcnow())
    session.execute(
        text("UPDATE crawl_address SET since = :s, crawled_at = :t WHERE network = :n AND address = :a"),
        [{"s": s, "t": now, "n": network, "a": a} for a, s in done],
    )
