"""Follow the money: counterparties, traces, paths, "where did it go", and listing what was found in one action.

Everything an address is shown with comes from where the rest of the registry keeps it: listed categories and the
risk verdict from the screening snapshot (what banks see right now, no query), entities and licensed services from
the database (one query per answer), amounts in human units from the asset table. The money trail is the
scoring's haircut (``flow.py``) read through the scoring's queries, so a share here is a share there.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from chains.addresses import EVM_NETWORKS, AddressError, normalize
from chains.types import is_unknown_time
from registry.auth.service import Principal
from registry.cases import service as cases
from registry.cases.checks import CheckedListing, check_listing
from registry.cases.models import ListingCreate, ListingPublic
from registry.cases.tables import Listing
from registry.db.engine import read_only
from registry.errors import Conflict, InvalidAddress, InvalidInput
from registry.investigations import queries
from registry.investigations.flow import Flow, TraceDirection, follow
from registry.investigations.models import (
    Amount,
    CandidatesCreate,
    Counterparties,
    Counterparty,
    Destination,
    Destinations,
    EntityRef,
    ListingSummary,
    PathHop,
    PathOut,
    Paths,
    PathTx,
    Position,
    Risk,
    Trace,
    TraceEdge,
    TraceNode,
)
from registry.investigations.units import amount, position
from registry.scoring import queries as scoring_queries
from registry.scoring.paths import Path, trace, with_transactions
from registry.scoring.settings import ScoringSettings
from registry.scoring.valuation import asset_entry, asset_table, configured_prices, unit_prices, unknown_unit_price
from registry.screening.snapshot import Snapshot
from registry.taxonomy.categories import CATEGORIES, CONFIDENCE_LEVELS

FRONTIER = 500
"""Addresses followed further per hop at most (those carrying the largest shares): a hop costs at most this many
addresses' counterparts, whatever the graph."""

EXPAND_FRACTION = 0.1
"""An address is followed further when its share is at least this fraction of the ``min_share`` asked for: less
than that can only add crumbs below what is shown."""

DESTINATIONS_MIN_SHARE = 0.001
"""Shares below this are not ranked as destinations (0.1 % of the outflow)."""


@dataclass(frozen=True)
class Subject:
    """A validated address: the network asked for, its address space, the normalised address."""

    chain: str
    family: str
    address: str


def subject(chain: str, address: str, *, name: str = "address", where: str = "path") -> Subject:
    """Validated as ``GET /v1/addresses/{chain}/{address}`` validates it: a clear 422 naming the reason (``chain``
    for an unknown chain, ``checksum``, ``length``, ``network`` …)."""
    try:
        n = normalize(address, chain)
    except AddressError as e:
        raise InvalidAddress(e.message, details={"in": where, "field": name, "reason": e.reason}) from None
    return Subject(n.chain, n.family, n.address)


@dataclass
class Lookup:
    """What every address is shown with: listings and risk from the snapshot, entities and licensing from one
    query for all the addresses of an answer."""

    snapshot: Snapshot
    family: str
    licensed: set[str]
    now: float = field(default_factory=time.time)
    entities: dict[str, queries.EntityRow] = field(default_factory=dict)

    def load_entities(self, conn: Connection, addresses: Sequence[str]) -> None:
        self.entities = queries.entities_of(conn, self.family, addresses)

    def listed(self, address: str) -> list[str]:
        v = self.snapshot.verdict(f"{self.family}:{address}", self.now)
        return sorted({h.category for h in v.hits})

    def stops(self, address: str) -> bool:
        """The trail stops here, as taint does in the scoring: a listed address or a licensed service. Called for
        every address a trace meets, so the common case (no verdict at all) is one dict lookup."""
        if address in self.licensed:
            return True
        key = f"{self.family}:{address}"
        return key in self.snapshot.verdicts and bool(self.snapshot.verdict(key, self.now).hits)

    def info(self, address: str) -> dict[str, Any]:
        v = self.snapshot.verdict(f"{self.family}:{address}", self.now)
        e = self.entities.get(address)
        return {
            "address": address,
            "listed": sorted({h.category for h in v.hits}),
            "licensed": address in self.licensed or (e is not None and e.licensed),
            "exposed": bool(v.exposure.get("incoming") or v.exposure.get("outgoing")),
            "entity": None if e is None else EntityRef(id=e.id, name=e.name, kind=e.kind, licensed=e.licensed),
            "risk": Risk(score=v.risk_score, level=v.risk_level, action=v.action),
        }


def networks(family: str) -> list[str]:
    """The networks whose transfers are in the address space ``family``: every EVM network for ``evm`` (one key
    controls an address on all of them, as the scoring's graph has it), else the chain itself. Named, not read
    from the table: ``SELECT DISTINCT network`` scans every transfer (tens of ms at a million on PostgreSQL), and a
    network without transfers costs one empty index probe."""
    return sorted(EVM_NETWORKS | {"evm"}) if family == "evm" else [family]


def lookup(conn: Connection, snapshot: Snapshot, family: str) -> Lookup:
    """What the addresses of one answer are shown with (licensed services read once per answer)."""
    prefix = family + ":"
    licensed = {k[len(prefix) :] for k in scoring_queries.licensed_keys(conn) if k.startswith(prefix)}
    return Lookup(snapshot, family, licensed)


# Counterparties ----------------------------------------------------------------------------------------------------


def _cursor(offset: int, shape: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset, "s": shape})).decode().rstrip("=")


def _offset(after: str | None, shape: str) -> int:
    """Pages are offsets into the aggregate, in an opaque cursor bound to the sort it was made for. Each page
    aggregates anew (the database sorts a grouped result, there is no index to seek in), so an offset costs no
    more than a key would, and it survives null times."""
    if not after:
        return 0
    try:
        data = orjson.loads(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)))
        offset, made_for = int(data["o"]), str(data["s"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidInput(
            "after is not a cursor this API gave out: pass the 'next' of the previous page",
            details={"in": "query", "field": "after", "reason": "cursor"},
        ) from None
    if made_for != shape or offset < 0:
        raise InvalidInput(
            "this cursor was made for another direction or sort: start again without after",
            details={"in": "query", "field": "after", "reason": "cursor_mismatch"},
        )
    return offset


def counterparties(
    engine: Engine,
    snapshot: Snapshot,
    settings: ScoringSettings,
    who: Subject,
    *,
    direction: str,
    sort: str,
    order: str,
    limit: int,
    after: str | None,
) -> Counterparties:
    """Per counterparty and direction: amounts per asset (exact, human units), total value, count, first and last
    seen, its listing, risk and entity. The database groups, prices, sorts and cuts the page (one statement);
    only the page is enriched."""
    shape = f"{direction}|{sort}|{order}"
    offset = _offset(after, shape)
    table = asset_table(settings)
    with read_only(engine).connect() as conn:
        total, page = queries.counterparty_page(
            conn,
            networks(who.family),
            who.address,
            ("in", "out") if direction == "both" else (direction,),
            configured_prices(settings),
            unknown_unit_price(settings),
            sort=sort,
            descending=order == "desc",
            limit=limit,
            offset=offset,
        )
        # Licensed services are known here from their entity (loaded for the page): no need to read them all.
        look = Lookup(snapshot, who.family, set())
        look.load_entities(conn, [c.address for c in page])
    items = []
    for c in page:
        info = look.info(c.address)
        items.append(
            Counterparty(
                address=c.address,
                direction=c.direction,
                amounts=[
                    Amount(**amount(a.network, a.asset, a.raw, asset_entry(table, a.network, a.asset), 0.0, a.value))
                    for a in c.assets
                ],
                value=c.value,
                transfers=c.transfers,
                first_seen=c.first_seen,
                last_seen=c.last_seen,
                listing=ListingSummary(categories=info["listed"], status="active") if info["listed"] else None,
                risk=info["risk"],
                entity=info["entity"],
            )
        )
    return Counterparties(
        address=who.address,
        chain=who.chain,
        items=items,
        next=_cursor(offset + limit, shape) if offset + limit < total else None,
        total=total,
    )


# Traces ------------------------------------------------------------------------------------------------------------


def _follow(
    conn: Connection,
    look: Lookup,
    settings: ScoringSettings,
    nets: Sequence[str],
    who: Subject,
    direction: TraceDirection,
    hops: int,
    min_share: float,
) -> Flow:
    scoring_direction = "outgoing" if direction == "forward" else "incoming"

    def fetch(addresses: Sequence[str]) -> list[tuple[str, str, float, int]]:
        return scoring_queries.edge_stats(conn, settings, nets, addresses, scoring_direction)

    return follow(
        who.address,
        direction,
        fetch,
        look.stops,
        hops,
        expand_floor=min_share * EXPAND_FRACTION,
        frontier=FRONTIER,
    )


def trace_address(
    engine: Engine,
    snapshot: Snapshot,
    settings: ScoringSettings,
    who: Subject,
    *,
    direction: TraceDirection,
    hops: int,
    min_share: float,
    limit: int,
) -> Trace:
    """The addresses the money reached (forward) or came from (backward) within ``hops``, with the scoring's
    shares, and the edges between them: what a graph draws. The origin is the first node (hops 0, share 1)."""
    with read_only(engine).connect() as conn:
        look = lookup(conn, snapshot, who.family)
        flow = _follow(conn, look, settings, networks(who.family), who, direction, hops, min_share)
        reached = [i for i in _ranked(flow, min_share) if i != 0]
        truncated = flow.truncated or len(reached) > limit - 1
        kept = [0, *reached[: max(0, limit - 1)]]
        look.load_entities(conn, [flow.names[i] for i in kept])
    nodes = [
        TraceNode(
            **look.info(flow.names[i]),
            hops=int(flow.hops[i]),
            share=round(float(flow.share[i]), 6),
            value=float(flow.share[i]) * flow.total,
            expanded=bool(flow.expanded[i]),
        )
        for i in kept
    ]
    keep = set(kept)
    edges = [
        TraceEdge(
            from_=flow.names[u],
            to=flow.names[v],
            value=float(flow.value[e]),
            share=round(float(flow.edge_share[e]), 6),
            hop_share=round(float(flow.hop_share[e]), 6),
            transfers=int(flow.transfers[e]),
        )
        for e, (u, v) in enumerate(zip(flow.src.tolist(), flow.dst.tolist(), strict=True))
        if u in keep and v in keep
    ]
    edges.sort(key=lambda x: (-x.share, x.from_, x.to))
    return Trace(
        address=who.address,
        chain=who.chain,
        direction=direction,
        hops=hops,
        total=flow.total,
        returned=round(flow.returned, 6),
        nodes=nodes,
        edges=edges,
        truncated=truncated,
    )


def _ranked(flow: Flow, min_share: float) -> list[int]:
    """Reached nodes with at least ``min_share``, largest share first (then address, for a stable order)."""
    idx = np.flatnonzero((flow.share >= min_share) & (flow.share > 0))
    order = sorted(idx.tolist(), key=lambda i: (-float(flow.share[i]), flow.names[i]))
    return order


def destinations(
    engine: Engine,
    snapshot: Snapshot,
    settings: ScoringSettings,
    who: Subject,
    *,
    hops: int,
    limit: int,
    min_share: float = DESTINATIONS_MIN_SHARE,
) -> Destinations:
    """Where the money went: the addresses that received the largest shares of the outflow within ``hops``,
    ranked. Licensed services and listed addresses are shown (marked), but are not candidates to list."""
    with read_only(engine).connect() as conn:
        look = lookup(conn, snapshot, who.family)
        flow = _follow(conn, look, settings, networks(who.family), who, "forward", hops, min_share)
        ranked = [i for i in _ranked(flow, min_share) if i != 0][:limit]
        look.load_entities(conn, [flow.names[i] for i in ranked])
    items = []
    for rank, i in enumerate(ranked, start=1):
        info = look.info(flow.names[i])
        items.append(
            Destination(
                **info,
                rank=rank,
                share=round(float(flow.share[i]), 6),
                value=float(flow.share[i]) * flow.total,
                hops=int(flow.hops[i]),
                candidate=not info["licensed"] and not info["listed"],
            )
        )
    return Destinations(address=who.address, chain=who.chain, hops=hops, total=flow.total, items=items)


# Paths -------------------------------------------------------------------------------------------------------------

_TARGET = "\x00target"
"""The pseudo-category the address searched for is found under (no real category has a NUL in it)."""


def find_paths(
    engine: Engine,
    snapshot: Snapshot,
    settings: ScoringSettings,
    who: Subject,
    *,
    to: Subject | None,
    category: str | None,
    max_hops: int,
    limit: int,
) -> Paths:
    """The top paths from the address to another (money either way), or between it and the listed addresses of a
    category (their money reaching it, or its money reaching them): the scoring's path search (a beam, one grouped
    query per hop), stopping where taint stops. Each hop carries its largest transactions in human units."""
    if category is not None and category not in CATEGORIES:
        raise InvalidInput(
            f"unknown category {category!r}; see GET /v1/categories",
            details={"in": "query", "field": "category", "reason": "category"},
        )
    if to is not None and to.family != who.family:
        raise InvalidInput(
            f"{to.address} is a {to.family} address and {who.address} a {who.family} one: no money moves between them",
            details={"in": "query", "field": "to", "reason": "chain"},
        )
    beam = settings.model_copy(update={"scoring_paths_per_exposure": limit})
    table = asset_table(settings)
    found: list[tuple[str, Path]] = []
    with read_only(engine).connect() as conn:
        nets = networks(who.family)
        look = lookup(conn, snapshot, who.family)

        def listed(address: str) -> frozenset[str]:
            if to is not None and address == to.address:
                return frozenset({_TARGET})
            return frozenset(look.listed(address))

        def transfers(froms: Sequence[str], tos: Sequence[str]) -> list[tuple[Any, ...]]:
            return scoring_queries.edge_transfers(conn, settings, nets, froms, tos)

        wanted = _TARGET if to is not None else str(category)
        for direction in ("outgoing", "incoming"):

            def edges(addresses: Sequence[str], d: str = direction) -> list[tuple[str, str, float]]:
                return scoring_queries.edge_sums(conn, settings, nets, addresses, d)

            paths = trace(who.address, direction, edges, listed, look.licensed, beam, max_hops)
            kept = {wanted: paths.get(wanted, [])}
            found += [(direction, p) for p in with_transactions(kept, transfers)[wanted]]
        prices = unit_prices({(t.network, t.asset) for _, p in found for h in p.hops for t in h.transactions}, settings)
    found.sort(key=lambda x: -x[1].share)
    return Paths(
        address=who.address,
        chain=who.chain,
        paths=[
            PathOut(
                share=round(p.share, 6),
                direction=direction,
                category=None if to is not None else category,
                hops=[
                    PathHop(
                        from_=h.from_address,
                        to=h.to_address,
                        share=round(h.share, 6),
                        transactions=[
                            PathTx(
                                tx_id=t.tx_id,
                                block_time=_time(t.block_time),
                                position=Position(**position(t.network, t.idx)),
                                amount=Amount(
                                    **amount(
                                        t.network,
                                        t.asset,
                                        int(t.amount),
                                        asset_entry(table, t.network, t.asset),
                                        prices[(t.network, t.asset)],
                                    )
                                ),
                            )
                            for t in h.transactions
                        ],
                    )
                    for h in p.hops
                ],
            )
            for direction, p in found[:limit]
        ],
    )


def _time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if is_unknown_time(t) else t


# Candidates --------------------------------------------------------------------------------------------------------


def submit_candidates(session: Session, case_id: int, body: CandidatesCreate, who: Principal) -> list[ListingPublic]:
    """List what following the money found, in one action: pending listings under the case, submitted through the
    cases service (membership, validation, duplicates, audit per listing), all or nothing. They still need a
    second person's approval. Licensed services are refused: listing an exchange's wallet would block its
    customers."""
    case = cases.case_for(session, case_id, who)
    if body.category not in CATEGORIES:
        raise InvalidInput(f"unknown category {body.category!r}; see GET /v1/categories", details={"field": "category"})
    origin = subject(body.derived_from.chain, body.derived_from.address, name="derived_from.address", where="body")
    legal_basis = body.legal_basis or body.reason
    if len(legal_basis) > 500:
        raise InvalidInput(
            "the legal basis is at most 500 characters: send a shorter legal_basis (the reason can stay long)",
            details={"field": "legal_basis", "reason": "string_too_long"},
        )
    confidence = next(c.value for c in CONFIDENCE_LEVELS if c.name == body.confidence)
    note = (
        f"Candidate found by following the money from {origin.chain} {origin.address} "
        f"(confidence: {body.confidence}). {body.reason}"
    )[:5000]
    now = datetime.now(UTC)
    checked: list[CheckedListing] = []
    errors: list[dict[str, Any]] = []
    for i, address in enumerate(body.addresses):
        try:
            data = ListingCreate(
                address=address,
                chain=body.chain,
                category=body.category,
                confidence=confidence,
                legal_basis=legal_basis,
                evidence_note=note,
            )
            checked.append(check_listing(data, now))
        except InvalidInput as e:
            reason = e.details.get("reason", e.code) if isinstance(e.details, dict) else e.code
            errors.append({"field": f"addresses[{i}]", "value": address, "reason": reason, "message": e.message})
    if errors:
        raise InvalidAddress(
            f"{len(errors)} of the addresses are not valid {body.chain} addresses; nothing was listed",
            details={"errors": errors, "total": len(errors), "truncated": False},
        )
    seen: dict[str, int] = {}
    for i, c in enumerate(checked):
        if c.address in seen:
            raise InvalidInput(
                f"{c.address} is given twice (addresses[{seen[c.address]}] and addresses[{i}]); nothing was listed",
                details={"field": f"addresses[{i}]", "reason": "duplicate"},
            )
        seen[c.address] = i
    licensed = scoring_queries.licensed_keys(session.connection()) & {f"{c.family}:{c.address}" for c in checked}
    if licensed:
        raise Conflict(
            f"{len(licensed)} address(es) belong to a licensed service and are not candidates; nothing was listed",
            details={"duplicates": sorted(k.partition(":")[2] for k in licensed), "reason": "licensed_service"},
            code="licensed_entity",
        )
    ids = cases.add_listings(session, case, checked, who)
    session.commit()
    rows = [session.get(Listing, i) for i in ids]
    return cases.public_listings(session, [r for r in rows if r is not None])
