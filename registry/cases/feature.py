"""Cases and listings: their routes and the expiry job."""

from registry.cases import jobs, routes
from registry.feature import Feature

FEATURE = Feature(name="cases", routers=[routes.router], jobs=jobs.jobs)
