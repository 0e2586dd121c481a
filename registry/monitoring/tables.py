"""Storage of monitoring: watchlists, the alert outbox with its delivery state, webhook endpoints, and what the
alert computation remembers between registry versions (the last processed version and the results it saw).

The API models are in ``registry.monitoring.models``; a bank is never handed these rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Integer, Text
from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from registry.db.types import utc_field

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit id on PostgreSQL; on SQLite an ``INTEGER PRIMARY KEY`` (64-bit there, and the only autoincrementing
kind). Alerts and change rows are written by the hundred thousand per rescoring: 2**31 ids would run out."""


class AlertStatus(StrEnum):
    pending = "pending"  # to be pushed to the bank's webhook (retried with backoff until its deadline)
    delivered = "delivered"  # the endpoint answered 2xx
    dead = "dead"  # not delivered before its deadline: a dead letter, the bank may replay it
    pull = "pull"  # the bank has no webhook: it reads alerts with GET /v1/alerts


class WatchedAddress(SQLModel, table=True):
    """One address a bank watches, with the bank's own opaque reference for its customer (no personal data).

    ``bank`` is the organisation named by the bank's API keys: every key of the bank sees the same watchlist."""

    __tablename__ = "monitoring_watch"
    __table_args__ = (
        UniqueConstraint("bank", "family", "address", name="uq_monitoring_watch"),
        Index("ix_monitoring_watch_address", "family", "address"),
    )
    id: int | None = Field(default=None, primary_key=True)
    bank: str = Field(max_length=200)
    family: str = Field(max_length=16)  # the screening snapshot's key space: evm for every EVM network
    address: str = Field(max_length=128)
    chain: str = Field(max_length=16)  # as the bank named it (or as detected)
    ref: str = Field(max_length=64)
    added_at: datetime = utc_field()


class WebhookEndpoint(SQLModel, table=True):
    """A bank's webhook: where its alerts are pushed, the signing secret(s), and the endpoint's health.

    The secrets are kept in clear because every delivery is signed with them (HMAC needs the key); whoever reads
    this table can forge the registry's webhooks, as whoever reads ``api_key`` cannot forge keys. ``previous_secret``
    keeps signing (a second signature) until ``previous_until`` after a rotation, so a bank can switch over."""

    __tablename__ = "monitoring_endpoint"
    id: int | None = Field(default=None, primary_key=True)
    bank: str = Field(max_length=200, unique=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_until: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()
    failures: int = 0  # consecutive failed attempts (the endpoint's backoff grows with it)
    paused_until: datetime | None = utc_field(nullable=True)  # no attempt before this (backoff after a failure)
    last_success_at: datetime | None = utc_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)


class MonitoringCursor(SQLModel, table=True):
    """One row per registry version the alert computation processed, written in the transaction of its alerts:
    the primary key makes a second processing of a version fail instead of alerting twice."""

    __tablename__ = "monitoring_cursor"
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    processed_at: datetime = utc_field()
    changed: int = 0  # addresses whose result changed since the previous processed version
    alerts: int = 0
    seconds: float = 0.0


class AddressState(SQLModel, table=True):
    """The screening result, reduced to what alerts compare, of every address whose result is not the clean one,
    as of the last processed version: the old side of the next diff, kept in the database so that a restarted
    worker diffs against what it last saw rather than against nothing."""

    __tablename__ = "monitoring_state"
    family: str = Field(primary_key=True, max_length=16)
    address: str = Field(primary_key=True, max_length=128)
    risk_score: int
    risk_level: str = Field(max_length=8)
    action: str = Field(max_length=8)
    direct: str = Field(sa_column=Column(Text, nullable=False))  # JSON [{"category", "source"}], sorted


class AddressChange(SQLModel, table=True):
    """An address whose result changed at ``version``, with both results: the changes feed, and what alerts are
    joined from. ``alerting`` when the level, the action or the direct listings changed (a score alone does not
    alert). Pruned after ``REGISTRY_MONITORING_CHANGES_RETENTION_DAYS``."""

    __tablename__ = "monitoring_change"
    __table_args__ = (Index("ix_monitoring_change_version", "version"),)
    id: int | None = Field(default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True))
    version: int
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    prev_score: int
    prev_level: str = Field(max_length=8)
    prev_action: str = Field(max_length=8)
    prev_direct: str = Field(sa_column=Column(Text, nullable=False))
    risk_score: int
    risk_level: str = Field(max_length=8)
    action: str = Field(max_length=8)
    direct: str = Field(sa_column=Column(Text, nullable=False))
    alerting: bool


class Alert(SQLModel, table=True):
    """One alert for one bank: the outbox row and its delivery state.

    Unique per (bank, address, registry version): a version is processed once (``MonitoringCursor``), and even a
    bug that processed it again could not alert twice. Ids grow with every version, so a bank reads its alerts in
    order (``GET /v1/alerts?after=``) and a webhook's ``webhook-id`` (``msg_<id>``) is stable across retries."""

    __tablename__ = "monitoring_alert"
    __table_args__ = (
        UniqueConstraint("bank", "family", "address", "registry_version", name="uq_monitoring_alert"),
        Index("ix_monitoring_alert_bank", "bank", "status", "id"),
        Index("ix_monitoring_alert_due", "status", "next_attempt_at"),
        Index("ix_monitoring_alert_sent", "sent_at"),
    )
    id: int | None = Field(default=None, sa_column=Column(BIG_ID, primary_key=True, autoincrement=True))
    bank: str = Field(max_length=200)
    family: str = Field(max_length=16)
    address: str = Field(max_length=128)
    chain: str = Field(max_length=16)
    ref: str = Field(max_length=64)
    registry_version: int
    prev_score: int
    prev_level: str = Field(max_length=8)
    prev_action: str = Field(max_length=8)
    prev_direct: str = Field(sa_column=Column(Text, nullable=False))
    risk_score: int
    risk_level: str = Field(max_length=8)
    action: str = Field(max_length=8)
    direct: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = utc_field()
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = utc_field()
    deadline_at: datetime = utc_field()  # retried until then; a dead letter after
    delivered_at: datetime | None = utc_field(nullable=True)
    pulled_at: datetime | None = utc_field(nullable=True)
    sent_at: datetime | None = utc_field(nullable=True)  # the first of delivered_at and pulled_at: it reached the bank
    last_error: str | None = Field(default=None, max_length=500)
