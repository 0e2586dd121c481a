"""A small JSON-over-HTTP client for the REST APIs (TronGrid, Esplora): one pooled session, retries, strict bodies."""

from __future__ import annotations

from typing import Any

import orjson
import requests

from chains.retry import Retryable, RetryPolicy, call_with_retry
from chains.types import MalformedResponse, TransportError


class RestClient:
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.requests = 0

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any) -> requests.Response:
        def once() -> requests.Response:
            self.requests += 1
            try:
                resp = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=None if body is None else orjson.dumps(body),
                    headers=None if body is None else {"Content-Type": "application/json"},
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as e:
                raise Retryable(f"{method} {path}: {type(e).__name__}") from e
            except requests.RequestException as e:  # a bad URL, too many redirects: trying again cannot help
                raise TransportError(f"{method} {path}: {type(e).__name__}") from e
            if resp.status_code == 429 or resp.status_code >= 500:
                raise Retryable(f"{method} {path}: HTTP {resp.status_code}", _retry_after(resp))
            return resp

        return call_with_retry(once, self.retry)

    def json(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        resp = self._send(method, path, params, body)
        if resp.status_code >= 400:
            raise TransportError(f"{method} {path}: HTTP {resp.status_code}")
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError as e:
            raise MalformedResponse(f"{method} {path}: body is not JSON") from e

    def text(self, path: str, *, missing_ok: bool = False) -> str | None:
        """The body as text; with ``missing_ok`` a 404 is ``None`` (a block height past a shorter chain's tip)."""
        resp = self._send("GET", path, None, None)
        if missing_ok and resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            raise TransportError(f"GET {path}: HTTP {resp.status_code}")
        return resp.text


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
