"""SIGKILL the server while a CSV import is being written: after a restart the import is wholly there or wholly
absent, its audit events with it.

A kill at a fixed time proves nothing if it lands before the first row is written (the file is still being
parsed) or after the commit. So the test watches the database from outside and kills only once the import has
started writing:

- PostgreSQL: the size of the ``listing`` and ``audit_event`` relations (uncommitted rows are invisible to
  another connection, but the pages they fill are not);
- SQLite: the size of the write-ahead log, which grows as the transaction's pages spill into it (the WAL is
  appended to, never rewritten, until a checkpoint, and none runs before the import commits).

It then waits a further fraction of the time the server took to get there (the time to parse the file, which
scales with the machine's speed and load the way the write phase does) and kills: at the first write, early in
the write and well into it. A commit in chunks (say every 500 rows) would leave a partial import at the later
points: the count after restart would be neither 0 nor ``ROWS``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from registry.audit.service import verify
from registry.db.engine import session_scope
from tests.registry.helpers import new_case
from tests.support.keys import Keys
from tests.support.servers import start_server, stop_server

ROWS = 10_000
"""Enough that writing and hashing take about as long as parsing (1–2 s each on the shared 2-core machine)."""
HEADER = "address,chain,category,confidence,legal_basis,evidence_note\n"
SQLITE_FIRST_WRITE_BYTES = 64 * 1024
"""WAL growth taken as the import's first write: more than a stray small commit (a page or two) could add."""
DEADLINE_SECONDS = 120


def _csv() -> bytes:
    return (HEADER + "".join(f"0x{i + 1:040x},eth,money_mule,40,art. 218,batch {i}\n" for i in range(ROWS))).encode()


@contextmanager
def _watch(db_url: str, engine: Engine) -> Iterator[Callable[[], int]]:
    """Bytes the database has written so far, as seen from outside the server's transaction."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        wal = Path(f"{url.database}-wal")
        yield lambda: wal.stat().st_size if wal.exists() else 0
        return
    q = text("SELECT pg_relation_size('listing') + pg_relation_size('audit_event')")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield lambda: int(conn.execute(q).scalar_one())


def _counts(engine: Engine, case_id: int) -> tuple[int, int]:
    with engine.connect() as c:
        listings = c.execute(text("SELECT count(*) FROM listing WHERE case_id = :c"), {"c": case_id}).scalar_one()
        events = c.execute(text("SELECT count(*) FROM audit_event WHERE action = 'listing.submit'")).scalar_one()
    return int(listings), int(events)


@pytest.mark.parametrize("after_first_write", [0.0, 0.2, 0.5], ids=["at-first-write", "early", "well-into-it"])
def test_sigkill_while_the_import_is_written_leaves_all_or_nothing(
    db_url: str, tmp_path: Path, keys: Keys, engine: Engine, after_first_write: float
) -> None:
    env = {"REGISTRY_MAX_BODY_BYTES": str(16 * 1024 * 1024)}
    inv = keys.headers("investigator")
    body = _csv()
    outcome: list[object] = []
    server = start_server(db_url, tmp_path, env)
    try:
        with server.client() as http, _watch(db_url, engine) as written:
            case = new_case(http, inv)
            threshold = SQLITE_FIRST_WRITE_BYTES if db_url.startswith("sqlite") else 0
            base = written()

            def send() -> None:
                try:
                    r = http.post(
                        f"/v1/cases/{case['id']}/listings/import",
                        content=body,
                        headers={**inv, "Content-Type": "text/csv"},
                        timeout=DEADLINE_SECONDS,
                    )
                    outcome.append(r.status_code)
                except httpx.HTTPError as e:
                    outcome.append(e)

            sender = threading.Thread(target=send)
            started = time.monotonic()
            sender.start()
            while written() - base <= threshold:
                assert sender.is_alive(), f"the import answered {outcome} before any write was seen"
                assert time.monotonic() - started < DEADLINE_SECONDS, "no write seen"
                time.sleep(0.005)
            first_write = time.monotonic()
            time.sleep(after_first_write * (first_write - started))
            os.kill(server.proc.pid, signal.SIGKILL)
            killed = time.monotonic()
            at_kill = written() - base
            server.proc.wait()
            sender.join(timeout=30)
    finally:
        if server.proc.poll() is None:
            stop_server(server)
    where = (
        f"parsed in {first_write - started:.2f} s, killed {killed - first_write:.2f} s after the first write, "
        f"{at_kill} bytes written by then"
    )
    print(where)
    assert outcome and isinstance(outcome[0], httpx.HTTPError), (
        f"the import answered before the kill: {outcome} ({where})"
    )

    restarted = start_server(db_url, tmp_path, env)
    try:
        listings, events = _counts(engine, case["id"])
        assert listings in (0, ROWS), f"a partial import survived the crash: {listings} of {ROWS} ({where})"
        assert events == listings, f"{events} audit events for {listings} listings ({where})"
        with restarted.client() as http:
            r = http.get(f"/v1/cases/{case['id']}", headers=inv)
            assert r.status_code == 200 and len(r.json()["listings"]) == listings, r.text[:300]
            if listings == 0:  # nothing half-written (a row, an index entry, a lock) blocks a retry of the same rows
                small = b"\n".join(body.split(b"\n")[:101]) + b"\n"
                r = http.post(
                    f"/v1/cases/{case['id']}/listings/import",
                    content=small,
                    headers={**inv, "Content-Type": "text/csv"},
                    timeout=60,
                )
                assert r.status_code == 201, r.text
                assert _counts(engine, case["id"]) == (100, 100)
    finally:
        stop_server(restarted)
    with session_scope(engine) as s:
        result = verify(s)
    assert result.ok, result.problems
