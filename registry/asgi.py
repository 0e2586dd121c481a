"""The ASGI entry point uvicorn imports in each worker process (``registry serve``)."""

from registry.app import create_app
from registry.ops.observability import configure_logging
from registry.settings import get_settings

configure_logging(get_settings().log_level)
app = create_app()
