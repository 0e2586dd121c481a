"""Reports: the twice-yearly statistics report and the aggregated, non-personal CIS export."""
