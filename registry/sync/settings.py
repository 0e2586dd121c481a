"""Sync and crawl settings (prefix ``REGISTRY_``): node URLs per network, tokens, depths, budgets, intervals."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TOKENS: dict[str, list[str]] = {
    "eth": ["0xdac17f958d2ee523a2206206994597c13d831ec7", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"],
    "bsc": ["0x55d398326f99059ff775485246999027b3197955", "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d"],
    "polygon": ["0xc2132d05d31c914a87c6611c10748aeb04b58e8f", "0x3c499c542cef5e3811e1192ce70d8cc03d5c3359"],
    "arbitrum": ["0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9", "0xaf88d065e77c8cc2239327c5edb3a432268e5831"],
    "optimism": ["0x94b008aa00579c1307b0ef2c499ad98a8ce58e58", "0x0b2c639c533813f4aa9d7837caf62653d097ff85"],
    "base": ["0x833589fcd6edb6e08f4c7c32d4f71b54bda02913"],
    "avalanche": ["0x9702230a8ea53601f5cd2dc00fdbc13d4df4a8c7", "0xb97ef9ef8734c71904d8002f8b6bc66dd9c48a6e"],
}
"""USDT and USDC contracts per network (USDT first); what launderers in the region move most."""

TRON_USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"

EVM_RPC_NETWORKS = (
    "eth",
    "bsc",
    "polygon",
    "arbitrum",
    "optimism",
    "base",
    "avalanche",
    "etc",
    "fantom",
    "linea",
)


def _rpc(network: str) -> str:
    return Field("", description=f"JSON-RPC URL of the {network} node; empty disables syncing {network}")


class SyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    eth_rpc_url: str = _rpc("eth")
    bsc_rpc_url: str = _rpc("bsc")
    polygon_rpc_url: str = _rpc("polygon")
    arbitrum_rpc_url: str = _rpc("arbitrum")
    optimism_rpc_url: str = _rpc("optimism")
    base_rpc_url: str = _rpc("base")
    avalanche_rpc_url: str = _rpc("avalanche")
    etc_rpc_url: str = _rpc("etc")
    fantom_rpc_url: str = _rpc("fantom")
    linea_rpc_url: str = _rpc("linea")
    evm_tokens: dict[str, list[str]] = Field(
        default_factory=dict,
        description='JSON {"network": ["0xtoken", ...]}: ERC-20 contracts to sync; a network named here replaces '
        "its USDT/USDC defaults",
    )
    evm_native: bool = Field(True, description="also sync native value transfers (full blocks) on EVM networks")
    evm_confirmations: int = Field(12, ge=0, description="EVM blocks behind the head that are stored")
    evm_log_window: int = Field(2000, ge=1, description="first eth_getLogs block window (halved when refused)")
    rpc_batch_size: int = Field(100, ge=1, description="JSON-RPC calls per batched HTTP request")
    trongrid_url: str = Field("", description="TronGrid base URL, e.g. https://api.trongrid.io; empty disables tron")
    trongrid_api_key: SecretStr = Field(SecretStr(""), description="TronGrid API key (TRON-PRO-API-KEY header)")
    tron_tokens: list[str] = Field(
        default_factory=lambda: [TRON_USDT], description="TRC-20 contracts to sync (base58), USDT by default"
    )
    esplora_url: str = Field(
        "", description="Esplora API base URL, e.g. https://blockstream.info/api; empty disables btc"
    )
    btc_confirmations: int = Field(6, ge=1, description="Bitcoin confirmations before a block is stored")
    sync_start_blocks: dict[str, int] = Field(
        default_factory=dict,
        description='JSON {"network": block}: where the first sync of a network starts (default 0); later runs '
        "resume from the stored cursor",
    )
    sync_batch_blocks: int = Field(500, ge=1, description="blocks fetched and committed together")
    sync_max_blocks_per_run: int = Field(
        0, ge=0, description="most blocks one scheduled run syncs (0: up to the safe head)"
    )
    sync_reorg_window: int = Field(
        64, ge=1, description="recent block hashes kept per network to find where a reorg forked"
    )
    sync_interval_seconds: float = Field(60, gt=0, description="pause between scheduled sync runs of a network")
    crawl_interval_seconds: float = Field(900, gt=0, description="pause between scheduled crawl runs")
    crawl_hops: int = Field(2, ge=0, le=6, description="counterparty hops the crawl expands from its seeds")
    crawl_max_addresses: int = Field(1000, ge=1, description="most addresses one crawl run fetches")
    crawl_max_transfers_per_address: int = Field(
        2000, ge=1, description="most transfers fetched for one address per crawl run"
    )
    chain_timeout_seconds: float = Field(30, gt=0, description="timeout of one request to a node or API")
    chain_retry_attempts: int = Field(5, ge=1, description="tries per request on transport errors, 429 and 5xx")
    chain_retry_base_seconds: float = Field(0.5, ge=0, description="first back-off (doubles, with full jitter)")
    chain_retry_max_seconds: float = Field(30, ge=0, description="longest single back-off")

    @field_validator(*(f"{n}_rpc_url" for n in EVM_RPC_NETWORKS), "trongrid_url", "esplora_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        v = v.strip()
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("evm_tokens")
    @classmethod
    def _lower_tokens(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: [t.lower() for t in ts] for k, ts in v.items()}

    def rpc_url(self, network: str) -> str:
        return str(getattr(self, f"{network}_rpc_url", "") or "")

    def tokens(self, network: str) -> list[str]:
        return self.evm_tokens.get(network, DEFAULT_TOKENS.get(network, []))

    def networks(self) -> list[str]:
        """Networks with a node configured, in a stable order."""
        out = [n for n in EVM_RPC_NETWORKS if self.rpc_url(n)]
        if self.trongrid_url:
            out.append("tron")
        if self.esplora_url:
            out.append("btc")
        return out


@lru_cache
def get_sync_settings() -> SyncSettings:
    return SyncSettings()
