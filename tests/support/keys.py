"""API keys made straight in the database (the CLI's path), as headers."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine

from registry.audit.service import CLI
from registry.auth.service import create_key
from registry.db.engine import session_scope
from tests.support.paths import PEPPER


class Keys:
    """Creates API keys straight in the database (the CLI's path) and hands out auth headers."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, role: str, org: str = "Test Org", holder: str | None = None) -> str:
        holder = holder or f"{role}-{uuid.uuid4().hex[:6]}"
        with session_scope(self.engine) as s:
            secret, _ = create_key(s, role, org, PEPPER.encode(), CLI, holder)
        return secret

    def headers(self, role: str, org: str = "Test Org", holder: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.create(role, org, holder)}"}
