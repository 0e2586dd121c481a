"""Categories (severity, mandated action) and confidence levels tied to provenance."""

from registry.taxonomy.categories import (
    CATEGORIES,
    CONFIDENCE_LEVELS,
    Category,
    ConfidenceLevel,
    Severity,
    category,
)

__all__ = ["CATEGORIES", "CONFIDENCE_LEVELS", "Category", "ConfidenceLevel", "Severity", "category"]
