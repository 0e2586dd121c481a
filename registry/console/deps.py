"""What the console's routes depend on: the signed-in person (by role), forms that carry the session's CSRF token,
the page's language, and rendering a page with the menus of the person's role."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from registry.auth.tables import Role
from registry.console import sessions
from registry.console.i18n import LANGUAGES, N_, pick_language
from registry.console.labels import LABELS
from registry.console.ratelimit import ClientBuckets, client_address
from registry.console.sessions import ConsoleUser, SignInRequired
from registry.console.settings import get_console_settings
from registry.console.web import CONSOLE_CSP, Pages, security_headers
from registry.db.engine import session_scope
from registry.errors import Forbidden, InvalidInput, RateLimited, RegistryError
from registry.http.deps import AppContext, Slot, get_ctx
from registry.settings import Settings

HERE = Path(__file__).parent
PAGES: Slot[Pages] = Slot("console.pages")
SIGNIN_LIMITER: Slot[ClientBuckets] = Slot("console.signin_limiter")


def build_pages(strict: bool) -> Pages:
    return Pages(
        HERE / "templates",
        HERE / "locale",
        strict=strict,
        labels=LABELS,
        headers=security_headers(CONSOLE_CSP),
        static_url="/console/static",
    )


def secure_cookies(settings: Settings) -> bool:
    return settings.env != "development"


def cookie_name(settings: Settings) -> str:
    return sessions.SECURE_COOKIE if secure_cookies(settings) else sessions.COOKIE


def current_user(request: Request) -> ConsoleUser:
    """The person signed in on this browser; ``SignInRequired`` (the sign-in page) when nobody is."""
    ctx = get_ctx(request)
    token = request.cookies.get(cookie_name(ctx.settings), "")
    if not token:
        raise SignInRequired("sign in to continue")
    with session_scope(ctx.engine) as session:
        found = sessions.load(session, token, get_console_settings())
    if isinstance(found, str):
        raise SignInRequired(f"your session has ended ({found}); sign in again", details={"reason": found})
    request.state.console_user = found
    return found


SignedIn = Annotated[ConsoleUser, Depends(current_user)]


class Needs:
    """A role check on the signed-in person (menus show only what the role may open; this refuses the rest)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, user: SignedIn) -> ConsoleUser:
        if user.role not in self.roles:
            raise Forbidden(f"this page is not for the role {user.role.value}")
        return user


Investigator = Annotated[ConsoleUser, Depends(Needs(Role.investigator))]
Supervisor = Annotated[ConsoleUser, Depends(Needs(Role.supervisor))]
CaseReader = Annotated[ConsoleUser, Depends(Needs(Role.investigator, Role.supervisor))]
Overseer = Annotated[ConsoleUser, Depends(Needs(Role.supervisor, Role.admin))]


async def csrf_form(request: Request, user: SignedIn) -> FormData:
    """The posted form, once its CSRF token is the session's (a form field, or the ``X-CSRF-Token`` header that
    the console's script sends); 403 otherwise, before anything is done."""
    # A pasted CSV is one field: as large as any body the app accepts (REGISTRY_MAX_BODY_BYTES), not 1 MiB.
    form = await request.form(max_files=1, max_fields=1000, max_part_size=get_ctx(request).settings.max_body_bytes)
    sessions.check_csrf(user, form.get("csrf_token") or request.headers.get("x-csrf-token"))
    return form


Form = Annotated[FormData, Depends(csrf_form)]


def text(form: FormData, name: str, *, max_length: int = 5000) -> str:
    """A text field, stripped; 422 for text no database can store (NUL) or an over-long value."""
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return ""
    if "\x00" in value:
        raise InvalidInput(f"{name}: a NUL character cannot be stored", details={"field": name})
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"{name}: longer than {max_length} characters", details={"field": name})
    return value


def ids(form: FormData, name: str) -> list[int]:
    out = []
    for v in form.getlist(name):
        if not isinstance(v, str) or not v.isdigit() or len(v) > 10:
            raise InvalidInput(f"{name}: not an id", details={"field": name})
        out.append(int(v))
    return out


def lang_of(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(sessions.LANG_COOKIE))


MENUS: dict[Role, list[tuple[str, str]]] = {
    Role.investigator: [
        ("/console/cases", N_("My cases")),
        ("/console/addresses", N_("Address")),
        ("/console/domains", N_("Domains")),
    ],
    Role.supervisor: [
        ("/console/queue", N_("Approval queue")),
        ("/console/requests", N_("Delisting requests")),
        ("/console/domains", N_("Domains")),
        ("/console/cases", N_("Cases")),
        ("/console/addresses", N_("Address")),
        ("/console/register", N_("Register")),
        ("/console/jobs", N_("Jobs")),
        ("/console/audit", N_("Audit log")),
    ],
    Role.admin: [
        ("/console/register", N_("Register")),
        ("/console/jobs", N_("Jobs")),
        ("/console/audit", N_("Audit log")),
    ],
}


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    user: ConsoleUser | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a console page in the person's language, with the menus of their role. ``?lang=`` switches the
    language and keeps it in a cookie."""
    ctx = get_ctx(request)
    lang = lang_of(request)
    user = user or getattr(request.state, "console_user", None)
    path = request.url.path
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: f"{path}?{urlencode([*query, ('lang', code)])}" for code in LANGUAGES}
    resp = ctx[PAGES].render(
        name,
        lang,
        {
            "user": user,
            "csrf": user.csrf if user is not None else "",
            "menu": MENUS.get(user.role, []) if user is not None else [],
            "path": path,
            "switch": switch,
            "params": request.query_params,
            **(context or {}),
        },
        status=status,
        headers=headers,
    )
    chosen = request.query_params.get("lang")
    if chosen in LANGUAGES:
        resp.set_cookie(
            sessions.LANG_COOKIE,
            chosen,
            max_age=365 * 86400,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=secure_cookies(ctx.settings),
        )
    return resp


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def signin_limiter(ctx: AppContext) -> ClientBuckets:
    found = ctx.get(SIGNIN_LIMITER)
    if found is None:
        s = get_console_settings()
        found = ClientBuckets(s.signin_per_minute, s.signin_per_minute)
        ctx.put(SIGNIN_LIMITER, found)
    return found


def client_of(request: Request) -> str:
    return client_address(request.scope.get("client"))


ERROR_TITLES = {
    "forbidden": N_("Not allowed"),
    "four_eyes": N_("A second person must decide"),
    "not_found": N_("Not found"),
    "conflict": N_("Already done or in the way"),
    "csrf": N_("This form has expired"),
    "invalid_input": N_("Please check what you entered"),
    "invalid_address": N_("Not a valid address"),
    "invalid_domain": N_("Not a valid domain"),
    "invalid_csv": N_("The file has errors"),
    "rate_limited": N_("Too many requests"),
    "sign_in_refused": N_("Sign-in refused"),
    "licensed_domain": N_("This domain belongs to a licensed firm"),
}


def error_page(request: Request, exc: Exception) -> Response:
    """A route's error as a page (the API's errors stay JSON): the sign-in form when the session is missing,
    else the error's title in the person's language and the service's own message."""
    if isinstance(exc, SignInRequired):
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/console/signin"})
        nxt = request.url.path if request.method == "GET" else ""
        reason = (exc.details or {}).get("reason", "")
        query = f"?next={quote(nxt)}" if nxt else ""
        if reason and reason != "missing":
            query += f"{'&' if query else '?'}ended={quote(reason)}"
        return redirect(f"/console/signin{query}")
    if isinstance(exc, RequestValidationError):
        code, status, message = "invalid_input", 422, "; ".join(str(e.get("msg")) for e in exc.errors())
    else:
        assert isinstance(exc, RegistryError)
        code, status, message = exc.code, exc.status, exc.message
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path if referer.path.startswith("/console/") and referer.netloc == request.url.netloc else ""
    return page(
        request,
        "error.html",
        {
            "code": code,
            "title": ERROR_TITLES.get(code, N_("Something went wrong")),
            "message": message,
            "back": back,
        },
        status=status,
        headers=headers,
    )
