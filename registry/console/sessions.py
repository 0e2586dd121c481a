"""Signing in to the console with a person's API key, and the server-side session that follows.

Why a session at all, when every API call carries its key: a key pasted into a page once is a key the browser
never stores. The browser keeps a random token in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` outside
development, then also ``__Host-`` prefixed); the server keeps its hash, the person and the key it came from, and
a CSRF token every form of the session carries. A session ends at sign-out, after ``REGISTRY_CONSOLE_IDLE_MINUTES``
without use, ``REGISTRY_CONSOLE_SESSION_HOURS`` after sign-in, or at the next page after its key is revoked.

Everything a person does in the console is done, and audited, as the key they signed in with: the console adds no
second identity, and the four-eyes rule compares the same persons as over the API. Sign-ins, refused sign-ins and
sign-outs are audited too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from registry.audit.service import Actor, record
from registry.auth.service import KeyCache, Principal
from registry.auth.tables import Role
from registry.console import queries
from registry.console.settings import ConsoleSettings
from registry.console.tables import ConsoleSession
from registry.errors import Forbidden, Unauthenticated

COOKIE = "console_session"
SECURE_COOKIE = "__Host-console_session"
"""Outside development the cookie is ``Secure`` and ``__Host-``: the browser then refuses it from plain HTTP and
from any other path or subdomain."""

SIGNIN_COOKIE = "console_signin"
"""A random value set with the sign-in form; the form carries its HMAC (double submit), so a page elsewhere cannot
sign a browser in under someone else's key (login CSRF)."""

LANG_COOKIE = "console_lang"

SIGNIN_ROLES = frozenset({Role.investigator, Role.supervisor, Role.admin})
"""People. Banks and ISPs are programs: their keys do not open the console."""

TOUCH_SECONDS = 60
"""``last_seen_at`` is written at most once a minute per session: the idle timeout is that precise, and reading a
page costs no write."""

PRUNE_AFTER = timedelta(days=7)

CONSOLE = Actor(kind="system", id="console", org="registry", role="system")
"""Who a refused sign-in with an unknown key is recorded as: nobody known tried it."""


class SignInRequired(Unauthenticated):
    """No session, or one that ended: the page answers with the sign-in form."""

    code = "sign_in_required"


class SignInRefused(Unauthenticated):
    code = "sign_in_refused"


class CsrfRefused(Forbidden):
    """A form without the session's token: made by another site, or a page from before a sign-in."""

    code = "csrf"


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    session_id: int
    principal: Principal
    csrf: str
    display: str | None = None
    """The person's name as written on the key they signed in with (``principal.holder`` is the normalised person
    that four eyes compares; this one is only shown)."""

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def name(self) -> str:
        return self.display or self.principal.holder or self.principal.org

    def is_(self, *roles: Role) -> bool:
        return self.principal.role in roles


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def sign_in(
    session: Session, keys: KeyCache, key: str, client: str, settings: ConsoleSettings
) -> tuple[str, ConsoleUser]:
    """Check the key and open a session; returns the cookie's token and the user. A refusal is audited (and
    committed) before it is raised."""
    key = key.strip()
    principal = keys.authenticate(key) if key else None
    if principal is None:
        _refused(session, CONSOLE, "unknown_key", client, key)
        raise SignInRefused("this key is unknown or revoked")
    if principal.role not in SIGNIN_ROLES:
        _refused(session, principal.actor, "role", client, key)
        raise SignInRefused(f"the console is for people; a {principal.role.value} key cannot sign in")
    if principal.role != Role.admin and not principal.holder:
        _refused(session, principal.actor, "no_holder", client, key)
        raise SignInRefused("this key names no person (keys create --holder)")
    at = now()
    queries.prune(session, at - PRUNE_AFTER)
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=token_hash(token),
        key_id=principal.key_id,
        role=principal.role.value,
        org=principal.org,
        holder=principal.holder,
        csrf_token=secrets.token_urlsafe(32),
        client=client[:64],
        created_at=at,
        last_seen_at=at,
    )
    session.add(row)
    session.flush()
    record(
        session,
        principal.actor,
        action="console.signin",
        entity_type="console_session",
        entity_id=str(row.id),
        after={"person": principal.holder, "role": principal.role.value, "client": row.client},
    )
    session.commit()
    return token, ConsoleUser(row.id or 0, principal, row.csrf_token)


def _refused(session: Session, actor: Actor, reason: str, client: str, key: str) -> None:
    # The key's first ten characters are what `registry keys list` shows of it (its prefix), never more.
    prefix = key[:10] if key.startswith("rk_") else None
    record(
        session,
        actor,
        action="console.signin_refused",
        entity_type="console_session",
        entity_id="-",
        after={"reason": reason, "client": client[:64], "key_prefix": prefix},
    )
    session.commit()


def load(session: Session, token: str, settings: ConsoleSettings) -> ConsoleUser | str:
    """The user of a cookie's token, or why there is none (``missing``, ``ended``, ``idle``, ``lifetime``,
    ``revoked``); a session found expired is ended (and audited) here, in the caller's transaction."""
    found = queries.session_with_key(session, token_hash(token)) if token else None
    if found is None:
        return "missing"
    row, revoked_at, display = found
    if row.ended_at is not None:
        return "ended"
    at = now()
    reason = None
    if revoked_at is not None:
        reason = "revoked"
    elif at - row.last_seen_at > timedelta(minutes=settings.idle_minutes):
        reason = "idle"
    elif at - row.created_at > timedelta(hours=settings.session_hours):
        reason = "lifetime"
    principal = Principal(row.key_id, Role(row.role), row.org, row.holder)
    if reason is not None:
        _end(session, row, principal, reason, at)
        return reason
    if (at - row.last_seen_at).total_seconds() > TOUCH_SECONDS:
        queries.touch(session, row.id or 0, at)
    return ConsoleUser(row.id or 0, principal, row.csrf_token, display)


def sign_out(session: Session, user: ConsoleUser) -> None:
    row = session.get(ConsoleSession, user.session_id)
    if row is not None:
        _end(session, row, user.principal, "signout", now())


def _end(session: Session, row: ConsoleSession, principal: Principal, reason: str, at: datetime) -> None:
    if queries.end_session(session, row.id or 0, reason, at):
        record(
            session,
            principal.actor,
            action="console.signout",
            entity_type="console_session",
            entity_id=str(row.id),
            after={"person": principal.holder, "reason": reason},
        )


def check_csrf(user: ConsoleUser, sent: object) -> None:
    if not isinstance(sent, str) or not sent or not hmac.compare_digest(sent.encode(), user.csrf.encode()):
        raise CsrfRefused("this form is not from your console session (no or a wrong CSRF token): reload the page")


def signin_token(nonce: str, secret: bytes) -> str:
    return hmac.new(secret, b"console-signin:" + nonce.encode(), hashlib.sha256).hexdigest()


def check_signin_token(nonce: str | None, sent: object, secret: bytes) -> None:
    if not nonce or not isinstance(sent, str) or not hmac.compare_digest(sent, signin_token(nonce, secret)):
        raise CsrfRefused("this sign-in form is not from this console (no or a wrong CSRF token): reload the page")
