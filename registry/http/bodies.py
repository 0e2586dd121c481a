"""Reading every JSON body as JSON, whatever Content-Type the client sent: one rule for every route.

``curl -d '{…}'`` sends ``application/x-www-form-urlencoded``, many HTTP libraries send ``text/plain`` or no type at
all, and FastAPI reads a body as JSON only under ``application/json``: without this, the same request worked on the
screening fast path (which parses the body itself) and failed on ``POST /v1/cases`` with a puzzling
``Input should be a valid dictionary``. A route's body is JSON unless the route declares another media type in its
OpenAPI request body (the CSV import: ``text/csv``); such a route checks its Content-Type itself and answers 415.
A body that is not JSON is then a 400 ``malformed_json`` on every route.

Only API keys in the ``Authorization`` header authenticate (no cookies), so a browser cannot be made to send an
authenticated cross-site "simple" request: accepting ``text/plain`` JSON opens no CSRF hole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON = (b"content-type", b"application/json")


def is_json_media_type(value: bytes) -> bool:
    media = value.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))


class JsonBodies:
    """Pure ASGI middleware: on a JSON route, a body sent under another (or no) Content-Type is handed to the app
    as ``application/json``; ``raw_routes`` (method, path pattern) are left alone."""

    def __init__(self, app: ASGIApp, raw_routes: Iterable[tuple[str, re.Pattern[str]]] = ()) -> None:
        self.app = app
        self.raw_routes = tuple(raw_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            headers: list[tuple[bytes, bytes]] = scope["headers"]
            declared = next((v for k, v in headers if k == b"content-type"), None)
            if (declared is None or not is_json_media_type(declared)) and not self._raw(scope):
                # In place, not a copy: the outer middleware reads what the router writes into this scope.
                scope["headers"] = [*(h for h in headers if h[0] != b"content-type"), _JSON]
        await self.app(scope, receive, send)

    def _raw(self, scope: Scope) -> bool:
        path: str = scope["path"]
        method: str = scope["method"]
        return any(m == method and pattern.match(path) for m, pattern in self.raw_routes)
