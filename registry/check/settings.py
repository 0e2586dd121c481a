"""Settings of the public check page (prefix ``REGISTRY_CHECK_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CheckSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_CHECK_", env_file=".env", extra="ignore")

    per_minute: float = Field(
        30, gt=0, description="public checks (/check) per minute from one client address (per worker); over it: 429"
    )
    burst: float = Field(10, ge=1, description="public checks one client may make at once before the rate applies")
    max_clients: int = Field(
        100_000,
        ge=100,
        description="client addresses the /check rate limiter remembers (per worker); the least recent are forgotten",
    )


@lru_cache
def get_check_settings() -> CheckSettings:
    return CheckSettings()
