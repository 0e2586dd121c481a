"""Settings of the web console (prefix ``REGISTRY_CONSOLE_``), kept apart from the core settings it does not own."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_CONSOLE_", env_file=".env", extra="ignore")

    idle_minutes: float = Field(
        30, gt=0, description="a console session unused for this long ends; the person signs in again"
    )
    session_hours: float = Field(12, gt=0, description="a console session ends this long after sign-in, used or not")
    signin_per_minute: float = Field(
        30,
        gt=0,
        description=(
            "sign-in attempts per minute from one client address (per worker; an office behind one address shares "
            "it); over it: 429"
        ),
    )
    strict_i18n: bool = Field(
        False,
        description=(
            "a console or check page text without a translation in the page's language is an error (500) instead "
            "of falling back to its English source; the browser tests turn it on"
        ),
    )


@lru_cache
def get_console_settings() -> ConsoleSettings:
    return ConsoleSettings()
