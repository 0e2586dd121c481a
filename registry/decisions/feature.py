"""Decision requests waiting for a second person: ``/v1/requests``."""

from registry.decisions import routes
from registry.feature import Feature

FEATURE = Feature(name="decisions", routers=[routes.router])
