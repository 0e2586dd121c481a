"""Reports: the twice-yearly statistics report and the aggregated, non-personal CIS export."""

from registry.feature import Feature

FEATURE = Feature(name="reports")
