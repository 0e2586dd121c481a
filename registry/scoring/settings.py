"""Scoring knobs. The policy numbers here are part of the risk policy: change them together with
``REGISTRY_POLICY_VERSION`` so that every result names the rules that produced it."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AssetPrice(BaseModel):
    """How one asset on one network is made comparable with the others: ``value / 10**decimals * price``."""

    decimals: int = Field(ge=0, le=36)
    price: float = Field(ge=0)
    symbol: str | None = Field(None, max_length=16, description="what people read beside an amount: USDT, ETH, …")


USDT_ETH = "eth:0xdac17f958d2ee523a2206206994597c13d831ec7"
USDC_ETH = "eth:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
USDT_TRON = "tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
USDT_BSC = "bsc:0x55d398326f99059ff775485246999027b3197955"

DEFAULT_ASSETS: dict[str, AssetPrice] = {
    "eth:native": AssetPrice(decimals=18, price=3000.0, symbol="ETH"),
    "bsc:native": AssetPrice(decimals=18, price=600.0, symbol="BNB"),
    "polygon:native": AssetPrice(decimals=18, price=0.5, symbol="POL"),
    "arbitrum:native": AssetPrice(decimals=18, price=3000.0, symbol="ETH"),
    "optimism:native": AssetPrice(decimals=18, price=3000.0, symbol="ETH"),
    "base:native": AssetPrice(decimals=18, price=3000.0, symbol="ETH"),
    "tron:native": AssetPrice(decimals=6, price=0.25, symbol="TRX"),
    "btc:native": AssetPrice(decimals=8, price=90000.0, symbol="BTC"),
    USDT_ETH: AssetPrice(decimals=6, price=1.0, symbol="USDT"),
    USDC_ETH: AssetPrice(decimals=6, price=1.0, symbol="USDC"),
    USDT_TRON: AssetPrice(decimals=6, price=1.0, symbol="USDT"),
    USDT_BSC: AssetPrice(decimals=18, price=1.0, symbol="USDT"),
}
"""Rough reference prices (USD). Shares are ratios, so only the relative prices of assets that meet at one
address matter, and an order of magnitude is enough to stop 1 wei from weighing as much as 1 USDT."""


class ScoringSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    scoring_method: Literal["haircut", "poison"] = Field(
        "haircut",
        description="haircut: taint shares in proportion to value; poison: any path within the hop limit taints fully",
    )
    scoring_max_hops: int = Field(4, ge=1, le=10, description="H: how many hops taint travels from a listed address")
    scoring_assets: dict[str, AssetPrice] = Field(
        default_factory=lambda: dict(DEFAULT_ASSETS),
        description=(
            'JSON map "network:asset" -> {"decimals", "price", "symbol"} making values comparable (asset is "native" '
            "or the normalised token contract) and amounts readable; replaces the built-in table of natives and major "
            "stablecoins"
        ),
    )
    scoring_unknown_asset_price: float = Field(
        0.0,
        ge=0,
        description=(
            "price per whole token (18 decimals assumed) of an asset missing from REGISTRY_SCORING_ASSETS; "
            "0 leaves unpriced tokens (airdrop spam) out of the graph"
        ),
    )
    scoring_dust_value: float = Field(
        1.0,
        ge=0,
        description="transfers worth less than this (in the price unit) are ignored: dusting attacks",
    )
    scoring_min_share: float = Field(
        0.0001, ge=0, le=1, description="exposure shares below this are dropped from results"
    )
    scoring_check_seconds: float = Field(
        30.0, gt=0, description="how often the rescoring job checks whether transfers or listings changed"
    )
    scoring_debounce_seconds: float = Field(
        60.0,
        ge=0,
        description="rescore once the counters have been quiet this long (a sync commits in batches)",
    )
    scoring_max_wait_seconds: float = Field(
        900.0,
        gt=0,
        description="rescore at the latest this long after the first unscored change, quiet or not",
    )
    scoring_lease_seconds: float = Field(
        3600.0, gt=0, description="a rescoring lease older than this is taken over (its holder died)"
    )
    scoring_paths_per_exposure: int = Field(3, ge=1, le=20, description="top paths shown per exposure")
    scoring_path_beam: int = Field(64, ge=1, le=10_000, description="partial paths kept per hop when tracing")
    policy_review_share: float = Field(
        0.05, ge=0, le=1, description="exposure share at or above which an exposed address is reviewed"
    )
    policy_block_share: float = Field(
        0.5, ge=0, le=1, description="exposure share at or above which a 'block' category's exposure blocks"
    )
    policy_block_max_hops: int = Field(1, ge=0, description="exposure blocks only within this many hops")
    policy_full_share: float = Field(
        0.5, gt=0, le=1, description="share at which exposure counts with the category's full severity score"
    )
    policy_hop_decay: list[float] = Field(
        default_factory=lambda: [1.0, 0.8, 0.6, 0.5],
        description="JSON list: score factor at 1, 2, 3 … hops (the last applies beyond)",
    )
    policy_outgoing_weight: float = Field(
        1.0, ge=0, le=1, description="score factor for outgoing exposure (money sent to listed wallets)"
    )
    scoring_engine: Literal["sparse", "spark"] = Field(
        "sparse",
        description=(
            "sparse: the graph in this process (scipy); spark: the same computation as DataFrame joins on "
            "REGISTRY_SPARK_MASTER, for graphs past one machine (docs/scaling.md)"
        ),
    )
    spark_master: str = Field(
        "local[*]",
        description="Spark master of the spark engine: local[N], spark://host:7077, yarn, k8s://…, a Spark Connect "
        "URL sc://host:15002, or empty to take spark-submit's (or spark-defaults.conf's)",
    )
    spark_source: Literal["auto", "jdbc", "parquet"] = Field(
        "auto",
        description="where the spark engine reads transfers: jdbc (PostgreSQL, partitioned by id), parquet "
        "(REGISTRY_SPARK_PARQUET, written by `registry export transfers`); auto: jdbc on PostgreSQL, else parquet",
    )
    spark_parquet: str = Field(
        "",
        description="directory (or cluster URL: hdfs://, s3a://) of a `registry export transfers` for the spark engine",
    )
    spark_jdbc_url: str = Field(
        "",
        description="JDBC URL the Spark executors read PostgreSQL from (default: REGISTRY_DATABASE_URL as "
        "jdbc:postgresql://host:port/db, with its user and password)",
    )
    spark_jdbc_jar: str = Field(
        "/usr/share/java/postgresql.jar",
        description="PostgreSQL JDBC driver jar given to Spark (Debian: libpostgresql-jdbc-java); empty when the "
        "cluster provides it",
    )
    spark_partitions: int = Field(
        8, ge=1, le=100_000, description="parallel JDBC reads of the transfer table (by id range)"
    )
    spark_shuffle_partitions: int = Field(
        16, ge=1, le=100_000, description="spark.sql.shuffle.partitions of the spark engine's joins and aggregations"
    )
    spark_conf: dict[str, str] = Field(
        default_factory=dict,
        description='JSON map of further Spark settings, e.g. {"spark.executor.memory": "8g"}',
    )

    @field_validator("policy_hop_decay")
    @classmethod
    def _decay(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 <= x <= 1 for x in v):
            raise ValueError("REGISTRY_POLICY_HOP_DECAY must be a non-empty list of factors in [0, 1]")
        return v

    @field_validator("scoring_assets")
    @classmethod
    def _asset_keys(cls, v: dict[str, AssetPrice]) -> dict[str, AssetPrice]:
        bad = [k for k in v if k.count(":") != 1 or not all(k.split(":"))]
        if bad:
            raise ValueError(f"REGISTRY_SCORING_ASSETS keys must look like 'network:asset'; bad: {bad[:5]}")
        return v


@lru_cache
def get_scoring_settings() -> ScoringSettings:
    return ScoringSettings()
