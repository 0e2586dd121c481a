"""Follow the money: counterparties, traces, paths and where a listed wallet's money went."""

from registry.feature import Feature
from registry.investigations import routes

FEATURE = Feature(name="investigations", routers=[routes.router])
