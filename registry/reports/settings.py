"""Settings of the reports feature (prefix ``REGISTRY_``), kept apart from the core settings it does not own."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    cis_min_cell: int = Field(
        5,
        ge=1,
        description=(
            "smallest count the CIS export publishes: a cell counting 1 to this minus one is suppressed "
            '(`{"value": null, "suppressed": true}`), with the reference value of the same flows'
        ),
    )
    reports_draft_check_seconds: float = Field(
        3600.0,
        gt=0,
        description="how often the job looks for a closed half-year without a stored report draft (and prepares it)",
    )
    reports_lang: Literal["ru", "en"] = Field(
        "ru", description="language of the report when none is asked for (--lang, ?lang=): ru or en"
    )


@lru_cache
def get_report_settings() -> ReportSettings:
    return ReportSettings()
