"""Fixtures of the monitoring tests: short retry settings, an app that accepts loopback webhooks, a receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from registry.app import create_app
from registry.monitoring.settings import MonitoringSettings
from registry.settings import Settings
from tests.monitoring.receiver import Receiver

SHORT = {
    "REGISTRY_MONITORING_ALLOW_PRIVATE_URLS": "true",
    "REGISTRY_MONITORING_ALLOW_PLAIN_HTTP": "true",
    "REGISTRY_MONITORING_RETRY_SECONDS": "3",
    "REGISTRY_MONITORING_BACKOFF_BASE_SECONDS": "0.05",
    "REGISTRY_MONITORING_BACKOFF_MAX_SECONDS": "0.3",
    "REGISTRY_MONITORING_DELIVERY_TIMEOUT_SECONDS": "0.5",
    "REGISTRY_MONITORING_POLL_SECONDS": "0.1",
}
"""Seconds instead of hours; loopback URLs allowed (the receiver is on 127.0.0.1)."""


@pytest.fixture
def ms(monkeypatch: pytest.MonkeyPatch) -> MonitoringSettings:
    for name, value in SHORT.items():
        monkeypatch.setenv(name, value)
    return MonitoringSettings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def client(settings: Settings, engine: Engine, ms: MonitoringSettings) -> Iterator[TestClient]:
    """The app, built after ``ms`` set the environment its monitoring settings are read from."""
    with TestClient(create_app(settings, engine)) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()
