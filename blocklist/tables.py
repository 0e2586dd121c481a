"""Storage models of the blocklist. API models live in ``blocklist.models``; ISPs only ever see rendered feeds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from registry.db.types import utc_field


class DomainStatus(StrEnum):
    pending = "pending"  # submitted (or sent to review by a licence change), waiting for a supervisor
    active = "active"  # in the feed
    rejected = "rejected"
    delisted = "delisted"


class FeedAction(StrEnum):
    block = "block"  # NXDOMAIN for the domain and its subdomains
    passthru = "pass"  # licensed: RPZ passes it through even under a blocked parent


class LicensedFirm(SQLModel, table=True):
    """A firm as a licence register last showed it; ``regulator`` leaves room for a second register."""

    __tablename__ = "licensed_firm"
    __table_args__ = (UniqueConstraint("regulator", "firm_key", name="uq_licensed_firm_key"),)
    id: int | None = Field(default=None, primary_key=True)
    regulator: str = Field(default="afsa", max_length=16)  # afsa | nbk (a second register)
    firm_key: str = Field(max_length=200)  # the licence number, or name:<name> for a firm listed without one
    licence_number: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=300)
    status: str = Field(max_length=32)  # active | suspended | revoked | withdrawn | expired | unknown
    status_text: str = Field(default="", max_length=200)  # as the register wrote it
    issued_on: str | None = Field(default=None, max_length=32)
    inactive_since: str | None = Field(default=None, max_length=32)
    activities: str = Field(default="", max_length=4000)
    section: str = Field(default="", max_length=32)
    bin: str | None = Field(default=None, max_length=12)
    details_url: str | None = Field(default=None, max_length=500)
    source: str = Field(default="seed", max_length=16)  # seed | register
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class LicensedFirmChange(SQLModel, table=True):
    """History of the register as we saw it: what changed for which firm, at which fetch."""

    __tablename__ = "licensed_firm_change"
    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(foreign_key="licensed_firm.id", index=True)
    fetch_id: int | None = Field(default=None, foreign_key="register_fetch.id", index=True)
    kind: str = Field(max_length=16)  # created | changed
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = utc_field()


class RegisterFetch(SQLModel, table=True):
    """Every refresh attempt, applied or not: a rejected fetch is reported; the last good copy stays."""

    __tablename__ = "register_fetch"
    id: int | None = Field(default=None, primary_key=True)
    regulator: str = Field(default="afsa", max_length=16)
    started_at: datetime = utc_field()
    finished_at: datetime | None = utc_field(nullable=True)
    outcome: str = Field(default="running", max_length=16)  # applied | unchanged | rejected | failed
    firms: int = Field(default=0)
    changed: int = Field(default=0)
    message: str = Field(default="", max_length=2000)


class LicensedDomain(SQLModel, table=True):
    """The curated firm → domain mapping (the register lists no websites)."""

    __tablename__ = "licensed_domain"
    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(foreign_key="licensed_firm.id", index=True)
    domain: str = Field(max_length=253, unique=True)
    note: str = Field(default="", max_length=1000)
    created_by: str = Field(max_length=64)
    created_at: datetime = utc_field()


class BlocklistDomain(SQLModel, table=True):
    """A submitted exchanger domain (``BlocklistEntry``); only ``active`` rows reach the feed."""

    __tablename__ = "blocklist_domain"
    __table_args__ = (
        Index("ix_blocklist_domain_domain_status", "domain", "status"),
        # One open (pending or active) entry per domain, enforced by the database: concurrent submissions of the
        # same domain get one winner and 409s on SQLite and PostgreSQL alike.
        Index(
            "uq_blocklist_domain_open",
            "domain",
            unique=True,
            sqlite_where=text("status IN ('pending', 'active')"),
            postgresql_where=text("status IN ('pending', 'active')"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    entity_id: int | None = Field(default=None, foreign_key="entity.id", index=True)
    domain: str = Field(max_length=253)
    registrable: str = Field(max_length=253, index=True)
    origin: str = Field(default="investigator", max_length=16)  # investigator | register (licence ended)
    legal_basis: str = Field(max_length=500)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DomainStatus.pending.value, max_length=16, index=True)
    submitted_by: str = Field(max_length=64)  # api_key id, cli:<person>, or system:<job>
    submitted_holder: str | None = Field(default=None, max_length=200)  # the person (normalised); None: a system
    approved_by: str | None = Field(default=None, max_length=64)
    decided_holder: str | None = Field(default=None, max_length=200)
    decision_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True)
    serial_added: int | None = Field(default=None)
    serial_removed: int | None = Field(default=None)


class FeedEntry(SQLModel, table=True):
    """The published feed, one row per domain: what every format renders."""

    __tablename__ = "feed_entry"
    domain: str = Field(primary_key=True, max_length=253)
    action: str = Field(max_length=8)  # block | pass
    serial: int  # serial at which it entered the feed


class FeedChange(SQLModel, table=True):
    """Additions and removals per serial, for ``/v1/blocklist/changes``; pruned to a window."""

    __tablename__ = "feed_change"
    id: int | None = Field(default=None, primary_key=True)
    serial: int = Field(index=True)
    domain: str = Field(max_length=253)
    action: str = Field(max_length=8)
    op: str = Field(max_length=8)  # add | remove
