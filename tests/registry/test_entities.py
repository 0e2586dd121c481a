"""Entities: licensed services are marked and linked by address, audited, and the registry version moves."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from registry.audit.service import CLI, verify
from registry.db import state
from registry.db.engine import session_scope
from registry.entities import service
from registry.errors import Conflict, InvalidAddress, InvalidInput, NotFound


def _version(engine: Engine) -> int:
    with session_scope(engine) as s:
        return state.read_all(s)[state.REGISTRY]


def test_licensed_exchange_with_addresses(engine: Engine) -> None:
    v0 = _version(engine)
    with session_scope(engine) as s:
        e = service.create_entity(s, "Bybit Kazakhstan", "exchange", True, "AFSA-A-LA-2024-0027", CLI)
    assert _version(engine) == v0 + 1
    with session_scope(engine) as s:
        link = service.link_address(s, e.id or 0, "0x8589427373D6D84E98730D7795D8F6F8731FDA16", "bsc", CLI)
    assert (link.chain, link.address) == ("evm", "0x8589427373d6d84e98730d7795d8f6f8731fda16")
    assert _version(engine) == v0 + 2
    with session_scope(engine) as s, pytest.raises(Conflict):
        service.link_address(s, e.id or 0, "0x8589427373d6d84e98730d7795d8f6f8731fda16", None, CLI)
    with session_scope(engine) as s:
        service.set_licensed(s, e.id or 0, False, None, CLI)
    assert _version(engine) == v0 + 3
    with engine.connect() as c:
        actions = [r[0] for r in c.execute(text("SELECT action FROM audit_event WHERE entity_type = 'entity'"))]
    assert actions == ["entity.create", "entity.link_address", "entity.licensed"]
    with session_scope(engine) as s:
        assert verify(s).ok


def test_bad_input(engine: Engine) -> None:
    with session_scope(engine) as s:
        e = service.create_entity(s, "Shadow OTC", "exchanger", False, None, CLI)
    with session_scope(engine) as s, pytest.raises(InvalidAddress):
        service.link_address(s, e.id or 0, "0x1234", None, CLI)
    with session_scope(engine) as s, pytest.raises(NotFound):
        service.link_address(s, 999, "TBHTJqAy4DhHhmT3dNceJYNRz4SdLofLre", None, CLI)
    with session_scope(engine) as s, pytest.raises(InvalidInput):
        service.create_entity(s, "x", "bank-ish", False, None, CLI)
