"""Following the money from one address: the scoring's haircut, run from a single origin over the part of the graph
fetched hop by hop. No database here: the edges come from a function (one grouped query per hop over the whole
frontier, ``registry.scoring.queries.edge_stats``, priced and filtered exactly as the scoring reads transfers).

Forward, the share of a node ``v`` is the part of the origin's outflow that reaches it within ``H`` hops: the sum,
over every walk origin → … → v, of the product of each sender's share of its own outflow along the walk; backward,
the same with receivers' inflows, against the money. This is the scoring's haircut sum with one seed, so it is
computed by the scoring's own code: ``propagate_matrix`` on a transition matrix built by ``transition`` from the
fetched edges, with the scoring's blocking (listed addresses and licensed services receive but pass nothing on;
the origin always starts). Summed over the addresses listed under a category, the forward shares are the
origin's outgoing exposure to it (the backward ones its incoming exposure), as long as nothing was pruned.

Bounded work: at most ``hops`` queries; after each, only the ``frontier`` addresses carrying the largest shares
(and at least ``expand_floor``) are followed further, so a hop costs at most ``frontier`` addresses' counterparts
however large the graph. A pruned address keeps the share that reached it; what it would have passed on is lost,
which is why a result says whether it was ``truncated``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from registry.scoring.propagate import Graph, Seeds, propagate_matrix, transition

TraceDirection = Literal["forward", "backward"]

FetchEdges = Callable[[Sequence[str]], Sequence[tuple[str, str, float, int]]]
"""``(from, to, total weight, transfers)`` for every counterpart of the given addresses: out of them (forward) or
into them (backward)."""


@dataclass(frozen=True)
class Flow:
    """The trace over the fetched subgraph; node 0 is the origin. Arrays are per node (``names``) or per edge."""

    names: list[str]
    share: NDArray[np.float64]
    hops: NDArray[np.int8]  # fewest hops with a positive share (0: the origin, or not reached)
    expanded: NDArray[np.bool_]
    src: NDArray[np.int64]  # edges in the direction the money moved
    dst: NDArray[np.int64]
    value: NDArray[np.float64]
    transfers: NDArray[np.int64]
    edge_share: NDArray[np.float64]  # share of the origin's total that moved along the edge
    hop_share: NDArray[np.float64]  # share of the sender's outflow (forward) or the receiver's inflow (backward)
    total: float  # the origin's outflow (forward) or inflow (backward)
    truncated: bool
    returned: float = 0.0  # share that came back to the origin (round trips; ``share[0]`` is 1, the start)


class _Subgraph:
    """The edges fetched so far, nodes numbered as they are met (dict factorisation, as ``registry.scoring.graph``
    does for the whole graph)."""

    def __init__(self, origin: str, stops: Callable[[str], bool]) -> None:
        self.index: dict[str, int] = {origin: 0}
        self.names: list[str] = [origin]
        self.blocked: list[bool] = [stops(origin)]
        self.stops = stops
        self.src: list[NDArray[np.int64]] = []
        self.dst: list[NDArray[np.int64]] = []
        self.val: list[NDArray[np.float64]] = []
        self.cnt: list[NDArray[np.int64]] = []

    def add(self, rows: Sequence[tuple[str, str, float, int]]) -> None:
        if not rows:
            return
        froms, tos, weights, counts = zip(*rows, strict=True)
        seen: dict[Any, None] = dict.fromkeys(froms)
        seen.update(dict.fromkeys(tos))
        new = list(seen.keys() - self.index.keys())
        self.index.update(zip(new, range(len(self.names), len(self.names) + len(new)), strict=True))
        self.names.extend(new)
        self.blocked.extend(map(self.stops, new))
        self.src.append(np.fromiter(map(self.index.__getitem__, froms), dtype=np.int64, count=len(rows)))
        self.dst.append(np.fromiter(map(self.index.__getitem__, tos), dtype=np.int64, count=len(rows)))
        self.val.append(np.asarray(weights, dtype=np.float64))
        self.cnt.append(np.asarray(counts, dtype=np.int64))

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
        if not self.src:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), empty
        return np.concatenate(self.src), np.concatenate(self.dst), np.concatenate(self.val), np.concatenate(self.cnt)

    def step_matrix(self, direction: TraceDirection) -> sp.csr_matrix:
        """``M[a, b]``: the share of ``a``'s outflow sent to ``b`` (forward), or of ``a``'s inflow received from
        ``b`` (backward). One hop of the trace is ``share @ M``: the transpose of the scoring's ``transition``."""
        src, dst, val, _ = self.arrays()
        graph = Graph.from_edges(len(self.names), src, dst, val)
        return sp.csr_matrix(transition(graph, "outgoing" if direction == "forward" else "incoming").T)

    def seeds(self) -> Seeds:
        return Seeds(
            ("origin",),
            np.zeros(1, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.asarray(self.blocked, dtype=bool),
        )


def follow(
    origin: str,
    direction: TraceDirection,
    fetch: FetchEdges,
    stops: Callable[[str], bool],
    hops: int,
    *,
    expand_floor: float,
    frontier: int,
) -> Flow:
    """Trace ``hops`` hops from ``origin``; ``stops(address)`` is true where the money trail stops (listed,
    licensed). ``expand_floor`` and ``frontier`` bound each hop (module docstring)."""
    g = _Subgraph(origin, stops)
    expanded = {0}
    todo = [origin]
    truncated = False
    for hop in range(1, hops + 1):
        g.add(fetch(todo))
        if hop == hops:
            break
        share = propagate_matrix(g.step_matrix(direction), g.seeds(), hop).share[0]
        mask = share >= max(expand_floor, np.finfo(np.float64).tiny)
        mask &= ~np.asarray(g.blocked, dtype=bool)
        mask[list(expanded)] = False
        wanted = np.flatnonzero(mask)
        if len(wanted) > frontier:
            truncated = True
            wanted = wanted[np.argpartition(-share[wanted], frontier - 1)[:frontier]]
        if len(wanted) == 0:
            break
        expanded.update(wanted.tolist())
        todo = [g.names[i] for i in wanted.tolist()]
    return _result(g, direction, hops, expanded, truncated)


def _result(g: _Subgraph, direction: TraceDirection, hops: int, expanded: set[int], truncated: bool) -> Flow:
    n = len(g.names)
    m = g.step_matrix(direction)
    seeds = g.seeds()
    final = propagate_matrix(m, seeds, hops)
    # What each node passes on: the share that reached it within hops - 1 (if taint passes through it), and the
    # origin's whole amount at hop 0. An edge carries that times its hop share; a node's share is what its edges
    # bring in.
    before = propagate_matrix(m, seeds, hops - 1).share[0] * ~seeds.blocked
    before[0] += 1.0
    src, dst, val, cnt = g.arrays()
    out_total = np.bincount(src, weights=val, minlength=n)
    in_total = np.bincount(dst, weights=val, minlength=n)
    if direction == "forward":
        hop_share = val / np.where(out_total[src] > 0, out_total[src], 1.0)
        carried = before[src]
        total = float(out_total[0])
    else:
        hop_share = val / np.where(in_total[dst] > 0, in_total[dst], 1.0)
        carried = before[dst]
        total = float(in_total[0])
    share = final.share[0].copy()
    returned = float(share[0])
    share[0] = 1.0
    hop_count = final.hops[0].copy()
    hop_count[0] = 0
    done = np.zeros(n, dtype=bool)
    done[list(expanded)] = True
    return Flow(
        g.names, share, hop_count, done, src, dst, val, cnt, carried * hop_share, hop_share, total, truncated, returned
    )
