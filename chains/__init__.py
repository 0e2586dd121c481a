"""Chain adapters: fetch on-chain activity and map it to typed Transfer records (no database, no HTTP app)."""
