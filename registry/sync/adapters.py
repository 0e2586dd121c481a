"""The factory: which adapter serves a network, built from the settings (one place that knows every chain)."""

from __future__ import annotations

from chains.addresses import EVM_NETWORKS
from chains.retry import RetryPolicy
from chains.types import ChainAdapter
from registry.errors import InvalidInput
from registry.sync.settings import SyncSettings


def retry_policy(s: SyncSettings) -> RetryPolicy:
    return RetryPolicy(s.chain_retry_attempts, s.chain_retry_base_seconds, s.chain_retry_max_seconds)


def make_adapter(network: str, s: SyncSettings) -> ChainAdapter:
    if network in EVM_NETWORKS:
        url = s.rpc_url(network)
        if not url:
            raise InvalidInput(f"no node configured for {network}: set REGISTRY_{network.upper()}_RPC_URL")
        from chains.evm.adapter import EvmAdapter

        return EvmAdapter(
            network,
            url,
            tokens=s.tokens(network),
            confirmations=s.evm_confirmations,
            native=s.evm_native,
            log_window=s.evm_log_window,
            batch_size=s.rpc_batch_size,
            timeout=s.chain_timeout_seconds,
            retry=retry_policy(s),
        )
    if network == "tron":
        if not s.trongrid_url:
            raise InvalidInput("no TronGrid configured: set REGISTRY_TRONGRID_URL")
        from chains.tron.adapter import TronAdapter

        return TronAdapter(
            s.trongrid_url,
            api_key=s.trongrid_api_key.get_secret_value(),
            tokens=s.tron_tokens,
            timeout=s.chain_timeout_seconds,
            retry=retry_policy(s),
        )
    if network == "btc":
        if not s.esplora_url:
            raise InvalidInput("no Esplora configured: set REGISTRY_ESPLORA_URL")
        from chains.bitcoin.adapter import BitcoinAdapter

        return BitcoinAdapter(
            s.esplora_url,
            confirmations=s.btc_confirmations,
            timeout=s.chain_timeout_seconds,
            retry=retry_policy(s),
        )
    raise InvalidInput(f"unknown network {network!r}: one of {', '.join(sorted(EVM_NETWORKS | {'tron', 'btc'}))}")
