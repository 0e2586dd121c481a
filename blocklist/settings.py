"""Settings of the blocklist feature (prefix ``REGISTRY_``), kept apart from the core settings it does not own."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECTIONS = ("dasp", "fintech", "authorised")


class BlocklistSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development", description="production refuses to serve feeds without REGISTRY_SIGNING_KEY"
    )
    signing_key: SecretStr = Field(
        SecretStr(""),
        description=(
            "Ed25519 private key signing the blocklist manifest: 64 hex characters (the 32-byte seed) or PEM "
            "(PKCS#8); empty in development means a key kept in var/blocklist_signing_key"
        ),
    )
    register_url: str = Field(
        "https://publicreg.myafsa.com",
        description="base URL of the AFSA public register (or a mirror of it); empty turns the scheduled refresh off",
    )
    register_sections: str = Field(
        "dasp,fintech", description="comma-separated register sections to fetch (dasp, fintech, authorised)"
    )
    register_timeout_seconds: float = Field(20.0, gt=0, description="HTTP timeout of one register request")
    register_max_pages: int = Field(
        50, ge=1, description="most list pages followed per section (a pagination loop stops here)"
    )
    register_fetch_details: bool = Field(
        True, description="also fetch each firm's detail page (status dates, services) during a refresh"
    )
    register_min_keep_ratio: float = Field(
        0.5,
        gt=0,
        le=1,
        description="a fetch keeping fewer than this share of the firms known is rejected, not applied",
    )
    register_refresh_seconds: float = Field(
        86_400.0, gt=0, description="interval of the scheduled register refresh (daily)"
    )
    feed_poll_seconds: float = Field(
        1.0, gt=0, description="how often each worker checks whether the blocklist serial moved"
    )
    feed_publish_seconds: float = Field(
        60.0, gt=0, description="interval of the job that prunes the change log and checks the published feed"
    )
    feed_export_dir: str = Field(
        "",
        description="when set, the publish job writes every format and manifest.json here on each change",
    )
    feed_changes_kept: int = Field(
        100_000,
        ge=100,
        description="change rows kept for /v1/blocklist/changes; older serials answer 410 (fetch the feed)",
    )
    feed_validity_seconds: int = Field(
        86_400,
        ge=2,
        description=(
            "how long a signed manifest is valid (valid_until - generated_at); it is signed again every half of "
            "this, changed or not, so a served manifest always has at least half left"
        ),
    )

    @field_validator("signing_key")
    @classmethod
    def _key_shape(cls, v: SecretStr) -> SecretStr:
        key = v.get_secret_value().strip()
        if key and "BEGIN" not in key and not re.fullmatch(r"[0-9a-fA-F]{64}", key):
            raise ValueError("REGISTRY_SIGNING_KEY must be 64 hex characters (Ed25519 seed) or a PEM key")
        return SecretStr(key)

    @field_validator("register_sections")
    @classmethod
    def _sections(cls, v: str) -> str:
        names = [s.strip() for s in v.split(",") if s.strip()]
        unknown = [s for s in names if s not in SECTIONS]
        if not names or unknown:
            raise ValueError(f"register sections must be among {', '.join(SECTIONS)}; got {v!r}")
        return ",".join(names)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> BlocklistSettings:
        if self.env == "production" and not self.signing_key.get_secret_value():
            raise ValueError("REGISTRY_SIGNING_KEY must be set in production: ISPs verify the manifest with it")
        return self

    @property
    def sections(self) -> list[str]:
        return self.register_sections.split(",")


@lru_cache
def get_blocklist_settings() -> BlocklistSettings:
    return BlocklistSettings()
