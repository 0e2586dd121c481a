"""The PostgreSQL server the suite may use."""

from __future__ import annotations

import os

import pytest

from registry.settings import Settings


def pg_admin_url() -> str | None:
    url = os.environ.get("REGISTRY_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("REGISTRY_TEST_POSTGRES_URL is not set: the PostgreSQL tests must run in CI")
        return None
    return Settings(database_url=url).database_url
