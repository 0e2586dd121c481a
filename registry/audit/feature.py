"""The audit log: ``GET /v1/audit``, the checkpoint job and ``registry audit …``."""

from registry.audit import cli, jobs, routes
from registry.feature import Feature, command_group

FEATURE = Feature(name="audit", routers=[routes.router], jobs=jobs.jobs, cli=command_group("audit", cli.app))
