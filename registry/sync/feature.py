"""Sync and crawl into the transfer store: ``registry sync``, ``registry crawl`` and their scheduled jobs."""

from registry.feature import Feature
from registry.sync import cli, jobs

FEATURE = Feature(name="sync", jobs=jobs.jobs, cli=cli.register)
