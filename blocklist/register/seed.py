"""The licensed firms and domains shipped with the product (``seed.csv``), loaded on first start.

Without them a fresh installation would have no licensed names until the first register fetch, and on a network
without the internet it would never have any: the licensed check would pass nothing through.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from blocklist.domains.normalize import normalize_domain
from blocklist.feeds.service import sync_feed
from blocklist.register import queries
from blocklist.register.apply import SYSTEM, TRACKED, firm_view
from blocklist.register.records import FirmRecord
from blocklist.register.sources import load_seed
from blocklist.tables import LicensedDomain, LicensedFirm
from registry.audit.service import Actor, record
from registry.db.engine import session_scope
from registry.db.types import utcnow


def ensure_seed(engine: Engine) -> bool:
    """Load the shipped firms and domains into an empty register table (first start, offline)."""
    with session_scope(engine) as s:
        if queries.count_firms(s):
            return False
    try:
        with session_scope(engine) as s:
            if queries.count_firms(s):
                return False
            _apply_seed(s, load_seed(), SYSTEM)
        return True
    except IntegrityError:  # another worker seeded at the same moment
        return False


def _apply_seed(session: Session, firms: list[FirmRecord], actor: Actor) -> None:
    now = utcnow()
    touched: list[str] = []
    for rec in firms:
        firm = LicensedFirm(
            regulator="afsa",
            firm_key=rec.firm_key,
            source="seed",
            created_at=now,
            updated_at=now,
            **{k: getattr(rec, k) for k in TRACKED},
        )
        session.add(firm)
        session.flush()
        assert firm.id is not None
        record(
            session,
            actor,
            action="licensed_firm.seed",
            entity_type="licensed_firm",
            entity_id=str(firm.id),
            before=None,
            after=firm_view(firm),
        )
        for d in rec.domains:
            host = normalize_domain(d).host
            session.add(
                LicensedDomain(firm_id=firm.id, domain=host, note="shipped seed", created_by="seed", created_at=now)
            )
            record(
                session,
                actor,
                action="licensed_domain.add",
                entity_type="licensed_domain",
                entity_id=host,
                before=None,
                after={"firm_id": firm.id, "domain": host},
            )
            touched.append(host)
    session.flush()
    sync_feed(session, touched)
