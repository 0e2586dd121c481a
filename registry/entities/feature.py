"""Entities (exchangers, mixers, …) and their addresses: routes and ``registry entities …``."""

from registry.entities import cli, routes
from registry.feature import Feature

FEATURE = Feature(name="entities", routers=[routes.router], cli=cli.register)
