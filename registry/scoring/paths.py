"""Evidence: the top contributing paths of one address's exposure, traced on demand.

A beam search from the address against the direction of the money (incoming) or with it (outgoing), one grouped
query per hop (one row per counterpart, however many transfers a hub has) through the scoring's own pricing, so the
shares are the scoring's shares: same prices and dust threshold, no self-transfers, no passing through listed
addresses or licensed services. The transactions of the hops kept are read at the end, in one query. The
contribution of a path is the product of the shares along it — exactly the term the haircut sum adds for that path —
so the paths explain the number; the beam bounds the work, which is why the listed paths may add up to less.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from registry.scoring.settings import ScoringSettings

TX_PER_HOP = 5


@dataclass(frozen=True, slots=True)
class Tx:
    network: str
    tx_id: str
    idx: int
    asset: str
    amount: str
    block_time: str
    weight: float


@dataclass(frozen=True, slots=True)
class Hop:
    from_address: str
    to_address: str
    share: float
    transactions: tuple[Tx, ...] = ()


@dataclass(frozen=True, slots=True)
class Path:
    share: float
    hops: tuple[Hop, ...]  # in the direction the money moved
    category: str = ""


@dataclass(slots=True)
class _Partial:
    share: float
    nodes: tuple[str, ...]  # the address first, then outward
    hops: tuple[Hop, ...] = field(default=())


FetchEdges = Callable[[Sequence[str]], Sequence[tuple[str, str, float]]]
"""``(from, to, total weight)`` for every counterpart of the given addresses (into them for incoming, out of them
for outgoing), priced and filtered like the scoring."""

FetchTransfers = Callable[[Sequence[str], Sequence[str]], Sequence[tuple[Any, ...]]]
"""Transfers from any of the first addresses to any of the second: ``(network, tx_id, idx, from, to, asset, amount,
weight, block_time)``."""


def _neighbours(rows: Sequence[tuple[str, str, float]], direction: str) -> dict[str, tuple[float, dict[str, float]]]:
    """Per frontier address: its total value in that direction and the value per counterpart."""
    out: dict[str, tuple[float, dict[str, float]]] = {}
    for frm, to, weight in rows:
        here, there = (to, frm) if direction == "incoming" else (frm, to)
        total, by = out.get(here, (0.0, {}))
        by[there] = by.get(there, 0.0) + float(weight)
        out[here] = (total + float(weight), by)
    return out


def trace(
    address: str,
    direction: str,
    fetch: FetchEdges,
    listed: Callable[[str], frozenset[str]],
    licensed: frozenset[str] | set[str],
    settings: ScoringSettings,
    max_hops: int,
) -> dict[str, list[Path]]:
    """Top paths per category, best first, without transactions (see ``with_transactions``).

    ``listed`` gives an address's live listed categories (empty if none); addresses are family-local.
    """
    partials = [_Partial(1.0, (address,))]
    found: dict[str, list[Path]] = {}
    for _ in range(max_hops):
        if not partials:
            break
        neighbours = _neighbours(fetch(sorted({p.nodes[-1] for p in partials})), direction)
        grown: list[_Partial] = []
        for p in partials:
            last = p.nodes[-1]
            total, by = neighbours.get(last, (0.0, {}))
            for other, w in by.items():
                if other in p.nodes or total <= 0:
                    continue
                share = w / total
                hop = Hop(other, last, share) if direction == "incoming" else Hop(last, other, share)
                nxt = _Partial(p.share * share, (*p.nodes, other), (*p.hops, hop))
                cats = listed(other)
                if cats:
                    for c in cats:
                        found.setdefault(c, []).append(_finish(nxt, direction, c))
                elif other not in licensed:
                    grown.append(nxt)
        partials = heapq.nlargest(settings.scoring_path_beam, grown, key=lambda q: q.share)
    return {
        c: heapq.nlargest(settings.scoring_paths_per_exposure, ps, key=lambda q: q.share) for c, ps in found.items()
    }


def with_transactions(paths: dict[str, list[Path]], fetch: FetchTransfers) -> dict[str, list[Path]]:
    """Attach each hop's largest transfers, with one query for all the hops of all the paths kept."""
    edges = {(h.from_address, h.to_address) for ps in paths.values() for p in ps for h in p.hops}
    if not edges:
        return paths
    by_edge: dict[tuple[str, str], list[Tx]] = {}
    rows = fetch(sorted({e[0] for e in edges}), sorted({e[1] for e in edges}))
    for network, tx_id, idx, frm, to, asset, amount, weight, block_time in rows:
        if (frm, to) in edges:
            tx = Tx(str(network), str(tx_id), int(idx), str(asset), str(amount), _iso(block_time), float(weight))
            by_edge.setdefault((frm, to), []).append(tx)
    for txs in by_edge.values():
        txs.sort(key=lambda t: (-t.weight, t.tx_id, t.idx))
    return {
        c: [
            Path(
                p.share,
                tuple(
                    Hop(
                        h.from_address,
                        h.to_address,
                        h.share,
                        tuple(by_edge.get((h.from_address, h.to_address), [])[:TX_PER_HOP]),
                    )
                    for h in p.hops
                ),
                p.category,
            )
            for p in ps
        ]
        for c, ps in paths.items()
    }


def _iso(v: Any) -> str:
    if isinstance(v, str):
        v = datetime.fromisoformat(v)
    if isinstance(v, datetime):
        v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return str(v.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(v)


def _finish(p: _Partial, direction: str, category: str) -> Path:
    hops = tuple(reversed(p.hops)) if direction == "incoming" else p.hops
    return Path(p.share, hops, category)
