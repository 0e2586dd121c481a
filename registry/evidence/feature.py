"""Evidence packs: what a prosecutor reads about one address (PDF, CSV, JSON)."""

from registry.evidence import cli, routes
from registry.feature import Feature

FEATURE = Feature(name="evidence", routers=[routes.router], cli=cli.register)
