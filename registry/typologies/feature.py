"""Typologies and red flags: behavioural indicators per address and the named patterns they make."""

from registry.feature import Feature

FEATURE = Feature(name="typologies")
