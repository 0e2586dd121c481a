"""Settings from the environment (prefix ``REGISTRY_``) and an optional ``.env`` file.

Every knob an operator may turn lives here, documented by its field description; ``tests/test_docs.py`` fails
when one is missing from the README.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIR = Path(os.environ.get("REGISTRY_VAR_DIR", "var"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="production refuses defaults that are only safe on a laptop"
    )
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite at var/registry.sqlite3 (WAL)")
    host: str = Field("127.0.0.1", description="bind address of `registry serve`")
    port: int = Field(8000, description="port of `registry serve`")
    workers: int = Field(1, ge=1, description="API worker processes of `registry serve`")
    key_pepper: str = Field(
        "", description="secret for the HMAC-SHA256 of API keys; empty in development means var/key_pepper"
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest request body accepted")
    max_batch: int = Field(10_000, ge=1, description="most addresses in one POST /v1/screen/batch")
    max_csv_rows: int = Field(100_000, ge=1, description="most rows in one CSV listing import")
    snapshot_poll_seconds: float = Field(
        1.0, gt=0, description="how often each worker checks whether the registry version changed"
    )
    screening_log_flush_seconds: float = Field(
        0.5,
        gt=0,
        description=(
            "longest a screening log row waits in memory while the database keeps up (written at least every half "
            "of it, and at once under load): what a crash can lose"
        ),
    )
    policy_version: str = Field("2026.1", description="version of the risk policy named in every result")
    sanctions_sources: list[str] = Field(
        default_factory=lambda: [
            "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML"
        ],
        description="what the scheduled sanctions import reads (URLs or paths, JSON list); [] turns the job off",
    )
    sanctions_import_seconds: float = Field(86400, gt=0, description="interval of the scheduled sanctions import")
    rate_limit_per_second: float = Field(
        2000, gt=0, description="requests per second allowed per API key (per worker process); over it: 429"
    )
    rate_limit_burst: float = Field(4000, ge=1, description="requests a key may send at once before the rate applies")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR; logs are JSON lines on stderr")
    access_log: bool = Field(False, description="log every request (errors and slow requests are always logged)")
    job_lease_seconds: float = Field(120, gt=5, description="a job's lease; renewed while it runs")
    run_scheduler: bool = Field(
        False, description="set by `registry serve --scheduler` (and `registry worker`): run the jobs in-process"
    )
    # Audit checkpoints (registry/audit/checkpoints.py): signed heads of the hash chain, kept outside the database.
    audit_signing_key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Ed25519 private key signing audit checkpoints: PEM (PKCS#8), a path to a PEM file, or the 32-byte "
            "seed as 64 hex characters; keep it out of the database admin's reach; empty in development means a "
            "key generated in var/audit_signing_key.pem"
        ),
    )
    audit_checkpoint_seconds: float = Field(
        3600, gt=0, description="interval of the job that signs a checkpoint of the audit chain (skipped when idle)"
    )
    audit_checkpoint_file: str = Field(
        "",
        description=(
            "JSON-lines file every audit checkpoint is appended to; put it where the database admin cannot write "
            "(another host, WORM storage); empty means var/audit-checkpoints.jsonl"
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _postgres_driver(cls, v: str) -> str:
        # Plain postgresql:// would pick psycopg2, which we do not ship; psycopg 3 is the driver.
        if v.startswith("postgresql://") or v.startswith("postgres://"):
            return "postgresql+psycopg://" + v.split("://", 1)[1]
        return v

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if not self.key_pepper or len(self.key_pepper) < 32:
                raise ValueError("REGISTRY_KEY_PEPPER must be set (32+ characters) in production")
            if not self.database_url:
                raise ValueError("REGISTRY_DATABASE_URL must be set in production")
            if not self.audit_signing_key.get_secret_value():
                raise ValueError("REGISTRY_AUDIT_SIGNING_KEY must be set in production (it signs audit checkpoints)")
            from registry.audit.signing import AuditKeyError, parse_private_key

            try:
                parse_private_key(self.audit_signing_key.get_secret_value())
            except AuditKeyError as e:
                raise ValueError(e.message) from None
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"

    @property
    def effective_key_pepper(self) -> bytes:
        if self.key_pepper:
            return self.key_pepper.encode()
        return local_secret("key_pepper").encode()

    # Bounded under faults (README "Stuck database"): a locked table, a slow statement or an exhausted pool ends a
    # request with 503 within seconds instead of holding it; the screening log's memory has a ceiling.
    db_statement_timeout_seconds: float = Field(
        5.0, gt=0, description="PostgreSQL statement_timeout for API requests: a slower statement is cancelled (503)"
    )
    db_lock_timeout_seconds: float = Field(
        3.0, gt=0, description="PostgreSQL lock_timeout for API requests: waiting longer for a lock answers 503"
    )
    db_pool_timeout_seconds: float = Field(
        2.0, gt=0, description="how long a request waits for a free pooled database connection before 503"
    )
    db_connect_timeout_seconds: int = Field(5, ge=2, description="PostgreSQL connect timeout (libpq connect_timeout)")
    db_busy_timeout_seconds: float = Field(
        5.0, gt=0, description="SQLite busy timeout for API requests: waiting longer for the write lock answers 503"
    )
    db_job_timeout_seconds: float = Field(
        900.0,
        gt=0,
        description=(
            "statement and lock timeout (SQLite: busy timeout) of work outside API requests: scheduled jobs, "
            "command-line imports, rescoring, migrations"
        ),
    )
    screening_log_max_buffer: int = Field(
        200_000,
        ge=1000,
        description=(
            "most screening log rows a worker buffers while the database is not writing them (outage, lock); "
            "when full, screenings answer 503 with Retry-After rather than unlogged; /readyz is not ready past half"
        ),
    )
    # Input edges (issue 9): batches count addresses against their own budget; the CSV import has its own body limit.
    rate_limit_addresses_per_second: float = Field(
        100_000,
        gt=0,
        description=(
            "addresses per second a key may screen (per worker process), counted apart from requests: a batch "
            "takes one token per address; over it: 429 with Retry-After"
        ),
    )
    rate_limit_addresses_burst: float = Field(
        200_000,
        ge=1,
        description="addresses a key may screen at once before REGISTRY_RATE_LIMIT_ADDRESSES_PER_SECOND applies",
    )
    max_csv_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description=(
            "largest CSV body of POST /v1/cases/{id}/listings/import (read as a stream; other routes keep "
            "REGISTRY_MAX_BODY_BYTES); room for REGISTRY_MAX_CSV_ROWS rows of realistic width"
        ),
    )
    # Screening log retention (issue 10; registry/screening/retention.py): old rows are folded into daily counts.
    screening_log_retention_days: int = Field(
        400,
        ge=0,
        description=(
            "days of screening log rows kept (older days are counted into screening_rollup per day, key, chain, "
            "risk level and action, kept forever, then deleted in small batches); 0 keeps every row"
        ),
    )


def local_secret(name: str) -> str:
    """A per-installation secret kept under var/ (development only), created on first use: the key pepper here,
    and any feature's own development key (the blocklist's signing key)."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
