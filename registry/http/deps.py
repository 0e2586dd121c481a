"""Dependency aliases: a route's signature says who may call it (``BankKey``, ``SupervisorKey`` …)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.auth.service import KeyCache, Principal
from registry.auth.tables import Role
from registry.db.engine import session_scope
from registry.errors import Forbidden, RegistryError, Unauthenticated
from registry.ops.jobs import JobSpec
from registry.ops.ratelimit import RateLimiter
from registry.settings import Settings

if TYPE_CHECKING:
    from registry.screening.log import ScreeningLogWriter
    from registry.screening.snapshot import SnapshotHolder

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Slot(Generic[T]):
    """A typed place in ``AppContext`` for state one feature owns and creates when the app starts (the scheduler,
    the feed cache). The feature defines the slot beside its state's type, so this kernel module imports neither,
    and every reader gets the real type: ``ctx[FEEDS]`` is a ``FeedCache``, no cast and no ``isinstance``."""

    name: str


@dataclass
class AppContext:
    """Per-process state shared by all requests; built once by ``create_app`` (``registry.app``)."""

    settings: Settings
    engine: Engine
    keys: KeyCache
    snapshot: SnapshotHolder
    screening_log: ScreeningLogWriter
    jobs: Callable[[Settings], list[JobSpec]]
    """Every feature's scheduled jobs (those of the features the app was built from): the scheduler runs them,
    ``/v1/jobs`` lists them."""
    limiter: RateLimiter | None = None
    _slots: dict[Slot[Any], Any] = field(default_factory=dict, init=False, repr=False)

    def put(self, slot: Slot[T], value: T) -> None:
        self._slots[slot] = value

    def get(self, slot: Slot[T]) -> T | None:
        """The slot's value, or ``None`` before its feature has started (or when it did not start it)."""
        value: T | None = self._slots.get(slot)
        return value

    def __getitem__(self, slot: Slot[T]) -> T:
        try:
            value: T = self._slots[slot]
        except KeyError:
            raise KeyError(f"{slot.name} is not set: its feature sets it when the app starts (lifespan)") from None
        return value


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
