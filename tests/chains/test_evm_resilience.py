"""A faulty node in front of anvil: ranges refused as too large, 429 and 5xx answers, a malformed body, a dead port."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import orjson
import pytest
import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine

from chains.retry import RetryPolicy
from registry.sync.blocks import sync_network
from tests.chains.anvil import Anvil, fill_blocks
from tests.chains.evm_helpers import adapter, cursor, make_activity, node_truth, stored
from tests.chains.replay import JSON, ReplayServer, Reply

pytestmark = pytest.mark.anvil


class FaultyNode:
    """Forwards JSON-RPC to anvil, except: eth_getLogs over more than ``max_range`` blocks gets the error public
    nodes give; every ``throttle_every``-th request gets a 429, then a 503 on the next; ``malformed`` answers HTML."""

    def __init__(self, upstream: str, max_range: int = 10, throttle_every: int = 0) -> None:
        self.upstream = upstream
        self.max_range = max_range
        self.throttle_every = throttle_every
        self.malformed_after: int | None = None
        self.count = 0
        self.refused = 0
        self.throttled = 0
        self.lock = threading.Lock()
        self.session = requests.Session()
        self.server = ReplayServer(self.handle)

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        with self.lock:
            self.count += 1
            n = self.count
        if self.malformed_after is not None and n > self.malformed_after:
            return 200, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>"
        if self.throttle_every and n % self.throttle_every == 0:
            self.throttled += 1
            return 429, {"Retry-After": "0"}, b"rate limited"
        if self.throttle_every and n % self.throttle_every == 1 and n > 1:
            self.throttled += 1
            return 503, {}, b"busy"
        req = orjson.loads(body)
        calls = req if isinstance(req, list) else [req]
        for c in calls:
            if c["method"] == "eth_getLogs":
                f = c["params"][0]
                if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 > self.max_range:
                    self.refused += 1
                    err = {"code": -32005, "message": f"query exceeds max block range {self.max_range}"}
                    return 200, JSON, orjson.dumps({"jsonrpc": "2.0", "id": c["id"], "error": err})
        resp = self.session.post(self.upstream, data=body, headers=JSON)
        return resp.status_code, JSON, resp.content

    def close(self) -> None:
        self.server.close()
        self.session.close()


@pytest.fixture
def faulty(anvil: Anvil) -> Iterator[FaultyNode]:
    node = FaultyNode(anvil.url)
    yield node
    node.close()


def test_refused_ranges_are_split_and_throttling_is_retried(anvil: Anvil, faulty: FaultyNode, engine: Engine) -> None:
    token = anvil.deploy_token()
    fill_blocks(anvil, token, blocks=40, per_block=2)
    make_activity(anvil, token, rounds=4)
    faulty.throttle_every = 7
    # Several windows are in flight, so one call's retries can meet other calls' injected faults: more tries.
    retry = RetryPolicy(attempts=8, base_seconds=0.01, max_seconds=0.05)
    a = adapter(anvil, token, url=faulty.server.url, log_window=1000, retry=retry)
    report = sync_network(engine, a, batch_blocks=25)
    assert report.ok, report.reason
    assert faulty.refused > 0 and faulty.throttled > 0
    assert a.log_window <= 10
    rows = stored(engine)
    assert len(rows) == len(set(rows))
    assert set(rows) == node_truth(anvil, token, anvil.block_number() - 2)


def test_malformed_body_fails_the_run_with_a_reason_and_the_next_run_resumes(
    anvil: Anvil, faulty: FaultyNode, engine: Engine
) -> None:
    token = anvil.deploy_token()
    fill_blocks(anvil, token, blocks=30, per_block=2)
    a = adapter(anvil, token, url=faulty.server.url, log_window=10)
    faulty.malformed_after = 8
    failed = sync_network(engine, a, batch_blocks=5)
    assert not failed.ok and failed.reason is not None and "not JSON" in failed.reason
    stopped_at = cursor(engine)
    assert stopped_at is not None and stopped_at > 0
    with engine.connect() as c:
        assert c.execute(text("SELECT max(block) FROM transfer")).scalar_one() < stopped_at

    faulty.malformed_after = None
    resumed = sync_network(engine, a, batch_blocks=5)
    assert resumed.ok and resumed.first_block == stopped_at
    assert set(stored(engine)) == node_truth(anvil, token, anvil.block_number() - 2)


def test_dead_node_fails_the_run_without_raising(engine: Engine) -> None:
    from chains.evm.adapter import EvmAdapter
    from tests.chains.anvil import free_port
    from tests.chains.conftest import FAST_RETRY

    a = EvmAdapter("eth", f"http://127.0.0.1:{free_port()}", tokens=[], retry=FAST_RETRY, timeout=2)
    report = sync_network(engine, a)
    assert report.status == "failed"
    assert report.reason is not None and "gave up after 3 attempts" in report.reason
    assert cursor(engine) is None
    with engine.connect() as c:
        row = c.execute(text("SELECT status, reason FROM sync_run")).one()
    assert row[0] == "failed" and "ConnectionError" in row[1]


def test_a_bug_mid_sync_ends_the_run_as_an_error_and_still_raises(engine: Engine) -> None:
    """Not a chain's fault (a bug, the database gone, Ctrl-C): the error propagates, and ``sync_run`` does not go
    on saying the sync is running."""
    from registry.sync.runs import recorded_run

    def sync_with_a_bug() -> None:
        with recorded_run(engine, "eth", "sync", first_block=7) as report:
            report.last_block = 9
            raise ZeroDivisionError("division by zero")

    with pytest.raises(ZeroDivisionError):
        sync_with_a_bug()
    with engine.connect() as c:
        row = c.execute(text("SELECT status, reason, last_block, finished_at FROM sync_run")).one()
    assert row[0] == "error" and row[1] == "ZeroDivisionError: division by zero" and row[2] == 9
    assert row[3] is not None
