"""Storage of the console's server-side sessions.

The browser holds only a random token; the database holds its SHA-256, so a copy of the table signs nobody in.
The person, role and organisation are copied from the key at sign-in for the menus, and checked against the key on
every request (a revoked key ends its sessions at the next page).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from registry.db.types import utc_field


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)  # sha256 of the cookie's token, hex
    key_id: int = Field(index=True)  # api_key.id the person signed in with
    role: str = Field(max_length=16)
    org: str = Field(max_length=200)
    holder: str | None = Field(default=None, max_length=200)
    csrf_token: str = Field(max_length=64)  # every form of the session carries it
    client: str = Field(default="", max_length=64)  # the address the sign-in came from (audit)
    created_at: datetime = utc_field()
    last_seen_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(nullable=True, index=True)
    end_reason: str | None = Field(default=None, max_length=16)  # signout | idle | lifetime | revoked
