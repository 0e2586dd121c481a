"""Categories and confidence levels: ``GET /v1/categories``."""

from registry.feature import Feature
from registry.taxonomy import routes

FEATURE = Feature(name="taxonomy", routers=[routes.router])
