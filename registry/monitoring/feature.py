"""Monitoring: bank watchlists, alerts when a watched wallet's risk changes, signed webhooks and the pull API."""

from registry.feature import Feature

FEATURE = Feature(name="monitoring")
