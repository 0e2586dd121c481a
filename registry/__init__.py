"""The national crypto-wallet risk registry: listings, exposure scoring, screening and the HTTP API."""
