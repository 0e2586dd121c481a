"""SIGKILL the server while batch screenings are being answered: the screening log misses only what the README says.

The README promises that a crash loses at most the screening log rows of the last flush interval
(``REGISTRY_SCREENING_LOG_FLUSH_SECONDS``, 0.5 s by default). Every batch here screens addresses no other batch
screens, so after the kill each answered batch can be found in ``screening_log`` and the answers missing from it can
be dated: each must have been answered within the last flush interval plus ``MARGIN_SECONDS`` before the kill (the
chunk being written when the process died, and the scheduling slack of a 2-core machine shared with the client).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.support.keys import Keys
from tests.support.servers import start_server, stop_server

FLUSH_SECONDS = 0.5
MARGIN_SECONDS = 0.5  # the chunk in flight, and a writer thread starved for a moment on a busy 2-core machine
BATCH = 10_000
CLIENTS = 2
KILL_AFTER_SECONDS = 3.0  # at the earliest: the log has been flushing for a while
MIN_BATCHES = 12  # and not before this many answers: on a loaded machine the kill waits for them (up to a minute)


def _batch(client: int, seq: int) -> bytes:
    # 0x + client (2 hex) + batch number (6 hex) + item (32 hex): the first 8 hex digits name the batch.
    return orjson.dumps({"addresses": [f"0x{client:02x}{seq:06x}{i:032x}" for i in range(BATCH)]})


def test_sigkill_during_batch_screening_loses_only_the_last_flush_interval(
    db_url: str, tmp_path: Path, keys: Keys, engine: Engine
) -> None:
    banks = [{**keys.headers("bank"), "Content-Type": "application/json"} for _ in range(CLIENTS)]
    server = start_server(db_url, tmp_path, {"REGISTRY_SCREENING_LOG_FLUSH_SECONDS": str(FLUSH_SECONDS)})
    answered: dict[str, float] = {}  # batch prefix -> monotonic time the client had the whole answer
    refused: list[float] = []
    lock = threading.Lock()
    enough = threading.Event()  # set the moment an answer lands with enough load behind it: the kill follows at once
    started = time.monotonic()

    def screen(client: int) -> None:
        with server.client() as http:
            seq = 0
            while True:
                body = _batch(client, seq)
                try:
                    r = http.post("/v1/screen/batch", content=body, headers=banks[client], timeout=30)
                except httpx.HTTPError:
                    return  # the server is gone
                now = time.monotonic()
                if r.status_code in (429, 503):  # the log is behind (or the key's rate): back off, resend
                    assert r.headers["Retry-After"], r.text
                    if r.status_code == 503:
                        assert r.json()["error"]["code"] == "screening_log_busy", r.text
                        refused.append(now)
                    time.sleep(0.05)  # a bank waits Retry-After; a shorter pause keeps the pressure on
                    continue
                assert r.status_code == 200, r.text[:500]
                with lock:
                    answered[f"{client:02x}{seq:06x}"] = now
                    if len(answered) >= MIN_BATCHES and now - started >= KILL_AFTER_SECONDS:
                        enough.set()
                seq += 1

    threads = [threading.Thread(target=screen, args=(c,), daemon=True) for c in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        assert enough.wait(timeout=60), f"too little load to measure: {len(answered)} batches answered in 60 s"
        killed_at = time.monotonic()
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        for t in threads:
            t.join(timeout=30)
    finally:
        if server.proc.poll() is None:
            stop_server(server)

    with engine.connect() as c:
        query = text("SELECT substr(address, 3, 8), count(*) FROM screening_log GROUP BY substr(address, 3, 8)")
        logged = {str(b): int(n) for b, n in c.execute(query)}
    rows_answered = len(answered) * BATCH
    last_answer = max(answered.values())
    assert killed_at - last_answer < 1.0, "the kill did not come while answers were flowing"
    missing = {b: BATCH - logged.get(b, 0) for b in answered if logged.get(b, 0) < BATCH}
    lost_rows = sum(missing.values())
    oldest_lost = max((killed_at - answered[b] for b in missing), default=0.0)
    rate = rows_answered / (killed_at - started)
    print(
        f"\n{db_url.split(':')[0]}: {rows_answered} screenings answered at {rate:,.0f}/s; {lost_rows} missing from "
        f"the log after kill -9 ({100 * lost_rows / rows_answered:.1f} %, {len(missing)} batches), the oldest "
        f"answered {oldest_lost:.3f} s before the kill; {len(refused)} batches refused (log behind) and resent"
    )
    assert oldest_lost <= FLUSH_SECONDS + MARGIN_SECONDS, (
        f"answers from {oldest_lost:.2f} s before the kill are missing from the screening log "
        f"(promise: {FLUSH_SECONDS} s + {MARGIN_SECONDS} s margin); {lost_rows} rows of {len(missing)} batches missing"
    )
