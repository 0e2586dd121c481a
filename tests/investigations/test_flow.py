"""The trace is the scoring's haircut: on random graphs (cycles, listed and licensed addresses), the forward shares
reaching listed addresses add up to the origin's outgoing exposure as the scoring's propagation computes it over
the whole graph, and the backward ones to its incoming exposure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from registry.investigations.flow import TraceDirection, follow
from registry.scoring.propagate import Graph, Seeds, propagate


@pytest.mark.parametrize("seed", range(12))
def test_trace_shares_sum_to_the_scorings_exposure(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, hops = int(rng.integers(6, 25)), int(rng.integers(10, 60)), int(rng.integers(1, 5))
    src, dst, val = rng.integers(0, n, m), rng.integers(0, n, m), rng.lognormal(0, 1, m)
    listed = set(rng.choice(n, size=max(1, n // 5), replace=False).tolist())
    licensed = {int(rng.choice([i for i in range(n) if i not in listed]))}
    blocked = np.zeros(n, dtype=bool)
    blocked[list(listed | licensed)] = True
    graph = Graph.from_edges(n, src, dst, val)
    seeds = Seeds(("c",), np.array(sorted(listed)), np.zeros(len(listed), dtype=np.int64), blocked)
    exposure = {
        "forward": propagate(graph, seeds, "outgoing", hops).share[0],
        "backward": propagate(graph, seeds, "incoming", hops).share[0],
    }
    w = graph.weights.tocoo()
    edges = list(zip(w.row.tolist(), w.col.tolist(), w.data.tolist(), strict=True))
    for origin in range(n):
        for direction in ("forward", "backward"):

            def fetch(addresses: Sequence[str], d: TraceDirection = direction) -> list[tuple[str, str, float, int]]:
                asked = {int(a) for a in addresses}
                return [(str(u), str(v), x, 1) for u, v, x in edges if (u if d == "forward" else v) in asked]

            flow = follow(
                str(origin), direction, fetch, lambda a: int(a) in listed | licensed, hops, expand_floor=0, frontier=n
            )
            reached = sum(float(s) for a, s in zip(flow.names[1:], flow.share[1:], strict=True) if int(a) in listed)
            back = flow.returned if origin in listed else 0.0  # a listed origin is a destination of its own money
            assert reached + back == pytest.approx(exposure[direction][origin], abs=1e-9), (origin, direction)
