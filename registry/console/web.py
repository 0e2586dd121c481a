"""What the console's and the public check's pages share: templates in three languages, security headers, a
route class that answers errors with a page instead of JSON, and a per-client rate limit. The public check page
(``registry.check``) imports this module only.

One Jinja environment per language (the gettext callables are installed into an environment, so one shared
environment would need a lock or a context variable per request); each is built on first use and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from registry.console.i18n import LANGUAGE_NAMES, LANGUAGES, load_translations
from registry.console.i18n import N_ as N_
from registry.console.i18n import pick_language as pick_language
from registry.console.ratelimit import ClientBuckets as ClientBuckets
from registry.console.ratelimit import client_address as client_address
from registry.console.settings import get_console_settings

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Scripts only from the app itself (htmx, Cytoscape.js and the console's own file; no inline script). Inline
styles are allowed because Cytoscape.js writes one style element for its canvas container."""

CHECK_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
"""The public page runs no script at all."""


def security_headers(csp: str, *, cache: str = "no-store", referrer: str = "same-origin") -> dict[str, str]:
    """Headers of every HTML page: case data is never cached by the browser or a proxy (``no-store``), never
    framed, never sniffed into another type."""
    return {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": referrer,
        "Cache-Control": cache,
    }


def strict_i18n() -> bool:
    """``REGISTRY_CONSOLE_STRICT_I18N``: a text without a translation fails the page (the browser tests)."""
    return get_console_settings().strict_i18n


Labels = Mapping[str, Mapping[str, str]]
"""Label tables by kind (``category``, ``status`` …): a stored value → its English text, marked with ``N_``."""


_ENVS: dict[tuple[str, str, bool, str, int, str], Environment] = {}
_ENVS_LOCK = threading.Lock()
"""Built environments, per process: every app built in one process (the tests build many) shares the compiled
catalogs and templates of the same configuration."""


class Pages:
    """The templates of one feature, rendered in the language asked for."""

    def __init__(
        self,
        templates: Path,
        locale_dir: Path,
        *,
        strict: bool,
        labels: Labels,
        headers: Mapping[str, str],
        static_url: str,
    ) -> None:
        self.templates = templates
        self.locale_dir = locale_dir
        self.strict = strict
        self.labels = labels
        self.headers = dict(headers)
        self.static_url = static_url

    def env(self, lang: str) -> Environment:
        key = (str(self.templates), str(self.locale_dir), self.strict, self.static_url, id(self.labels), lang)
        found = _ENVS.get(key)
        if found is not None:
            return found
        with _ENVS_LOCK:
            found = _ENVS.get(key)
            if found is None:
                found = _ENVS[key] = self._build(lang)
        return found

    def translations(self, lang: str) -> Translations:
        t: Translations = self.env(lang).globals["_translations"]  # type: ignore[assignment]
        return t

    def gettext(self, lang: str, message: str, **values: Any) -> str:
        text = self.translations(lang).gettext(message)
        return text % values if values else text

    def _build(self, lang: str) -> Environment:
        env = Environment(
            loader=FileSystemLoader(str(self.templates)),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        t = load_translations(self.locale_dir, lang, strict=self.strict)
        env.install_gettext_translations(t, newstyle=True)  # type: ignore[attr-defined]

        def label(kind: str, value: str | None) -> str:
            if value is None:
                return ""
            source = self.labels.get(kind, {}).get(value)
            return t.gettext(source) if source is not None else value

        env.globals.update(
            _translations=t,
            lang=lang,
            languages=LANGUAGES,
            language_names=LANGUAGE_NAMES,
            label=label,
            static=lambda path: f"{self.static_url}/{path}",
        )
        env.filters.update(
            when=_when,
            num=lambda v, digits=2: _num(v, lang, digits),
            percent=lambda v: "" if v is None else format_percent(v, format="#,##0.#%", locale=lang),
        )
        return env

    def render(
        self,
        name: str,
        lang: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        body = self.env(lang).get_template(name).render(**context)
        return HTMLResponse(body, status_code=status, headers={**self.headers, **(headers or {})})


def _when(value: datetime | str | None) -> str:
    """A time as people read it, to the minute, in UTC (the registry's clock; the same in every language)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: float | int | str | None, lang: str, digits: int) -> str:
    if value is None or value == "":
        return ""
    return format_decimal(value, format=f"#,##0.{'#' * digits}" if digits else "#,##0", locale=lang)


ErrorRenderer = Callable[[Request, Exception], Awaitable[Response] | Response]


def page_route(render_error: ErrorRenderer) -> type[APIRoute]:
    """A route class whose errors become pages: ``render_error`` gets the request and the exception of a route
    (a ``RegistryError``, a request validation error) and answers it; anything else is a bug and propagates
    (the app's handler answers 500)."""
    from fastapi.exceptions import RequestValidationError

    from registry.errors import RegistryError

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except (RegistryError, RequestValidationError) as e:
                    out = render_error(request, e)
                    return out if isinstance(out, Response) else await out

            return answer

    return PageRoute
