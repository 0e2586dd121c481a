"""Sync and crawl: drive the chain adapters and keep the ``transfer`` store complete, without duplicates or
reorged blocks."""
