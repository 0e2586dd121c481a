"""Evidence: the top contributing paths of one address's exposure, traced on demand.

A beam search from the address against the direction of the money (incoming) or with it (outgoing), one
batched query per hop, using the same rules as the scoring: value shares with the same prices and dust
threshold, no self-transfers, no passing through listed addresses or licensed services. The contribution of a
path is the product of the shares along it — exactly the term the haircut sum adds for that path — so the paths
explain the number; the beam bounds the work on hubs, which is why a path list may be shorter than the sum.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry.scoring.settings import ScoringSettings
from registry.scoring.valuation import unit_prices

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
    transactions: tuple[Tx, ...]


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


Fetch = Callable[[Sequence[str]], Sequence[tuple[Any, ...]]]
"""Transfers into (incoming) or out of (outgoing) the given addresses: (network, tx_id, idx, from, to, asset,
amount, value, block_time) rows."""


def _neighbours(
    rows: Sequence[tuple[Any, ...]], direction: str, settings: ScoringSettings
) -> dict[str, tuple[float, dict[str, tuple[float, list[Tx]]]]]:
    """Per frontier address: its total comparable value in that direction and the weight and txs per counterpart."""
    prices = unit_prices({(r[0], r[5]) for r in rows}, settings)
    out: dict[str, tuple[float, dict[str, tuple[float, list[Tx]]]]] = {}
    for network, tx_id, idx, frm, to, asset, amount, value, block_time in rows:
        if frm == to:
            continue
        w = float(value) * prices[(network, asset)]
        if w <= 0 or w < settings.scoring_dust_value:
            continue
        here, there = (to, frm) if direction == "incoming" else (frm, to)
        total, by = out.get(here, (0.0, {}))
        acc, txs = by.get(there, (0.0, []))
        when = block_time.isoformat() if hasattr(block_time, "isoformat") else str(block_time)
        txs.append(Tx(network, tx_id, int(idx), asset, str(amount), when, w))
        by[there] = (acc + w, txs)
        out[here] = (total + w, by)
    return out


def trace(
    address: str,
    direction: str,
    fetch: Fetch,
    listed: Mapping[str, frozenset[str]],
    licensed: frozenset[str] | set[str],
    settings: ScoringSettings,
    max_hops: int,
) -> dict[str, list[Path]]:
    """Top paths per category, best first. ``listed`` maps address -> categories; both sets are family-local."""
    partials = [_Partial(1.0, (address,))]
    found: dict[str, list[Path]] = {}
    for _ in range(max_hops):
        if not partials:
            break
        frontier = sorted({p.nodes[-1] for p in partials})
        neighbours = _neighbours(fetch(frontier), direction, settings)
        grown: list[_Partial] = []
        for p in partials:
            last = p.nodes[-1]
            total, by = neighbours.get(last, (0.0, {}))
            for other, (w, txs) in by.items():
                if other in p.nodes:
                    continue
                share = w / total
                top = tuple(sorted(txs, key=lambda t: -t.weight)[:TX_PER_HOP])
                hop = Hop(other, last, share, top) if direction == "incoming" else Hop(last, other, share, top)
                nxt = _Partial(p.share * share, (*p.nodes, other), (*p.hops, hop))
                cats = listed.get(other)
                if cats:
                    for c in cats:
                        found.setdefault(c, []).append(_finish(nxt, direction, c))
                elif other not in licensed:
                    grown.append(nxt)
        partials = heapq.nlargest(settings.scoring_path_beam, grown, key=lambda q: q.share)
    return {
        c: heapq.nlargest(settings.scoring_paths_per_exposure, ps, key=lambda q: q.share) for c, ps in found.items()
    }


def _finish(p: _Partial, direction: str, category: str) -> Path:
    hops = tuple(reversed(p.hops)) if direction == "incoming" else p.hops
    return Path(p.share, hops, category)
