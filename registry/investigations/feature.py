"""Follow the money: counterparties, traces, paths and where a listed wallet's money went."""

from registry.feature import Feature

FEATURE = Feature(name="investigations")
