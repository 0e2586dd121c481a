"""Pure ASGI middleware (BaseHTTPMiddleware costs a task and a copy per request on the screening hot path)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.errors import PayloadTooLarge
from registry.http.errors import error_body
from registry.http.responses import ORJSONResponse

STREAMED_BODIES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("/listings/import", re.compile(r"/v1/cases/[^/]+/listings/import"), "max_csv_bytes"),
    ("/v1/watchlist", re.compile(r"/v1/watchlist"), "max_csv_bytes"),
    ("/v1/watchlist/import", re.compile(r"/v1/watchlist/import"), "max_csv_bytes"),
    ("/v1/watchlist/remove", re.compile(r"/v1/watchlist/remove"), "max_csv_bytes"),
)
"""Routes that read their body as a stream under their own limit (the named ``Settings`` field) instead of the
general ``max_body_bytes``: the CSV import, whose ``REGISTRY_MAX_CSV_ROWS`` rows do not fit in 4 MiB, and the
watchlist calls of up to 100,000 addresses (``registry.monitoring``; they check the text themselves too). Such a route
refuses unstorable text itself (the CSV parser refuses NUL; strict UTF-8 decoding refuses surrogates). Each entry:
a suffix every matching path has (a cheap test first), the path pattern, the setting."""

_STREAMED_SUFFIXES = tuple(suffix for suffix, _, _ in STREAMED_BODIES)
_ESCAPE_HINT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_REASONS = {
    "nul_character": "a NUL character (\\u0000), which no text column can store; remove it",
    "lone_surrogate": "an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text; send UTF-8",
}


def _reason(char: str) -> str:
    return "nul_character" if char == "\x00" else "lone_surrogate"


def _shown(text: str) -> str:
    """A name fit to echo back: the offending characters replaced (orjson refuses to encode a lone surrogate)."""
    return _UNSTORABLE.sub("\ufffd", text)[:200]


def unstorable_in_json(body: bytes) -> tuple[str, str] | None:
    """``(field, reason)`` of the first JSON string a database cannot store, or None.

    PostgreSQL refuses NUL in text and invalid UTF-8 (a lone surrogate cannot be encoded), and both come back as a
    500 from deep inside a route. In a JSON body they can only arrive as ``\\u`` escapes (raw control characters are
    not JSON, and invalid UTF-8 fails decoding), so a body without a backslash costs one memchr (4 µs for a batch of
    10,000 addresses), one with backslashes a regex search; only a body with such an escape is parsed (as FastAPI
    parses it) to say which field it is in.
    """
    if b"\\" not in body or _ESCAPE_HINT.search(body) is None:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route says what is wrong with it
    stack: list[tuple[str, Any]] = [("", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            found = _UNSTORABLE.search(value)
            if found is not None:
                return path, _reason(found.group())
        elif isinstance(value, dict):
            children: list[tuple[str, Any]] = []
            for key, item in value.items():
                where = f"{path}.{_shown(key)}" if path else _shown(key)
                found = _UNSTORABLE.search(key)
                if found is not None:
                    return where, _reason(found.group())
                children.append((where, item))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(value)]))
    return None


def unstorable_in_target(scope: Scope) -> tuple[str, str, str] | None:
    """``(location, field, reason)`` when the path or the query string decodes to a NUL, else None.

    Starlette decodes percent escapes with ``errors="replace"``, so a surrogate cannot come out of a URL; ``%00``
    can, and it is the only way (an HTTP parser refuses a raw NUL in the request line).
    """
    if "\x00" in scope["path"]:
        return "path", "", "nul_character"
    qs: bytes = scope.get("query_string", b"")
    if b"%00" in qs or b"\x00" in qs:
        for name, value in parse_qsl(qs.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return "query", _shown(name), "nul_character"
        return "query", "", "nul_character"
    return None


class BodyLimit:
    """Refuses bodies over the limit with a 413, and text a database cannot store with a 422, before any route.

    A declared Content-Length is checked before anything is read. Then the body is read here (up to the limit)
    and replayed to the app, so that a chunked body over the limit is refused (raising from inside the app's
    receive would be turned into a 400 by FastAPI's body parsing: the client must learn that the body was too
    large, not malformed) and so that NUL and lone surrogates are refused on every route in one place, the
    screening fast path included; the check is a substring search unless the body has a ``\\u`` escape.

    Routes in ``STREAMED_BODIES`` are not read here: they get their own limit, enforced while they stream.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        qs: bytes = scope.get("query_string", b"")
        if "\x00" in scope["path"] or (qs and (b"%00" in qs or b"\x00" in qs)):
            bad = unstorable_in_target(scope)
            if bad is not None:
                await _refuse_text(scope, receive, send, *bad)
                return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        streamed = _streamed_limit(scope) if scope["path"].endswith(_STREAMED_SUFFIXES) else None
        limit, setting = streamed or (self.max_bytes, "REGISTRY_MAX_BODY_BYTES")
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    break
                if declared > limit:
                    await _reject(scope, receive, send, limit, setting)
                    return
                break
        if streamed is not None:
            await self.app(scope, _counted(receive, limit, setting), send)
            return
        msg = await receive()
        if msg["type"] != "http.request":
            return
        body: bytes = msg.get("body", b"")
        if msg.get("more_body", False):  # a body in several messages: gather it, counting (chunked, or large)
            chunks = [body]
            seen = len(body)
            while True:
                more = await receive()
                if more["type"] != "http.request":
                    return
                chunk = more.get("body", b"")
                seen += len(chunk)
                if seen > limit:
                    await _reject(scope, receive, send, limit, setting)
                    return
                chunks.append(chunk)
                if not more.get("more_body", False):
                    break
            body = b"".join(chunks)
            msg = {"type": "http.request", "body": body, "more_body": False}
        elif len(body) > limit:
            await _reject(scope, receive, send, limit, setting)
            return
        if b"\\" in body:  # a \u escape is the only way NUL or a lone surrogate gets into JSON (memchr: ~10 GB/s)
            found = unstorable_in_json(body)
            if found is not None:
                await _refuse_text(scope, receive, send, "body", *found)
                return
        first: Message | None = msg

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                m, first = first, None
                return m
            return await receive()

        await self.app(scope, replay, send)


def _streamed_limit(scope: Scope) -> tuple[int, str] | None:
    path: str = scope["path"]
    for suffix, pattern, field in STREAMED_BODIES:
        if path.endswith(suffix) and pattern.fullmatch(path):
            ctx = getattr(getattr(scope.get("app"), "state", None), "ctx", None)
            settings = getattr(ctx, "settings", None)
            if settings is None:
                return None
            return int(getattr(settings, field)), f"REGISTRY_{field.upper()}"
    return None


def _counted(receive: Receive, limit: int, setting: str) -> Receive:
    """``receive`` that raises ``PayloadTooLarge`` once more than ``limit`` bytes came (a chunked body has no
    declared length); a streaming route lets it propagate, and the app's error mapping answers 413."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        msg = await receive()
        if msg["type"] == "http.request":
            seen += len(msg.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(
                    f"request body exceeds {limit} bytes ({setting})", details={"max_bytes": limit, "setting": setting}
                )
        return msg

    return counted


async def _reject(scope: Scope, receive: Receive, send: Send, limit: int, setting: str) -> None:
    body = error_body(
        "payload_too_large",
        f"request body exceeds {limit} bytes ({setting}); split the batch or the CSV",
        {"max_bytes": limit, "setting": setting},
    )
    await ORJSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)


async def _refuse_text(scope: Scope, receive: Receive, send: Send, where: str, field: str, reason: str) -> None:
    named = f"{where} field {field!r}" if field else f"the {where}"
    body = error_body(
        "invalid_input",
        f"{named} contains {_REASONS[reason]}",
        {"in": where, "field": field or None, "reason": reason},
    )
    await ORJSONResponse(body, status_code=422)(scope, receive, send)
