"""Exposure scoring: how much of an address's money comes from (or goes to) listed wallets, and by which paths."""
