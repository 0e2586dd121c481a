"""One exception root for everything a caller can be told about, mapped to HTTP in ``registry.http.errors``.

A ``RegistryError`` carries a message written for the developer at a bank or ISP, a stable machine ``code`` and
optional ``details`` (e.g. every bad CSV row). Anything that is not a ``RegistryError`` is a bug and becomes a 500
without leaking internals.
"""

from __future__ import annotations

from typing import Any


class RegistryError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class MalformedBody(RegistryError):
    """The body is not parseable at all (broken JSON): 400, as opposed to well-formed but wrong (422)."""

    status = 400
    code = "malformed_json"


class InvalidInput(RegistryError):
    status = 422
    code = "invalid_input"


class InvalidAddress(InvalidInput):
    code = "invalid_address"


class InvalidDomain(InvalidInput):
    code = "invalid_domain"


class Unauthenticated(RegistryError):
    status = 401
    code = "unauthenticated"


class Forbidden(RegistryError):
    status = 403
    code = "forbidden"


class NotFound(RegistryError):
    status = 404
    code = "not_found"


class Conflict(RegistryError):
    status = 409
    code = "conflict"


class Gone(RegistryError):
    status = 410
    code = "gone"


class PayloadTooLarge(RegistryError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(RegistryError):
    """A body in a format the route does not read (JSON routes read any body as JSON; the CSV import wants CSV)."""

    status = 415
    code = "unsupported_media_type"


class RateLimited(RegistryError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(RegistryError):
    """Transient: the database or the screening log cannot take the request now; nothing was changed, retry after
    ``retry_after`` seconds (503 with ``Retry-After``)."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, details=details, code=code)
        self.retry_after = retry_after


class UpstreamError(RegistryError):
    """A chain node, TronGrid, Esplora or the AFSA site failed; the run that hit it records this and stops."""

    status = 502
    code = "upstream_error"
