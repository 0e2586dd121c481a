"""Exposure scoring: the evidence route, the rescoring job, ``registry score``, and the loader that puts stored
scores into the screening snapshot."""

from registry.feature import Feature
from registry.scoring import cli, jobs, routes, snapshot

FEATURE = Feature(name="scoring", routers=[routes.router], install=snapshot.install, jobs=jobs.jobs, cli=cli.register)
