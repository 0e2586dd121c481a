"""The transfer store: on-chain value movements the scoring propagates over."""
