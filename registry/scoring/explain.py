"""The evidence view of one address: listings with their cases, exposure, and the paths that explain it.

The full view (``address_view``) is what a supervisor sees; ``restrict_to_cases`` cuts it down for an
investigator, and ``bank_view`` reduces it, field by field, into a type without case data. Scores come from the
screening snapshot (what the last rescoring stored, ``rescore.py``); only the paths are traced here, on demand.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from registry.db.engine import read_only, session_scope
from registry.scoring import queries
from registry.scoring.models import (
    AddressForBank,
    AddressView,
    DirectHitPublic,
    ExposureForBank,
    ExposuresForBank,
    ExposuresPublic,
    ExposureWithPaths,
    HopPublic,
    ListingRef,
    PathForBank,
    PathPublic,
    TxRef,
)
from registry.scoring.paths import Path, trace, with_transactions
from registry.scoring.settings import ScoringSettings
from registry.screening.models import Explanation, RedFlag
from registry.screening.policy import ExposurePolicy, explain
from registry.screening.snapshot import Snapshot, Verdict


def _listed_in(snapshot: Snapshot, family: str, now: float) -> Callable[[str], frozenset[str]]:
    """Listed categories from the snapshot, looked up per address met: no database query, no pass over all."""

    def categories(address: str) -> frozenset[str]:
        v = snapshot.verdicts.get(f"{family}:{address}")
        if v is None or not v.hits:
            return frozenset()
        return frozenset(h.category for h in v.hits if h.valid_until is None or h.valid_until > now)

    return categories


def trace_paths(
    engine: Engine, snapshot: Snapshot, family: str, address: str, settings: ScoringSettings
) -> dict[str, dict[str, list[Path]]]:
    """Top paths per direction and category for one address: at most ``H`` batched queries per direction."""
    now = time.time()
    listed = _listed_in(snapshot, family, now)
    with read_only(engine).connect() as conn:
        nets = queries.family_networks(conn, family)
        licensed = {k.partition(":")[2] for k in queries.licensed_keys(conn) if k.startswith(family + ":")}
        out: dict[str, dict[str, list[Path]]] = {}
        if not nets:
            return {}

        def transfers(froms: Sequence[str], tos: Sequence[str]) -> list[tuple[Any, ...]]:
            return queries.edge_transfers(conn, settings, nets, froms, tos)

        for direction in ("incoming", "outgoing"):

            def edges(addrs: Sequence[str], d: str = direction) -> list[tuple[str, str, float]]:
                return queries.edge_sums(conn, settings, nets, addrs, d)

            found = trace(address, direction, edges, listed, licensed, settings, settings.scoring_max_hops)
            out[direction] = with_transactions(found, transfers)
    return out


def _paths_public(paths: list[Path]) -> list[PathPublic]:
    return [
        PathPublic(
            share=round(p.share, 6),
            hops=[
                HopPublic(
                    from_address=h.from_address,
                    to_address=h.to_address,
                    share=round(h.share, 6),
                    transactions=[
                        TxRef(
                            network=t.network,
                            tx_id=t.tx_id,
                            idx=t.idx,
                            asset=t.asset,
                            amount=t.amount,
                            block_time=t.block_time,
                        )
                        for t in h.transactions
                    ],
                )
                for h in p.hops
            ],
        )
        for p in paths
    ]


def address_view(
    engine: Engine,
    snapshot: Snapshot,
    chain: str,
    family: str,
    address: str,
    settings: ScoringSettings,
    policy_version: str,
) -> AddressView:
    v = snapshot.verdict(f"{family}:{address}", time.time())
    paths = trace_paths(engine, snapshot, family, address, settings) if _has_exposure(v) else {}
    with session_scope(engine) as s:
        listings = [
            ListingRef(
                id=row.id or 0,
                chain=row.chain,
                category=row.category,
                confidence=row.confidence,
                source=row.source,
                status=row.status,
                legal_basis=row.legal_basis,
                listed_since=row.listed_since,
                valid_until=row.valid_until,
                case_id=row.case_id,
                case_number=number,
                case_title=title,
            )
            for row, number, title in queries.listings_with_cases(s, family, address)
        ]
    exposure = ExposuresPublic(
        incoming=[
            ExposureWithPaths(**e, paths=_paths_public(paths.get("incoming", {}).get(e["category"], [])))
            for e in v.exposure.get("incoming", [])
        ],
        outgoing=[
            ExposureWithPaths(**e, paths=_paths_public(paths.get("outgoing", {}).get(e["category"], [])))
            for e in v.exposure.get("outgoing", [])
        ],
    )
    return AddressView(
        address=address,
        chain=chain,
        family=family,
        risk_score=v.risk_score,
        risk_level=v.risk_level,
        action=v.action,
        direct=[DirectHitPublic(**d) for d in v.direct],
        listings=listings,
        exposure=exposure,
        red_flags=[RedFlag.model_validate(f) for f in v.red_flags],
        policy_version=policy_version,
        registry_version=snapshot.version_str,
    )


def restrict_to_cases(full: AddressView, visible: set[int]) -> AddressView:
    """An investigator's view: listings of cases they are not a member of keep their category and status (any
    bank sees as much) but lose the case reference and legal basis."""

    def cut(ref: ListingRef) -> ListingRef:
        if ref.case_id is None or ref.case_id in visible:
            return ref
        return ref.model_copy(
            update={"case_id": None, "case_number": None, "case_title": None, "legal_basis": "", "restricted": True}
        )

    return full.model_copy(update={"listings": [cut(x) for x in full.listings]})


def bank_view(full: AddressView) -> AddressForBank:
    """The reduced explanation is derived from the full one, field by field into a type without case data."""

    def reduce(items: list[ExposureWithPaths]) -> list[ExposureForBank]:
        return [
            ExposureForBank(
                category=e.category,
                share=e.share,
                min_hops=e.min_hops,
                paths=[PathForBank(share=p.share, hop_shares=[h.share for h in p.hops]) for p in e.paths],
            )
            for e in items
        ]

    return AddressForBank(
        address=full.address,
        chain=full.chain,
        risk_score=full.risk_score,
        risk_level=full.risk_level,
        action=full.action,
        direct=full.direct,
        exposure=ExposuresForBank(incoming=reduce(full.exposure.incoming), outgoing=reduce(full.exposure.outgoing)),
        red_flags=full.red_flags,
        policy_version=full.policy_version,
        registry_version=full.registry_version,
        explanation=full.explanation,
        explanation_text=full.explanation_text,
    )


def with_explanation(view: AddressView, policy: ExposurePolicy) -> AddressView:
    """The view with the rule behind its level (``?explain=true``), as an object and in words; it names categories,
    shares and hops only, so the bank's reduced view carries it unchanged."""
    why = explain(
        view.risk_score,
        view.risk_level,
        view.action,
        [d.model_dump() for d in view.direct],
        {
            "incoming": [e.model_dump(exclude={"paths"}) for e in view.exposure.incoming],
            "outgoing": [e.model_dump(exclude={"paths"}) for e in view.exposure.outgoing],
        },
        policy,
        [f.model_dump() for f in view.red_flags],
    )
    return view.model_copy(update={"explanation": Explanation(**why), "explanation_text": why["text"]})


def _has_exposure(v: Verdict) -> bool:
    return bool(v.exposure.get("incoming") or v.exposure.get("outgoing"))
