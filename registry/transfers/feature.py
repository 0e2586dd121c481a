"""The transfer store: loading transfer files (`registry import transfers`) into the table sync also writes."""

from registry.feature import Feature

FEATURE = Feature(name="transfers")
