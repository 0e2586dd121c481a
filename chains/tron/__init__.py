"""Tron through the TronGrid HTTP API: TRX and TRC-20 transfers, solidified data only."""
