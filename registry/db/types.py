"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on SQLite (which keeps no zone) and PostgreSQL alike.

    Without it PostgreSQL would shift naive values by the session time zone and the audit hashes, computed on the
    value written, would not match the value read back.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_field(*, nullable: bool = False, index: bool = False, default: Any = ...) -> Any:
    """A SQLModel field holding an aware UTC datetime."""
    if default is ...:
        default = None if nullable else ...
    return Field(default=default, sa_type=UtcDateTime, nullable=nullable, index=index)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc_datetime(v: Any) -> datetime | None:
    """A timestamp column read without ``UtcDateTime`` (raw SQL, plain column reads) as an aware UTC datetime.

    SQLite hands such a column back as ISO text, PostgreSQL as a datetime; what the tables store without a zone is
    UTC (``UtcDateTime`` writes it so).
    """
    if v is None:
        return None
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    assert isinstance(v, datetime)
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v
