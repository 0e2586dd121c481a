"""Operations: health, readiness, metrics and ``/v1/jobs``, and the scheduler when this process runs the jobs."""

from registry.feature import Feature
from registry.ops import lifecycle, routes

FEATURE = Feature(name="ops", routers=[routes.router], lifespan=lifecycle.lifespan)
