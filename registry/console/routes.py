"""The console's pages (``/console``): thin, each checks the person's role (and, for a form, the CSRF token) and
calls the console's service. Forms post, then redirect (303) to the page that shows the result.

The pages are left out of the OpenAPI schema: they are HTML for people, not part of the API contract. Their form
routes declare their form media types, so the app's JSON-body rule leaves their bodies alone.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, Response

from registry.auth.tables import Role
from registry.console import service, sessions
from registry.console.deps import (
    CaseReader,
    Form,
    Investigator,
    Overseer,
    SignedIn,
    Supervisor,
    client_of,
    cookie_name,
    current_user,
    error_page,
    ids,
    page,
    redirect,
    secure_cookies,
    signin_limiter,
    text,
)
from registry.console.sessions import ConsoleUser
from registry.console.settings import get_console_settings
from registry.console.web import page_route
from registry.db.engine import session_scope
from registry.errors import InvalidInput, RateLimited, RegistryError
from registry.http.deps import CtxDep, SessionDep, get_ctx
from registry.http.params import RowId

FORM_BODY: dict[str, Any] = {
    "requestBody": {"content": {"application/x-www-form-urlencoded": {}, "multipart/form-data": {}}}
}
"""A form route's body: not JSON, so ``JsonBodies`` leaves it alone (``registry.app._raw_body_routes``)."""

router = APIRouter(prefix="/console", route_class=page_route(error_page), include_in_schema=False)


F = TypeVar("F", bound=Callable[..., Any])


def _post(path: str, name: str) -> Callable[[F], F]:
    return router.post(path, operation_id=f"console_{name}", openapi_extra=FORM_BODY)


def _get(path: str, name: str) -> Callable[[F], F]:
    return router.get(path, operation_id=f"console_{name}", response_class=HTMLResponse)


# --- signing in and out ------------------------------------------------------------------------------------------


def _signin_secret(request: Request) -> bytes:
    return get_ctx(request).settings.effective_key_pepper + b"/console-signin"


def _safe_next(value: str | None) -> str | None:
    """Only a path of the console itself: never another site (``//evil``) after sign-in."""
    if value and value.startswith("/console") and not value.startswith("//") and "\\" not in value:
        return value
    return None


@_get("", "home")
def home(request: Request) -> Response:
    ctx = get_ctx(request)
    if not request.cookies.get(cookie_name(ctx.settings)):
        return redirect("/console/signin")
    try:
        return redirect(service.home(current_user(request)))
    except RegistryError as e:
        return error_page(request, e)


@_get("/signin", "signin_form")
def signin_form(request: Request, next: str | None = Query(None, max_length=500)) -> Response:
    return _signin_page(request, next, None, 200)


def _signin_page(request: Request, nxt: str | None, error: RegistryError | None, status: int) -> Response:
    ctx = get_ctx(request)
    nonce = secrets.token_urlsafe(24)
    resp = page(
        request,
        "signin.html",
        {
            "signin_token": sessions.signin_token(nonce, _signin_secret(request)),
            "next": _safe_next(nxt) or "",
            "error": error,
            "ended": request.query_params.get("ended", ""),
        },
        status=status,
        headers={"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else None,
    )
    resp.set_cookie(
        sessions.SIGNIN_COOKIE,
        nonce,
        max_age=3600,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(ctx.settings),
    )
    return resp


@_post("/signin", "signin")
async def signin(request: Request) -> Response:
    ctx = get_ctx(request)
    form = await request.form(max_files=0, max_fields=10)
    nxt = form.get("next")
    nxt = nxt if isinstance(nxt, str) else None
    nonce = request.cookies.get(sessions.SIGNIN_COOKIE)
    sessions.check_signin_token(nonce, form.get("csrf_token"), _signin_secret(request))
    key = form.get("key")
    client = client_of(request)
    try:
        signin_limiter(ctx).take(client, "sign-in attempts")
        if not isinstance(key, str) or len(key) > 200 or "\x00" in key:
            raise InvalidInput("paste your API key (rk_…)", details={"field": "key"})

        def run() -> tuple[str, sessions.ConsoleUser]:
            with session_scope(ctx.engine) as session:
                return sessions.sign_in(session, ctx.keys, key, client, get_console_settings())

        token, user = await run_in_threadpool(run)
    except RegistryError as e:
        return _signin_page(request, nxt, e, e.status)
    resp = redirect(_safe_next(nxt) or service.home(user))
    resp.set_cookie(
        cookie_name(ctx.settings),
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(ctx.settings),
    )
    resp.delete_cookie(sessions.SIGNIN_COOKIE, path="/console")
    return resp


@_post("/signout", "signout")
def signout(request: Request, user: SignedIn, form: Form, session: SessionDep) -> Response:
    sessions.sign_out(session, user)
    ctx = get_ctx(request)
    resp = redirect("/console/signin?ended=signout")
    resp.delete_cookie(
        cookie_name(ctx.settings), path="/", httponly=True, samesite="strict", secure=secure_cookies(ctx.settings)
    )
    return resp


# --- cases -------------------------------------------------------------------------------------------------------


@_get("/cases", "cases")
def cases_page(
    request: Request, user: CaseReader, session: SessionDep, q: str | None = Query(None, max_length=100)
) -> Response:
    return page(request, "cases.html", {"cases": service.list_cases(session, user, q), "q": q or ""})


@_post("/cases", "create_case")
def create_case(user: Investigator, form: Form, session: SessionDep) -> Response:
    data = {"number": text(form, "number", max_length=64), "title": text(form, "title", max_length=300)}
    if text(form, "secrecy"):
        data["secrecy"] = text(form, "secrecy")
    case_id = service.create_case(session, user, data)
    return redirect(f"/console/cases/{case_id}?done=case_created")


def _case_page(
    request: Request, session: Session, user: ConsoleUser, case_id: int, *, status: int = 200, **extra: Any
) -> HTMLResponse:
    view = service.case_view(session, user, case_id)
    return page(
        request,
        "case.html",
        {
            "view": view,
            "categories": service.CATEGORY_NAMES,
            "confidences": service.CONFIDENCES,
            "csv_errors": None,
            "csv_lines": {},
            "csv_text": "",
            "listing_error": None,
            "listing_form": {},
            **extra,
        },
        status=status,
    )


@_get("/cases/{case_id}", "case")
def case_page(request: Request, user: CaseReader, session: SessionDep, case_id: RowId) -> Response:
    return _case_page(request, session, user, case_id)


@_post("/cases/{case_id}/members", "add_member")
def add_member(user: CaseReader, form: Form, session: SessionDep, case_id: RowId) -> Response:
    service.add_member(session, user, case_id, text(form, "holder", max_length=200))
    return redirect(f"/console/cases/{case_id}?done=member_added")


LINE_ENDS = re.compile(r"\r\n|\r|\n")

LISTING_FIELDS = ("address", "chain", "category", "confidence", "legal_basis", "evidence_note", "valid_until")


@_post("/cases/{case_id}/listings", "submit_listing")
def submit_listing(request: Request, user: Investigator, form: Form, session: SessionDep, case_id: RowId) -> Response:
    data = {name: text(form, name) for name in LISTING_FIELDS}
    if data["valid_until"] and len(data["valid_until"]) == 10:
        data["valid_until"] += "T00:00:00Z"  # a date field: the start of that day, UTC
    try:
        service.submit_listing(session, user, case_id, data)
    except InvalidInput as e:
        session.rollback()
        return _case_page(request, session, user, case_id, status=e.status, listing_error=e, listing_form=data)
    return redirect(f"/console/cases/{case_id}?done=listing_submitted#listings")


@_post("/cases/{case_id}/listings/import", "import_listings")
def import_listings(request: Request, user: Investigator, form: Form, ctx: CtxDep, case_id: RowId) -> Response:
    """A CSV file (or pasted text): all or nothing. A refused file comes back with every bad row beside its line,
    and its text in a box to fix and send again."""
    upload = form.get("file")
    body = b""
    if isinstance(upload, UploadFile):
        body = upload.file.read(ctx.settings.max_body_bytes + 1)
    if not body.strip():
        body = text(form, "csv", max_length=ctx.settings.max_body_bytes).encode()
    if not body.strip():
        raise InvalidInput("choose a CSV file or paste its rows", details={"field": "file"})
    try:
        created = service.import_csv(ctx.engine, user, case_id, body, ctx.settings.max_csv_rows)
    except InvalidInput as e:
        if e.code != "invalid_csv":
            raise
        errors = (e.details or {}).get("errors", [])
        lines = LINE_ENDS.split(body.decode("utf-8", errors="replace"))  # as the parser counts lines
        with session_scope(ctx.engine) as session:
            return _case_page(
                request,
                session,
                user,
                case_id,
                status=422,
                csv_errors=e,
                csv_lines={n: lines[n - 1] if 0 < n <= len(lines) else "" for n in {x["line"] for x in errors}},
                csv_text=body.decode("utf-8", errors="replace") if len(body) <= 200_000 else "",
            )
    return redirect(f"/console/cases/{case_id}?done=csv_imported&n={created}#listings")


@_post("/cases/{case_id}/domains", "submit_domain")
def submit_domain(user: Investigator, form: Form, session: SessionDep, case_id: RowId) -> Response:
    data = {
        "domain": text(form, "domain", max_length=2048),
        "legal_basis": text(form, "legal_basis", max_length=500),
        "urls": text(form, "urls"),
        "note": text(form, "note"),
        "entity_name": text(form, "entity_name", max_length=200),
    }
    service.submit_domain(session, user, case_id, data)
    return redirect(f"/console/cases/{case_id}?done=domain_submitted#domains")


@_get("/domains/check", "check_domain")
def check_domain(
    request: Request, user: CaseReader, session: SessionDep, domain: str = Query("", max_length=2048)
) -> Response:
    """The licensed / lookalike check as the domain is typed (htmx swaps this fragment in)."""
    result = service.check_domain(session, domain.replace("\x00", ""))
    return page(request, "_domain_check.html", {"check": result, "typed": domain})


@_post("/listings/{listing_id}/delist", "request_delisting")
def request_delisting(user: Supervisor, form: Form, session: SessionDep, listing_id: RowId) -> Response:
    reason = text(form, "reason", max_length=1000)
    if not reason:
        raise InvalidInput("asking to delist needs a reason", details={"field": "reason"})
    service.request_delisting(session, user, listing_id, reason)
    back = text(form, "back", max_length=200)
    return redirect(f"{back if back.startswith('/console/') else '/console/requests'}?done=delist_requested")


# --- supervisor ----------------------------------------------------------------------------------------------------


@_get("/queue", "queue")
def queue_page(request: Request, user: Supervisor, session: SessionDep) -> Response:
    return page(request, "queue.html", {"items": service.queue(session, user), "outcomes": []})


@_post("/queue", "decide")
def decide(request: Request, user: Supervisor, form: Form, ctx: CtxDep) -> Response:
    """Approve or reject the selected listings: one decision each (its own transaction and audit event)."""
    outcomes = service.decide_listings(
        ctx, user, ids(form, "ids"), text(form, "decision", max_length=16), text(form, "reason", max_length=1000)
    )
    with session_scope(ctx.engine) as session:
        items = service.queue(session, user)
    refused = [o for o in outcomes if not o.ok]
    status = 200 if len(refused) < len(outcomes) else refused[0].status
    return page(request, "queue.html", {"items": items, "outcomes": outcomes}, status=status)


@_get("/requests", "requests")
def requests_page(request: Request, user: Supervisor, session: SessionDep) -> Response:
    return page(request, "requests.html", {"items": service.pending_requests(session, user), "outcome": None})


@_post("/requests/{request_id}", "decide_request")
def decide_request(request: Request, user: Supervisor, form: Form, ctx: CtxDep, request_id: RowId) -> Response:
    outcome = service.decide_request(
        ctx, user, request_id, text(form, "decision", max_length=16), text(form, "reason", max_length=1000)
    )
    with session_scope(ctx.engine) as session:
        items = service.pending_requests(session, user)
    return page(request, "requests.html", {"items": items, "outcome": outcome}, status=outcome.status)


@_get("/domains", "domains")
def domains_page(
    request: Request, user: CaseReader, session: SessionDep, status: str | None = Query(None, max_length=16)
) -> Response:
    chosen = status if status is not None else ("pending" if user.is_(Role.supervisor) else "")
    return page(
        request,
        "domains.html",
        {"domains": service.list_domains(session, user, chosen), "status": chosen, "outcome": None},
    )


@_post("/domains/{domain_id}", "decide_domain")
def decide_domain(request: Request, user: Supervisor, form: Form, ctx: CtxDep, domain_id: RowId) -> Response:
    outcome = service.decide_domain(
        ctx, user, domain_id, text(form, "decision", max_length=16), text(form, "reason", max_length=1000)
    )
    with session_scope(ctx.engine) as session:
        listed = service.list_domains(session, user, "pending")
    return page(
        request,
        "domains.html",
        {"domains": listed, "status": "pending", "outcome": outcome},
        status=outcome.status,
    )


@_get("/register", "register")
def register_page(request: Request, user: Overseer, session: SessionDep) -> Response:
    return page(request, "register.html", {"register": service.register_state(session)})


@_get("/jobs", "jobs")
def jobs_page(request: Request, user: Overseer, ctx: CtxDep, session: SessionDep) -> Response:
    return page(request, "jobs.html", {"jobs": service.jobs(ctx, session)})


@_get("/audit", "audit")
def audit_page(request: Request, user: Overseer, session: SessionDep) -> Response:
    filters = service.parse_audit_filters(request.query_params)
    found = service.audit_page(session, filters)
    next_url = None
    if found.next_before is not None:
        query = {**filters.query, "before": str(found.next_before)}
        next_url = "/console/audit?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
    return page(request, "audit.html", {"page": found, "filters": filters, "next_url": next_url})
