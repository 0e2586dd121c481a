"""Evidence packs: what a prosecutor reads about one address (PDF, CSV, JSON)."""

from registry.feature import Feature

FEATURE = Feature(name="evidence")
