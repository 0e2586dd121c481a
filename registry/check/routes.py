"""``/check`` (no sign-in): is this website a licensed exchange, is this wallet high-risk; ``/check/mops``: how money
mules are recruited. Plain GET forms: they work without JavaScript, set no cookie, and the language is a query
parameter (``?lang=kk``) carried by every link and form. Each question counts against the asking address's rate
limit (``REGISTRY_CHECK_PER_MINUTE``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from registry.check import service
from registry.check.labels import LABELS
from registry.check.settings import get_check_settings
from registry.console.web import (
    CHECK_CSP,
    ClientBuckets,
    Pages,
    client_address,
    page_route,
    pick_language,
    security_headers,
    strict_i18n,
)
from registry.errors import RateLimited, RegistryError
from registry.http.deps import AppContext, CtxDep, SessionDep, Slot, get_ctx

HERE = Path(__file__).parent
PAGES: Slot[Pages] = Slot("check.pages")
LIMITER: Slot[ClientBuckets] = Slot("check.limiter")


def build(ctx: AppContext) -> None:
    s = get_check_settings()
    ctx.put(
        PAGES,
        Pages(
            HERE / "templates",
            HERE / "locale",
            strict=strict_i18n(),
            labels=LABELS,
            headers=security_headers(CHECK_CSP, referrer="no-referrer"),
            static_url="/check/static",
        ),
    )
    ctx.put(LIMITER, ClientBuckets(s.per_minute, s.burst, s.max_clients))


def _page(request: Request, name: str, context: dict[str, Any], *, status: int = 200, **headers: str) -> HTMLResponse:
    lang = pick_language(request.query_params.get("lang"))
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: f"{request.url.path}?{urlencode([*query, ('lang', code)])}" for code in ("ru", "kk", "en")}
    return get_ctx(request)[PAGES].render(
        name,
        lang,
        {"switch": switch, "path": request.url.path, "q": lang if lang != "ru" else "", **context},
        status=status,
        headers=headers,
    )


def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RateLimited):
        wait = str(exc.retry_after)
        return _page(request, "limited.html", {"wait": wait}, status=429, **{"Retry-After": wait})
    status = exc.status if isinstance(exc, RegistryError) else 422
    return _page(request, "check.html", {"site": None, "wallet": None, "domain": "", "address": ""}, status=status)


router = APIRouter(route_class=page_route(_error), include_in_schema=False)


@router.get("/check", operation_id="public_check", response_class=HTMLResponse)
def check(
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    domain: str = Query("", max_length=2048),
    address: str = Query("", max_length=200),
    chain: str = Query("", max_length=16),
) -> Response:
    site = wallet = None
    if domain.strip() or address.strip():
        ctx[LIMITER].take(client_address(request.scope.get("client")), "checks")
    if domain.strip():
        site = service.check_site(session, domain.replace("\x00", ""))
    if address.strip():
        wallet = service.check_wallet(ctx, address.replace("\x00", ""), chain or None)
    return _page(request, "check.html", {"site": site, "wallet": wallet, "domain": domain, "address": address})


@router.get("/check/mops", operation_id="public_mops", response_class=HTMLResponse)
def mops(request: Request) -> Response:
    return _page(request, "mops.html", {})
