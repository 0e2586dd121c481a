"""Entities: licensed services are marked and linked by two supervisors, audited, and the registry version moves."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.audit.service import CLI, verify
from registry.auth.persons import FourEyesViolation
from registry.auth.service import principal_for_holder
from registry.auth.tables import Role
from registry.db import state
from registry.db.engine import session_scope
from registry.entities import service
from registry.errors import Conflict, InvalidAddress, InvalidInput, NotFound
from tests.support.keys import Keys


def _version(engine: Engine) -> int:
    with session_scope(engine) as s:
        return state.read_all(s)[state.REGISTRY]


def test_licensed_exchange_with_addresses(engine: Engine, keys: Keys) -> None:
    keys.create("supervisor", holder="Sara Supervisor")
    keys.create("supervisor", holder="Oleg Other")
    with session_scope(engine) as s:
        sara = principal_for_holder(s, " sara  supervisor", Role.supervisor)
        oleg = principal_for_holder(s, "Oleg Other", Role.supervisor)
    v0 = _version(engine)
    with session_scope(engine) as s:
        e = service.create_entity(s, "Bybit Kazakhstan", "exchange", CLI)
        eid = e.id or 0
    assert _version(engine) == v0  # not licensed: no verdict moves
    with session_scope(engine) as s:
        service.request_licensed(s, eid, True, "AFSA-A-LA-2024-0027", "register entry", sara)
    with session_scope(engine) as s, pytest.raises(Conflict):  # one pending request per entity
        service.request_licensed(s, eid, True, "AFSA-A-LA-2024-0027", "again", oleg)
    with session_scope(engine) as s, pytest.raises(FourEyesViolation):  # the same person, written differently
        service.confirm_licensed(s, eid, principal_for_holder(s, "SARA SUPERVISOR", Role.supervisor), None)
    assert _version(engine) == v0
    with session_scope(engine) as s:
        assert service.confirm_licensed(s, eid, oleg, "checked").licensed_service
    assert _version(engine) == v0 + 1
    with session_scope(engine) as s, pytest.raises(Conflict):  # a licensed service's address takes two people
        service.link_address(s, eid, "0x8589427373D6D84E98730D7795D8F6F8731FDA16", "bsc", CLI)
    with session_scope(engine) as s:
        service.request_link(s, eid, "0x8589427373D6D84E98730D7795D8F6F8731FDA16", "bsc", "attested", oleg)
    with session_scope(engine) as s:
        link = service.confirm_link(s, eid, "0x8589427373d6d84e98730d7795d8f6f8731fda16", "eth", sara, None)
    assert (link.chain, link.address) == ("evm", "0x8589427373d6d84e98730d7795d8f6f8731fda16")
    assert _version(engine) == v0 + 2
    with session_scope(engine) as s, pytest.raises(Conflict):  # linked already
        service.request_link(s, eid, "0x8589427373d6d84e98730d7795d8f6f8731fda16", None, "again", sara)
    with session_scope(engine) as s:
        service.request_licensed(s, eid, False, None, "licence withdrawn", sara)
        service.confirm_licensed(s, eid, oleg, None)
    assert _version(engine) == v0 + 3
    with engine.connect() as c:
        actions = [r[0] for r in c.execute(text("SELECT action FROM audit_event WHERE entity_type = 'entity'"))]
        asked = [r[0] for r in c.execute(text("SELECT action FROM audit_event WHERE entity_type = 'decision_request'"))]
    assert actions == ["entity.create", "entity.licensed", "entity.link_address", "entity.licensed"]
    assert asked == ["request.entity.licensed", "confirm.entity.licensed"] + [
        "request.entity.link_licensed",
        "confirm.entity.link_licensed",
        "request.entity.licensed",
        "confirm.entity.licensed",
    ]
    with session_scope(engine) as s:
        assert verify(s).ok


def test_bad_input(engine: Engine) -> None:
    with session_scope(engine) as s:
        e = service.create_entity(s, "Shadow OTC", "exchanger", CLI)
    with session_scope(engine) as s, pytest.raises(InvalidAddress):
        service.link_address(s, e.id or 0, "0x1234", None, CLI)
    with session_scope(engine) as s, pytest.raises(NotFound):
        service.link_address(s, 999, "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre", None, CLI)
    with session_scope(engine) as s, pytest.raises(InvalidInput):
        service.create_entity(s, "x", "bank-ish", CLI)
