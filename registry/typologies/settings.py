"""Typology knobs (prefix ``REGISTRY_``). The typologies' own thresholds are part of the versioned catalogue
(``catalogue.py``): changing one is a new typology version. What differs by country or by year stays here: the
reporting thresholds structuring dodges, in the reference value the scoring prices transfers in (USD by default).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

KZT_PER_USD = 500.0
"""The rate behind the default threshold (the order of magnitude matters, not the day's rate)."""


class TypologySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    typology_thresholds: dict[str, float] = Field(
        default_factory=lambda: {"KZT 500,000 customer identification": 500_000 / KZT_PER_USD},
        description=(
            "JSON map name -> amount in the reference value (USD at the built-in prices): reporting or "
            "identification thresholds that structuring stays just under; the default is Kazakhstan's "
            "500,000 tenge threshold at 500 KZT/USD"
        ),
    )
    typology_near_band: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="a transfer is near a threshold when at most this fraction below it (0.1: 900-999 of 1000)",
    )
    typology_round_min_value: float = Field(
        100.0,
        ge=0,
        description="round amounts (at most two significant digits, e.g. 1,500 USDT) count from this reference value",
    )
    typology_min_transfers: int = Field(
        3, ge=1, description="addresses with fewer transfers (in and out) are not matched against typologies"
    )
    typology_candidate_hops: int = Field(
        3, ge=1, le=6, description="hops a case's candidates are traced from the case's listed addresses"
    )

    @field_validator("typology_thresholds")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not x > 0]
        if bad:
            raise ValueError(f"REGISTRY_TYPOLOGY_THRESHOLDS amounts must be positive; bad: {bad[:5]}")
        return v


@lru_cache
def get_typology_settings() -> TypologySettings:
    return TypologySettings()
