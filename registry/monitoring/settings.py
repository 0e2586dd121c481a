"""Monitoring knobs: how fast alerts follow the registry version, how webhooks are retried, which URLs may be used.

Tests shorten every interval (seconds instead of hours); an agency changes ``REGISTRY_MONITORING_RETRY_SECONDS``
to what it promises banks, and leaves the URL rules strict unless its banks are reached over a private network.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MonitoringSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    monitoring_poll_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description=(
            "how often the worker checks whether the registry version moved (then alerts are computed) and which "
            "webhooks have alerts due"
        ),
    )
    monitoring_housekeeping_seconds: float = Field(
        30.0,
        gt=0,
        description=(
            "interval of the monitoring:housekeeping job, which starts the alert and delivery loops in the worker, "
            "turns alerts past their deadline into dead letters and prunes the changes feed"
        ),
    )
    monitoring_retry_seconds: float = Field(
        86400.0,
        gt=0,
        description="how long an alert is retried (exponential backoff with jitter) before it becomes a dead letter",
    )
    monitoring_backoff_base_seconds: float = Field(
        5.0,
        gt=0,
        description=(
            "first wait after a failed delivery (doubles with each failure; a random wait between half and all of it)"
        ),
    )
    monitoring_backoff_max_seconds: float = Field(3600.0, gt=0, description="longest wait between two attempts")
    monitoring_delivery_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="time a bank's endpoint has to connect and answer one delivery"
    )
    monitoring_delivery_concurrency: int = Field(
        16, ge=1, le=1000, description="webhook endpoints delivered to at once by one worker (one sender each)"
    )
    monitoring_delivery_batch: int = Field(
        200, ge=1, le=10000, description="alerts a sender takes from its endpoint's queue before it looks again"
    )
    monitoring_lease_seconds: float = Field(
        60.0,
        gt=0,
        description=(
            "leases of the alert loop and of each endpoint's sender (renewed while sending): a worker that died "
            "(kill -9) is taken over after this, and the alert it was sending is sent again with the same webhook-id"
        ),
    )
    monitoring_secret_overlap_seconds: float = Field(
        86400.0,
        ge=0,
        description="after a secret rotation, how long deliveries carry a second signature with the previous secret",
    )
    monitoring_allow_private_urls: bool = Field(
        False,
        description=(
            "accept webhook URLs on loopback, private, link-local or reserved addresses (tests; an agency reaching "
            "banks over a private network); off, such URLs are refused when registered and when delivered"
        ),
    )
    monitoring_allow_plain_http: bool = Field(
        False, description="accept http:// webhook URLs (tests, development); off, only https:// is accepted"
    )
    monitoring_changes_retention_days: float = Field(
        30.0, gt=0, description="days of GET /v1/changes history kept; an older since answers 410"
    )
    monitoring_pull_max_wait_seconds: float = Field(
        30.0, ge=0, le=300, description="longest GET /v1/alerts?wait= holds a request open waiting for an alert"
    )
    monitoring_max_items: int = Field(100_000, ge=1, description="most addresses in one watchlist call (JSON or CSV)")


@lru_cache
def get_monitoring_settings() -> MonitoringSettings:
    return MonitoringSettings()
