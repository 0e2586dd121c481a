"""The ASGI entry point uvicorn imports in each worker process (``registry serve``)."""

from registry.http.app import create_app

app = create_app()
