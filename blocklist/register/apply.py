"""Applying a register fetch that passed validation: diff it against the firms we hold, keep the history, and move
the names of firms whose licence was granted or ended in and out of the feed.

Only a status change moves names: a licence granted takes the firm's curated domains (and names above or under
them) out of the feed, a licence ended sends them to a supervisor as pending entries. Nothing enters the feed by
itself.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from blocklist.feeds.service import sync_feed
from blocklist.licensed.service import ACTIVE, clear_for_licence, send_to_review
from blocklist.register import queries
from blocklist.register.records import FirmRecord
from blocklist.tables import LicensedFirm, LicensedFirmChange
from registry.audit.service import Actor, record
from registry.db.types import utcnow

SYSTEM = Actor("system", "blocklist:refresh-register", "registry", "system")
"""The register job: what the register itself changes (seeding, refreshes) is audited under it, not a person."""

TRACKED = (
    "name",
    "licence_number",
    "status",
    "status_text",
    "issued_on",
    "inactive_since",
    "activities",
    "section",
    "bin",
    "details_url",
)
"""The fields of a ``FirmRecord`` a ``LicensedFirm`` row keeps, compared on every fetch."""


def firm_view(f: LicensedFirm) -> dict[str, Any]:
    """A firm as its audit events show it."""
    return {k: getattr(f, k) for k in ("regulator", "firm_key", *TRACKED)}


def apply_fetch(session: Session, regulator: str, records: list[FirmRecord], fetch_id: int | None, actor: Actor) -> int:
    """Upsert firms by licence number; licence granted → its names leave the feed; licence ended → review."""
    existing = queries.firms_by_key(session, regulator)
    by_key: dict[str, FirmRecord] = {}
    for rec in records:  # a firm listed in two sections: the active listing wins
        old = by_key.get(rec.firm_key)
        if old is None or (old.status != ACTIVE and rec.status == ACTIVE):
            by_key[rec.firm_key] = rec
    now = utcnow()
    changed = 0
    granted: list[tuple[LicensedFirm, str]] = []
    ended: list[LicensedFirm] = []
    for key, rec in by_key.items():
        firm = existing.get(key)
        values = {k: getattr(rec, k) for k in TRACKED}
        if firm is None:
            firm = LicensedFirm(
                regulator=regulator, firm_key=key, source="register", created_at=now, updated_at=now, **values
            )
            session.add(firm)
            session.flush()
            assert firm.id is not None
            session.add(LicensedFirmChange(firm_id=firm.id, fetch_id=fetch_id, kind="created", changes=values, at=now))
            record(
                session,
                actor,
                action="licensed_firm.create",
                entity_type="licensed_firm",
                entity_id=str(firm.id),
                before=None,
                after=firm_view(firm),
            )
            changed += 1
            if firm.status == ACTIVE:
                granted.append((firm, "licensed in the register"))
            continue
        diff = {k: [getattr(firm, k), v] for k, v in values.items() if v not in (None, "") and getattr(firm, k) != v}
        if not diff and firm.source == "register":
            continue
        before = firm_view(firm)
        was_active = firm.status == ACTIVE
        for k, (_, v) in diff.items():
            setattr(firm, k, v)
        firm.source = "register"
        firm.updated_at = now
        session.add(firm)
        if diff:
            assert firm.id is not None  # a stored firm
            session.add(LicensedFirmChange(firm_id=firm.id, fetch_id=fetch_id, kind="changed", changes=diff, at=now))
            record(
                session,
                actor,
                action="licensed_firm.update",
                entity_type="licensed_firm",
                entity_id=str(firm.id),
                before=before,
                after=firm_view(firm),
            )
            changed += 1
        if not was_active and firm.status == ACTIVE:
            granted.append((firm, "licence now active in the register"))
        elif was_active and firm.status != ACTIVE:
            ended.append(firm)
    session.flush()
    firm_ids = [f.id for f, _ in granted if f.id is not None] + [f.id for f in ended if f.id is not None]
    domains_of = queries.domains_of(session, firm_ids) if firm_ids else {}
    touched: set[str] = set()
    for firm, why in granted:
        ds = domains_of.get(firm.id or 0, [])
        touched |= clear_for_licence(session, firm, ds, actor, why)
        touched |= set(ds)
    for firm in ended:
        ds = domains_of.get(firm.id or 0, [])
        send_to_review(session, firm, ds, actor, "licence ended in the register", now)
        touched |= set(ds)
    sync_feed(session, touched)
    return changed
