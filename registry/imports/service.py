"""Applying a sanctions list to the registry: idempotent, audited, and refusing what looks like a broken list.

Official-list entries become active at once (category ``sanctions``, source ``ofac``, confidence of an authority
list): the four-eyes rule is for the agency's own findings, while a sanctions designation is already a decision.
Addresses that left the list are delisted with the reason; only assets the import covers are considered, so
importing the XBT file alone never delists Ethereum addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from registry.audit.service import Actor, Change, record_many
from registry.cases.service import listing_dict
from registry.cases.tables import Listing, ListingStatus
from registry.db import state
from registry.errors import Conflict
from registry.imports.ofac import Rejected, SanctionEntry

OFAC_ACTOR = Actor(kind="system", id="ofac-import", org="registry", role="system")
OFAC_CONFIDENCE = 60
LEGAL_BASIS = "US Treasury OFAC Specially Designated Nationals list"


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    delisted: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    registry_version: int | None = None


def apply_sanctions(
    session: Session,
    entries: list[SanctionEntry],
    rejected: list[Rejected],
    scope: set[str],
    actor: Actor = OFAC_ACTOR,
    force: bool = False,
) -> ImportReport:
    now = datetime.now(UTC)
    current = list(
        session.exec(
            select(Listing).where(
                Listing.source == "ofac",
                Listing.status == ListingStatus.active.value,
                col(Listing.external_ref).in_(scope),
            )
        ).all()
    )
    current_keys = {(x.family, x.address): x for x in current}
    new_keys = {(e.family, e.address): e for e in entries}
    if current and len(new_keys) < len(current_keys) // 2 and not force:
        raise Conflict(
            f"the new list has {len(new_keys)} addresses for {', '.join(sorted(scope))} where the registry holds "
            f"{len(current_keys)}: that looks like a broken download; nothing changed (use --force to apply)"
        )
    report = ImportReport(rejected=rejected)
    added = [
        Listing(
            chain=e.chain,
            family=e.family,
            address=e.address,
            category="sanctions",
            confidence=OFAC_CONFIDENCE,
            source="ofac",
            external_ref=e.asset,
            legal_basis=LEGAL_BASIS,
            evidence_note=f"listed at {e.origin}",
            status=ListingStatus.active.value,
            submitted_by=f"system:{actor.id}",
            approved_by=f"system:{actor.id}",
            created_at=now,
            decided_at=now,
            listed_since=now,
        )
        for key, e in new_keys.items()
        if key not in current_keys
    ]
    session.add_all(added)
    session.flush()
    changes: list[Change] = [
        ("listing.sanctions_add", "listing", str(row.id), None, listing_dict(row)) for row in added
    ]
    for key, row in current_keys.items():
        if key in new_keys:
            continue
        before = listing_dict(row)
        row.status = ListingStatus.delisted.value
        row.decided_at = now
        row.decision_reason = "no longer on the OFAC SDN list (removed in the latest import)"
        session.add(row)
        changes.append(("listing.sanctions_remove", "listing", str(row.id), before, listing_dict(row)))
        report.delisted += 1
    session.flush()
    if changes:
        record_many(session, actor, changes)
    report.added = len(added)
    report.unchanged = len(new_keys) - len(added)
    if report.added or report.delisted:
        report.registry_version = state.bump(session, state.REGISTRY)
    session.commit()
    return report
