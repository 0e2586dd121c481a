"""The transfer store: loading transfer files (`registry import transfers`) into the table sync also writes."""

from registry.feature import Feature
from registry.transfers import cli

FEATURE = Feature(name="transfers", cli=cli.register)
