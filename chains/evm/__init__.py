"""EVM networks (eth, bsc, polygon, arbitrum, …) over JSON-RPC."""
