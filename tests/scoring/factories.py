"""Test data for scoring: transfers, listings, licensed entities, written the way the sync and cases do."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from registry.cases.tables import Case, Listing
from registry.db import state
from registry.db.engine import session_scope
from registry.entities.tables import Entity, EntityAddress
from registry.transfers.tables import TransferRow

ETH = 10**18
_tx = count(1)


def addr(n: int) -> str:
    """A distinct, valid, lowercase EVM address for a small integer."""
    return f"0x{n:040x}"


def add_transfers(
    engine: Engine,
    edges: Iterable[tuple[str, str, float]],
    *,
    network: str = "eth",
    asset: str = "native",
    unit: int = ETH,
) -> list[str]:
    """``(from, to, amount in whole units)`` each as its own transaction; bumps the transfers counter like a sync."""
    rows = []
    ids = []
    for frm, to, amount in edges:
        tx = f"0x{next(_tx):064x}"
        ids.append(tx)
        base = int(round(amount * unit))
        rows.append(
            {
                "network": network,
                "tx_id": tx,
                "idx": 0,
                "block": 1,
                "block_time": datetime(2026, 1, 1, tzinfo=UTC),
                "from_address": frm,
                "to_address": to,
                "asset": asset,
                "amount": str(base),
                "value": float(base),
            }
        )
    with session_scope(engine) as s:
        if rows:
            s.execute(insert(TransferRow), rows)
        state.bump(s, state.TRANSFERS)
    return ids


def add_listing(
    engine: Engine,
    address: str,
    category: str = "fraud",
    *,
    status: str = "active",
    valid_until: datetime | None = None,
    case_number: str | None = None,
    chain: str = "eth",
    family: str = "evm",
) -> int:
    with session_scope(engine) as s:
        case_id = None
        if case_number is not None:
            case = Case(
                number=case_number,
                title=f"case {case_number}",
                created_by=1,
                created_org="FIU",
                created_at=datetime.now(UTC),
            )
            s.add(case)
            s.flush()
            case_id = case.id
        row = Listing(
            case_id=case_id,
            chain=chain,
            family=family,
            address=address,
            category=category,
            confidence=70,
            source="fiu",
            legal_basis="test",
            status=status,
            submitted_by="1",
            approved_by="2",
            created_at=datetime.now(UTC),
            listed_since=datetime.now(UTC) - timedelta(days=1),
            valid_until=valid_until,
        )
        s.add(row)
        s.flush()
        state.bump(s, state.REGISTRY)
        assert row.id is not None
        return row.id


def set_listing_status(engine: Engine, listing_id: int, status: str) -> None:
    with session_scope(engine) as s:
        row = s.get(Listing, listing_id)
        assert row is not None
        row.status = status
        s.add(row)
        state.bump(s, state.REGISTRY)


def add_licensed(engine: Engine, address: str, name: str = "Licensed Exchange", chain: str = "eth") -> None:
    with session_scope(engine) as s:
        e = Entity(
            name=name,
            kind="exchange",
            licensed_service=True,
            licence_number="AFSA-X-1",
            created_at=datetime.now(UTC),
        )
        s.add(e)
        s.flush()
        assert e.id is not None
        s.add(EntityAddress(entity_id=e.id, chain=chain, address=address))
        state.bump(s, state.REGISTRY)
