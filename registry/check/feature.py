"""The public check page: is this website a licensed exchange, is this wallet high-risk."""

from registry.feature import Feature

FEATURE = Feature(name="check")
