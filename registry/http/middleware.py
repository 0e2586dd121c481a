"""Pure ASGI middleware (BaseHTTPMiddleware costs a task and a copy per request on the screening hot path)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.http.errors import error_body
from registry.http.responses import ORJSONResponse


class BodyLimit:
    """Refuses bodies over ``max_bytes`` with a 413.

    A declared Content-Length is checked before anything is read. A chunked body (no length) is read here up to
    the limit and replayed to the app: raising from inside the app's receive would be turned into a 400 by
    FastAPI's body parsing, and the client must learn that the body was too large, not malformed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = None
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            if length > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            body = msg.get("body", b"")
            seen += len(body)
            if seen > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(body)
            if not msg.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = error_body(
            "payload_too_large",
            f"request body exceeds {self.max_bytes} bytes; split the batch or the CSV",
            {"max_bytes": self.max_bytes},
        )
        await ORJSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
