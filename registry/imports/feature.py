"""Official lists: ``registry import …`` and the scheduled sanctions import."""

from registry.feature import Feature, command_group
from registry.imports import cli, jobs

FEATURE = Feature(name="imports", jobs=jobs.jobs, cli=command_group("import", cli.app))
