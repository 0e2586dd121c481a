"""Follow the money: counterparties, traces, paths and where a listed wallet's money went."""
