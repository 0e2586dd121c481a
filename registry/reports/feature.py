"""Reports: the twice-yearly statistics report and the aggregated, non-personal CIS export."""

from registry.feature import Feature
from registry.reports import cli, jobs, routes

FEATURE = Feature(name="reports", routers=[routes.router], jobs=jobs.jobs, cli=cli.register)
