"""The OpenAPI schema fuzzed with schemathesis, on SQLite and on PostgreSQL: no 5xx, and no response that breaks the
documented schema.

Each operation is called with a key of a role it admits (``x-roles`` in the schema), so the fuzzer gets past
authentication into the handlers, where malformed input must become a 4xx.

Budget: up to ``MAX_EXAMPLES`` examples per operation, stopped by time: each database gets ``BUDGET_SECONDS``
(``REGISTRY_TEST_FUZZ_SECONDS``), shared out over the operations as they run (what a cheap operation leaves is given to
the next ones). An operation that runs out of time still gets ``MIN_EXAMPLES``. Examples are derandomised, so a
run on the same code and schema generates the same requests in the same order; a faster machine only gets further
down the same sequence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import Engine

from registry.app import create_app
from registry.settings import Settings
from tests.support.keys import Keys
from tests.support.paths import PEPPER

ROLES = ("bank", "isp", "investigator", "supervisor", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
"""What "no 5xx, no response that breaks its schema" means. Not positive-data acceptance: the schema cannot say
that an address must pass its checksum, so schema-valid requests may rightly get a 422."""

BUDGET_SECONDS = float(os.environ.get("REGISTRY_TEST_FUZZ_SECONDS", "45"))
MAX_EXAMPLES = 300
MIN_EXAMPLES = 15


class _OutOfTime(Exception):
    """Raised inside an example once the operation's share of the budget is spent; caught around the run."""


@dataclass
class Tally:
    failures: list[str] = field(default_factory=list)
    examples: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # server-side tracebacks of 5xx answers


class _Errors(logging.Handler):
    """Keeps the tracebacks the app logs for a 500, so a failure report names the line that raised."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(logging.Formatter().formatException(record.exc_info))
        self.records.append(text)


@pytest.fixture
def fuzz_app(db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    keys = Keys(engine)
    headers = {role: keys.headers(role) for role in ROLES}
    # GET /v1/alerts?wait= holds a request up to this long (a long poll): not 30 s per example of the budget
    monkeypatch.setenv("REGISTRY_MONITORING_PULL_MAX_WAIT_SECONDS", "0.2")
    app = create_app(
        Settings(database_url=db_url, key_pepper=PEPPER, rate_limit_per_second=1e6, rate_limit_burst=1e6), engine
    )
    with TestClient(app) as client:  # runs the lifespan: snapshot and key cache loaded
        _seed(client, headers)
        yield {"app": app, "headers": headers}


def _seed(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """A case, listings (pending, active), a domain entry and a pending request, with the small ids (1, 2) that
    hypothesis generates often: the fuzzer then reaches the handlers' work on real rows, not only their 404s."""
    inv, sup = headers["investigator"], headers["supervisor"]
    case = client.post("/v1/cases", json={"number": "FUZZ-1", "title": "fuzz"}, headers=inv)
    assert case.status_code == 201, case.text
    cid = case.json()["id"]
    listed = []
    for address in ("0x1111111111111111111111111111111111111111", "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre"):
        body = {"address": address, "category": "fraud", "confidence": 70, "legal_basis": "art. 230"}
        r = client.post(f"/v1/cases/{cid}/listings", json=body, headers=inv)
        assert r.status_code == 201, r.text
        listed.append(r.json()["id"])
    assert client.post(f"/v1/listings/{listed[0]}/approve", json={}, headers=sup).status_code == 200
    r = client.post(f"/v1/listings/{listed[0]}/delist", json={"reason": "fuzz seed"}, headers=sup)
    assert r.status_code == 202, r.text
    r = client.post(
        f"/v1/cases/{cid}/domains", json={"domain": "shadow-fuzz.com", "legal_basis": "unlicensed"}, headers=inv
    )
    assert r.status_code == 201, r.text


def _cases(op: Any) -> Any:
    """Schema-valid requests and schema-breaking ones (wrong types, missing fields, out-of-range numbers): the
    second kind must be refused with a documented 4xx, never reach the database as a 500."""
    positive = op.as_strategy(GenerationMode.POSITIVE)
    try:
        negative = op.as_strategy(GenerationMode.NEGATIVE)
    except Exception:  # an operation with nothing to break (no parameters, no body)
        return positive
    return st.one_of(positive, negative)


def _fuzz(op: Any, headers: dict[str, str], tally: Tally, deadline: float, errors: _Errors) -> None:
    """Hypothesis drives one operation; every failure is collected so that one run reports them all."""
    name = f"{op.method.upper()} {op.path}"
    tally.examples[name] = 0

    @given(case=_cases(op))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # failures are collected, never raised: nothing to shrink
    )
    def run(case: Any) -> None:
        if tally.examples[name] >= MIN_EXAMPLES and time.monotonic() > deadline:
            raise _OutOfTime
        tally.examples[name] += 1
        before = len(errors.records)
        try:
            response = case.call(headers={**(case.headers or {}), **headers})
        except Exception:  # in-process, the app's unhandled exception reaches the caller instead of a 500
            tally.failures.append(
                f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r:.300}: 500, raised\n"
                + traceback.format_exc()[-1500:]
            )
            return
        if response.status_code >= 500:
            trace = "\n".join(errors.records[before:])[-1500:]
            tally.failures.append(
                f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r:.300}: "
                f"{response.status_code} {response.text[:300]}\n{trace}"
            )
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as e:
            tally.failures.append(f"{case.method} {case.formatted_path}: {str(e)[:300]}")

    with contextlib.suppress(_OutOfTime):
        run()


def test_no_5xx_and_responses_match_the_schema(fuzz_app: dict[str, Any], db_url: str) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, which does not load under this pytest.
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app["app"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    tally = Tally()
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    started = time.monotonic()
    try:
        for i, op in enumerate(operations):
            roles = op.definition.raw.get("x-roles") or []
            role = "bank" if roles == ["any"] else (roles[0] if roles else None)
            left = BUDGET_SECONDS - (time.monotonic() - started)
            deadline = time.monotonic() + max(0.0, left) / (len(operations) - i)
            _fuzz(op, fuzz_app["headers"][role] if role else {}, tally, deadline, errors)
    finally:
        logging.getLogger().removeHandler(errors)
    spent = time.monotonic() - started
    backend = db_url.split(":")[0].split("+")[0]
    print(f"\nfuzz {backend}: {sum(tally.examples.values())} examples, {len(operations)} operations, {spent:.1f} s")
    for name, n in tally.examples.items():
        print(f"  {n:4d} {name}")
    assert not tally.failures, "\n".join(sorted(set(tally.failures))[:30])
