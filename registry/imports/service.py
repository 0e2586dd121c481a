"""Applying a sanctions list to the registry: idempotent, audited, and refusing what looks like a broken list.

Official-list entries become active at once (category ``sanctions``, source ``ofac``, confidence of an authority
list): the four-eyes rule is for the agency's own findings, while a sanctions designation is already a decision.

A listing is one address on one asset's list: ``external_ref`` is the asset the entry is filed under, also when it
was re-homed to the chain it belongs to (the Tron address in the XBT list is a Tron listing with ``external_ref``
XBT). Addresses that left a list are delisted with the reason; only assets the import covers are considered, so
importing the XBT file alone never delists Ethereum addresses, nor an address the USDT list still names.
A designation that changed (a programme added, a name corrected) is updated in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from registry.audit.service import Actor, Change, record_many
from registry.cases.service import listing_dict
from registry.cases.tables import Listing, ListingStatus
from registry.db import state
from registry.errors import Conflict
from registry.imports.ofac import ALL_ASSETS, Designation, Rejected, SanctionEntry, describe_scope

OFAC_ACTOR = Actor(kind="system", id="ofac-import", org="registry", role="system")
OFAC_CONFIDENCE = 60
LEGAL_BASIS = "US Treasury OFAC Specially Designated Nationals list"


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    delisted: int = 0
    updated: int = 0  # designation details changed
    rejected: list[Rejected] = field(default_factory=list)
    rehomed: list[SanctionEntry] = field(default_factory=list)  # filed under the wrong asset, listed where valid
    registry_version: int | None = None


def _programs(d: Designation | None) -> str | None:
    return json.dumps(list(d.programs)) if d is not None and d.programs else None


def _designation_columns(d: Designation | None) -> dict[str, Any]:
    return {
        "designation_name": d.name if d is not None else None,
        "designation_programs": _programs(d),
        "designated_on": d.designated_on if d is not None else None,
        "designation_ref": d.ref if d is not None else None,
    }


def designation_dict(row: Listing) -> dict[str, Any] | None:
    """The designation as the audit records it (the listing's public model does not carry it)."""
    if row.designation_ref is None and row.designation_name is None:
        return None
    return {
        "name": row.designation_name,
        "programs": json.loads(row.designation_programs) if row.designation_programs else [],
        "designated_on": row.designated_on.isoformat() if row.designated_on else None,
        "sdn_id": row.designation_ref,
    }


def _audited(row: Listing) -> dict[str, Any]:
    return {**listing_dict(row), "designation": designation_dict(row)}


def _note(e: SanctionEntry) -> str:
    if e.rehomed:
        return f"listed at {e.origin}; filed under {e.asset} but not an address of it: listed on {e.chain}"
    return f"listed at {e.origin}"


def apply_sanctions(
    session: Session,
    entries: list[SanctionEntry],
    rejected: list[Rejected],
    scope: set[str],
    actor: Actor = OFAC_ACTOR,
    force: bool = False,
) -> ImportReport:
    now = datetime.now(UTC)
    query = select(Listing).where(Listing.source == "ofac", Listing.status == ListingStatus.active.value)
    if ALL_ASSETS not in scope:
        query = query.where(col(Listing.external_ref).in_(scope | {e.asset for e in entries}))
    current = list(session.exec(query).all())
    current_keys = {(x.external_ref or "", x.family, x.address): x for x in current}
    new_keys = {(e.asset, e.family, e.address): e for e in entries}
    if current and len(new_keys) < len(current_keys) // 2 and not force:
        raise Conflict(
            f"the new list has {len(new_keys)} addresses for {describe_scope(scope)} where the registry holds "
            f"{len(current_keys)}: that looks like a broken download; nothing changed (use --force to apply)"
        )
    report = ImportReport(rejected=rejected, rehomed=[e for e in entries if e.rehomed])
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
            evidence_note=_note(e),
            status=ListingStatus.active.value,
            submitted_by=f"system:{actor.id}",
            approved_by=f"system:{actor.id}",
            created_at=now,
            decided_at=now,
            listed_since=now,
            **_designation_columns(e.designation),
        )
        for key, e in new_keys.items()
        if key not in current_keys
    ]
    session.add_all(added)
    session.flush()
    changes = [
        Change(action="listing.sanctions_add", entity_type="listing", entity_id=str(row.id), after=_audited(row))
        for row in added
    ]
    for key, row in current_keys.items():
        e = new_keys.get(key)
        if e is None or e.designation is None:  # a list without names never erases what the XML said
            continue
        columns = _designation_columns(e.designation)
        if all(getattr(row, k) == v for k, v in columns.items()):
            continue
        before = _audited(row)
        for k, v in columns.items():
            setattr(row, k, v)
        session.add(row)
        changes.append(
            Change(
                action="listing.sanctions_update",
                entity_type="listing",
                entity_id=str(row.id),
                before=before,
                after=_audited(row),
            )
        )
        report.updated += 1
    for key, row in current_keys.items():
        if key in new_keys:
            continue
        before = _audited(row)
        row.status = ListingStatus.delisted.value
        row.decided_at = now
        row.decision_reason = "no longer on the OFAC SDN list (removed in the latest import)"
        session.add(row)
        changes.append(
            Change(
                action="listing.sanctions_remove",
                entity_type="listing",
                entity_id=str(row.id),
                before=before,
                after=_audited(row),
            )
        )
        report.delisted += 1
    session.flush()
    if changes:
        record_many(session, actor, changes)
    report.added = len(added)
    report.unchanged = len(new_keys) - len(added) - report.updated
    if report.added or report.delisted or report.updated:
        report.registry_version = state.bump(session, state.REGISTRY)
    session.commit()
    return report
