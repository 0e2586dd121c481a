"""The OpenAPI schema fuzzed with schemathesis: no 5xx, and no response that breaks the documented schema.

Each operation is called with a key of a role it admits (``x-roles`` in the schema), so the fuzzer gets past
authentication into the handlers, where malformed input must become a 4xx.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.db.engine import make_engine
from registry.http.app import create_app
from registry.settings import Settings
from tests.conftest import PEPPER, Keys

ROLES = ("bank", "isp", "investigator", "supervisor", "admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
"""What "no 5xx, no response that breaks its schema" means. Not positive-data acceptance: the schema cannot say
that an address must pass its checksum, so schema-valid requests may rightly get a 422."""


@pytest.fixture(scope="module")
def fuzz_app(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    keys = Keys(engine)
    headers = {role: keys.headers(role) for role in ROLES}
    app = create_app(
        Settings(database_url=url, key_pepper=PEPPER, rate_limit_per_second=1e6, rate_limit_burst=1e6), engine
    )
    with TestClient(app):  # runs the lifespan: snapshot and key cache loaded
        yield {"app": app, "headers": headers}
    engine.dispose()


def _fuzz(op: Any, headers: dict[str, str], failures: list[str]) -> None:
    """Hypothesis drives one operation; every failure is collected so that one run reports them all."""

    @given(case=op.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as e:
            failures.append(f"{case.method} {case.formatted_path}: {str(e)[:300]}")

    run()


def test_no_5xx_and_responses_match_the_schema(fuzz_app: dict[str, Any]) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, which does not load under this pytest.
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app["app"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    for op in operations:
        roles = op.definition.raw.get("x-roles") or []
        role = "bank" if roles == ["any"] else (roles[0] if roles else None)
        _fuzz(op, fuzz_app["headers"][role] if role else {}, failures)
    assert not failures, "\n".join(sorted(set(failures))[:30])
