"""Dependency aliases: a route's signature says who may call it (``BankKey``, ``SupervisorKey`` …)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.auth.service import KeyCache, Principal
from registry.auth.tables import Role
from registry.db.engine import session_scope
from registry.errors import Forbidden, RegistryError, Unauthenticated
from registry.ops.ratelimit import RateLimiter
from registry.settings import Settings

if TYPE_CHECKING:
    from registry.screening.log import ScreeningLogWriter
    from registry.screening.snapshot import SnapshotHolder


@dataclass
class AppContext:
    """Per-process state shared by all requests; built once by ``create_app``."""

    settings: Settings
    engine: Engine
    keys: KeyCache
    snapshot: SnapshotHolder
    screening_log: ScreeningLogWriter
    on_start: list[Callable[[], None]] = field(default_factory=list)
    """Features add what they start with the app (the scheduler, caches) and stop with it."""
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    scheduler: object | None = None
    limiter: RateLimiter | None = None


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    with session_scope(ctx.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""``scope="function"``: the session commits (or rolls back) when the route function returns, *before* the response
is sent, so a client that got a 2xx can read its change at once from any worker. With the default scope the
commit ran after the response had gone out, and a GET right after a POST could miss it."""


def authenticate(request: Request) -> Principal:
    """Bearer key → principal, from the in-memory cache; never a database query for a known key.

    Two ``Authorization`` headers are refused (400), never resolved: proxies and frameworks disagree on which one
    wins, so a request carrying two credentials is served under neither.
    """
    found = [value for name, value in request.scope["headers"] if name == b"authorization"]
    if len(found) > 1:
        raise RegistryError(
            f"{len(found)} Authorization headers: send exactly one ('Authorization: Bearer <key>')",
            code="ambiguous_credentials",
        )
    header = found[0].decode("latin-1") if found else ""
    if not header:
        raise Unauthenticated("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("malformed Authorization header: expected 'Bearer <key>'")
    ctx: AppContext = request.app.state.ctx
    principal = ctx.keys.authenticate(key.strip())
    if principal is None:
        raise Unauthenticated("unknown or revoked API key")
    if ctx.limiter is not None:
        ctx.limiter.check(principal.key_id)
    request.state.principal = principal
    return principal


class RoleCheck:
    """A dependency that authenticates and checks the role; ``roles`` is also published in the OpenAPI schema
    (``x-roles``), so the access table is read from the code rather than kept beside it."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Principal:
        principal = authenticate(request)
        if self.roles and principal.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(f"this route is for the role(s) {names}; your key has the role {principal.role.value}")
        return principal

    @property
    def names(self) -> list[str]:
        return sorted(r.value for r in self.roles) if self.roles else ["any"]


def require(*roles: Role) -> RoleCheck:
    return RoleCheck(frozenset(roles))


AnyKey = Annotated[Principal, Depends(require())]
BankKey = Annotated[Principal, Depends(require(Role.bank))]
IspKey = Annotated[Principal, Depends(require(Role.isp))]
InvestigatorKey = Annotated[Principal, Depends(require(Role.investigator))]
SupervisorKey = Annotated[Principal, Depends(require(Role.supervisor))]
CaseReaderKey = Annotated[Principal, Depends(require(Role.investigator, Role.supervisor))]
AdminKey = Annotated[Principal, Depends(require(Role.admin))]
