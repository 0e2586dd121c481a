"""Creating, revoking and checking API keys.

Keys are 256-bit random secrets, so a keyed fast hash (HMAC-SHA256 with a server-side pepper) is enough to make a
stolen database useless; a password hash (bcrypt, argon2) checked per request would cap screening throughput at a
few hundred requests per second. Checks hit an in-memory map of digests, reloaded when the ``keys`` counter moves.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from registry.audit.service import Actor, record
from registry.auth import queries
from registry.auth.models import Named
from registry.auth.persons import check_holder, display_holder, normalize_holder, pick_display_names
from registry.auth.tables import ApiKey, ApiKeyPublic, Role
from registry.db import state
from registry.db.engine import control_engine, read_only, session_scope
from registry.errors import InvalidInput, NotFound, Unavailable

KEY_PREFIX = "rk_"

M = TypeVar("M", bound=Named)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a key (over HTTP) or an operator at the command line acting as a named person.

    ``holder`` is the person, normalised when the key was created (``registry.auth.persons``); four-eyes checks
    compare it, never key ids alone.
    """

    key_id: int
    role: Role
    org: str
    holder: str | None = None
    via: str = "key"  # key | cli

    @property
    def actor(self) -> Actor:
        if self.via == "cli":
            return Actor(kind="cli", id=self.holder or "unknown", org=self.org, role=self.role.value)
        return Actor(kind="key", id=self.key_id, org=self.org, role=self.role.value)

    @property
    def ref(self) -> str:
        """What a row stores as its maker or decider: the key id, or ``cli:<person>``."""
        return f"cli:{self.holder}"[:64] if self.via == "cli" else str(self.key_id)


def digest(key: str, pepper: bytes) -> str:
    return hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def create_key(
    session: Session, role: str, org: str, pepper: bytes, actor: Actor, holder: str | None = None
) -> tuple[str, ApiKey]:
    try:
        r = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(x.value for x in Role)}") from None
    if not org.strip():
        raise InvalidInput("organisation name is required")
    if r in (Role.investigator, Role.supervisor) and not (holder or "").strip():
        raise InvalidInput("investigator and supervisor keys name their holder (--holder): four eyes needs persons")
    # Stored normalised, so every four-eyes comparison is between persons, not spellings (registry.auth.persons);
    # and as written (case kept), for the pages and packs people read.
    person = check_holder(holder) if holder and holder.strip() else None
    shown = display_holder(holder) if person is not None else None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        prefix=secret[:10],
        digest=digest(secret, pepper),
        role=r.value,
        org=org.strip(),
        holder=person,
        holder_display=shown[:200] if shown else None,
        created_at=_now(),
    )
    session.add(row)
    session.flush()
    record(session, actor, action="key.create", entity_type="api_key", entity_id=str(row.id), after=_public(row))
    state.bump(session, state.KEYS)
    return secret, row


def revoke_key(session: Session, key_id: int, actor: Actor) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"no API key with id {key_id}")
    if row.revoked_at is None:
        before = _public(row)
        row.revoked_at = _now()
        session.add(row)
        session.flush()
        record(
            session,
            actor,
            action="key.revoke",
            entity_type="api_key",
            entity_id=str(row.id),
            before=before,
            after=_public(row),
        )
        state.bump(session, state.KEYS)
    return row


def list_keys(session: Session) -> list[ApiKeyPublic]:
    rows = session.exec(select(ApiKey).order_by(col(ApiKey.id))).all()
    return [ApiKeyPublic.model_validate(r, from_attributes=True) for r in rows]


def _public(row: ApiKey) -> dict[str, object]:
    """What the audit records of a key: the fields it recorded before display names (those are not audited)."""
    return ApiKeyPublic.model_validate(row, from_attributes=True).model_dump(mode="json", exclude={"holder_display"})


def display_names(session: Session, holders: Iterable[str | None]) -> dict[str, str]:
    """Each holder (as stored on a listing, a request, a member) → the person's name as written, in one query: the
    most recently created key of that person names them; a holder no key writes down reads as itself.

    For showing people only: four-eyes checks compare the holders themselves (``registry.auth.persons``).
    """
    given = {h for h in holders if h}
    norm = {h: normalize_holder(h) or h for h in given}
    wanted = set(norm.values())
    names = pick_display_names(wanted, queries.holder_displays(session, wanted))
    return {h: names[n] for h, n in norm.items()}


def named(public: M, people: Mapping[str, str]) -> M:
    """``public`` with each display-name field (``Named.PERSONS``) filled from its holder field, ``people`` being
    ``display_names`` of them; a field without a person stays ``None``."""
    for holder_field, name_field in public.PERSONS.items():
        holder = getattr(public, holder_field)
        setattr(public, name_field, people.get(holder, holder) if holder else None)
    return public


def with_names(session: Session, rows: Sequence[object], model: type[M]) -> list[M]:
    """``rows`` as ``model``, each person also by name: one query for every person on the page."""
    public = [model.model_validate(r) for r in rows]
    people = display_names(session, [getattr(x, f) for x in public for f in model.PERSONS])
    return [named(x, people) for x in public]


def _now() -> datetime:
    return datetime.now(UTC)


class KeyCache:
    """Digest → principal for every live key; one per process.

    Its reads go through the control engine (``registry.db.engine.control_engine``: a few connections of its own,
    two-second limits), never the request pool: a revoked key must stop working within a poll interval even while
    every request connection waits behind a locked table.
    """

    def __init__(self, engine: Engine, pepper: bytes) -> None:
        self._engine = engine
        self._pepper = pepper
        self._by_digest: dict[str, Principal] = {}
        self._version = -1
        self._lock = threading.Lock()
        self._tokens = self.MISS_LOOKUPS_PER_SECOND
        self._t_last = time.monotonic()

    def authenticate(self, key: str) -> Principal | None:
        d = digest(key, self._pepper)
        p = self._by_digest.get(d)
        if p is None and self._take_token():
            # Possibly a key created a moment ago by another process: one indexed lookup. The token bucket
            # bounds what a flood of bad keys can cost the database (MISS_LOOKUPS_PER_SECOND).
            p = self._lookup(d)
        return p

    MISS_LOOKUPS_PER_SECOND = 20.0

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(
            self.MISS_LOOKUPS_PER_SECOND, self._tokens + (now - self._t_last) * self.MISS_LOOKUPS_PER_SECOND
        )
        self._t_last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _lookup(self, d: str) -> Principal | None:
        try:
            with read_only(control_engine(self._engine)).connect() as conn:
                row = conn.execute(
                    select(ApiKey.id, ApiKey.role, ApiKey.org, ApiKey.holder).where(
                        ApiKey.digest == d, col(ApiKey.revoked_at).is_(None)
                    )
                ).first()
        except SQLAlchemyError:
            # Unknown here and the database cannot say: 503 (retry), neither a 401 for a good new key nor a 500.
            raise Unavailable(
                "the API key could not be checked: the database is not answering; retry", retry_after=2
            ) from None
        if row is None:
            return None
        p = Principal(int(row[0]), Role(row[1]), row[2], row[3])
        self._by_digest = {**self._by_digest, d: p}
        return p

    def refresh(self, force: bool = False) -> None:
        with self._lock, session_scope(read_only(control_engine(self._engine))) as s:
            version = state.read_all(s).get(state.KEYS, 0)
            if version == self._version and not force:
                return
            rows = s.exec(select(ApiKey).where(col(ApiKey.revoked_at).is_(None))).all()
            self._by_digest = {r.digest: Principal(r.id or 0, Role(r.role), r.org, r.holder) for r in rows}
            self._version = version


def principal_for_holder(session: Session, holder: str, role: Role) -> Principal:
    """The CLI acting as a named person (``--as-holder``): the person must hold a live key of ``role``.

    The operator at the command line has database rights, so this is a declaration rather than an authentication;
    what it buys is that the audit and the four-eyes checks name that person, never a key picked by id.
    """
    person = check_holder(holder)
    row = session.exec(
        select(ApiKey)
        .where(ApiKey.holder == person, ApiKey.role == role.value, col(ApiKey.revoked_at).is_(None))
        .order_by(col(ApiKey.id).desc())
    ).first()
    if row is None:
        raise NotFound(f"{person!r} holds no live {role.value} key; create one with `registry keys create`")
    return Principal(row.id or 0, role, row.org, person, via="cli")
