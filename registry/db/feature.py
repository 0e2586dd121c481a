"""The database feature: ``registry db upgrade``."""

from registry.db import cli
from registry.feature import Feature, command_group

FEATURE = Feature(name="db", cli=command_group("db", cli.app))
