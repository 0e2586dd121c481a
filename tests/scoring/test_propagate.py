"""The propagation core on hand-computed graphs, and its properties on random ones (no database)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.scoring import propagate as propagate_module
from registry.scoring.propagate import Exposure, Graph, Seeds, propagate

Edge = tuple[str, str, float]


def run(
    edges: Sequence[Edge],
    listed: dict[str, str | list[str]],
    *,
    licensed: tuple[str, ...] = (),
    direction: str = "incoming",
    hops: int = 4,
    method: str = "haircut",
) -> dict[str, dict[str, tuple[float, int]]]:
    """Exposure by node name and category: ``{"A": {"fraud": (share, min_hops)}}`` for exposed pairs only."""
    names = sorted({n for e in edges for n in e[:2]} | set(listed) | set(licensed))
    ix = {n: i for i, n in enumerate(names)}
    src = np.array([ix[e[0]] for e in edges], dtype=np.int64)
    dst = np.array([ix[e[1]] for e in edges], dtype=np.int64)
    val = np.array([e[2] for e in edges], dtype=np.float64)
    graph = Graph.from_edges(len(names), src, dst, val)
    pairs = [(n, c) for n, cs in listed.items() for c in ([cs] if isinstance(cs, str) else cs)]
    cats = tuple(sorted({c for _, c in pairs}))
    blocked = np.zeros(len(names), dtype=bool)
    for n in [*listed, *licensed]:
        blocked[ix[n]] = True
    seeds = Seeds(
        cats,
        np.array([ix[n] for n, _ in pairs], dtype=np.int64),
        np.array([cats.index(c) for _, c in pairs], dtype=np.int64),
        blocked,
    )
    e = propagate(graph, seeds, direction, hops, method)  # type: ignore[arg-type]
    return _by_name(e, names, cats)


def _by_name(e: Exposure, names: list[str], cats: tuple[str, ...]) -> dict[str, dict[str, tuple[float, int]]]:
    share, hops = e.dense()
    out: dict[str, dict[str, tuple[float, int]]] = {}
    for i, n in enumerate(names):
        for j, c in enumerate(cats):
            if hops[i, j]:
                out.setdefault(n, {})[c] = (round(float(share[i, j]), 9), int(hops[i, j]))
    return out


def test_chain_reaches_h_hops_and_no_further() -> None:
    edges = [("L", "A", 10), ("A", "B", 10), ("B", "C", 10), ("C", "D", 10), ("D", "E", 10)]
    got = run(edges, {"L": "fraud"})
    assert got == {
        "A": {"fraud": (1.0, 1)},
        "B": {"fraud": (1.0, 2)},
        "C": {"fraud": (1.0, 3)},
        "D": {"fraud": (1.0, 4)},
    }
    assert "C" not in run(edges, {"L": "fraud"}, hops=2)


def test_chain_with_clean_money_mixed_in() -> None:
    got = run([("L", "A", 10), ("A", "B", 10), ("U", "B", 30), ("B", "C", 40)], {"L": "fraud"})
    assert got["A"]["fraud"] == (1.0, 1)
    assert got["B"]["fraud"] == (0.25, 2)
    assert got["C"]["fraud"] == (0.25, 3)
    assert "U" not in got


def test_diamond_weights_both_branches_by_value() -> None:
    edges = [("L", "A", 10), ("A", "C", 10), ("L", "B", 5), ("U", "B", 15), ("B", "C", 20)]
    got = run(edges, {"L": "fraud"})
    assert got["B"]["fraud"] == (0.25, 1)
    # C: 10 at share 1 via A, 20 at share 0.25 via B -> 15 / 30.
    assert got["C"]["fraud"] == (0.5, 2)


def test_cycle_is_bounded_by_h_and_stays_below_one() -> None:
    edges = [("L", "A", 10), ("A", "B", 10), ("B", "A", 10)]
    got = run(edges, {"L": "fraud"})
    # x1 = (A .5, B 0); x2 = (.5, .5); x3 = (.75, .5); x4 = (.75, .75)
    assert got["A"]["fraud"] == (0.75, 1)
    assert got["B"]["fraud"] == (0.75, 2)
    assert run(edges, {"L": "fraud"}, hops=3)["B"]["fraud"] == (0.5, 2)


def test_fan_in_keeps_categories_apart() -> None:
    got = run([("L1", "T", 10), ("L2", "T", 30), ("U", "T", 60)], {"L1": "fraud", "L2": "sanctions"})
    assert got["T"] == {"fraud": (0.1, 1), "sanctions": (0.3, 1)}


def test_fan_out_taints_every_receiver_fully() -> None:
    got = run([("L", "A", 10), ("L", "B", 30), ("L", "C", 0.5)], {"L": "ransomware"})
    assert {n: v["ransomware"] for n, v in got.items()} == {"A": (1.0, 1), "B": (1.0, 1), "C": (1.0, 1)}


def test_outgoing_is_share_of_what_was_sent() -> None:
    edges = [("X", "A", 40), ("A", "L", 10), ("A", "U", 30), ("Y", "Z", 5)]
    got = run(edges, {"L": "darknet_market"}, direction="outgoing")
    assert got == {"A": {"darknet_market": (0.25, 1)}, "X": {"darknet_market": (0.25, 2)}}


def test_peel_chain_keeps_full_taint_on_each_peel() -> None:
    edges = [
        ("L", "P1", 100),
        ("P1", "X1", 10),
        ("P1", "P2", 90),
        ("P2", "X2", 10),
        ("P2", "P3", 80),
        ("P3", "X3", 10),
        ("P3", "P4", 70),
        ("P4", "P5", 70),
    ]
    got = run(edges, {"L": "stolen_funds"})
    hops = {n: v["stolen_funds"] for n, v in got.items()}
    assert hops == {
        "P1": (1.0, 1),
        "X1": (1.0, 2),
        "P2": (1.0, 2),
        "X2": (1.0, 3),
        "P3": (1.0, 3),
        "X3": (1.0, 4),
        "P4": (1.0, 4),
    }


def test_self_transfers_change_nothing() -> None:
    base = [("L", "A", 10), ("U", "A", 10), ("A", "B", 20)]
    with_self = [*base, ("A", "A", 1000), ("B", "B", 7), ("L", "L", 3)]
    assert run(base, {"L": "fraud"}) == run(with_self, {"L": "fraud"})
    assert run(with_self, {"L": "fraud"})["A"]["fraud"] == (0.5, 1)


def test_zero_value_transfers_do_not_taint() -> None:
    got = run([("L", "V", 0), ("U", "V", 10), ("L", "W", 0)], {"L": "fraud"})
    assert got == {}


def test_licensed_exchange_in_the_middle_stops_taint() -> None:
    edges = [("L", "EX", 10), ("U", "EX", 90), ("EX", "C", 10), ("C", "D", 10)]
    got = run(edges, {"L": "fraud"}, licensed=("EX",))
    assert got == {"EX": {"fraud": (0.1, 1)}}  # the exchange itself received it; nobody downstream


def test_listed_address_in_the_middle_is_a_source_not_a_conduit() -> None:
    got = run([("L1", "L2", 10), ("L2", "C", 10)], {"L1": "fraud", "L2": "sanctions"})
    assert got["C"] == {"sanctions": (1.0, 1)}
    assert got["L2"] == {"fraud": (1.0, 1)}


def test_poison_marks_any_path_fully() -> None:
    edges = [("L", "A", 1), ("U", "A", 99), ("A", "B", 100)]
    got = run(edges, {"L": "fraud"}, method="poison")
    assert got == {"A": {"fraud": (1.0, 1)}, "B": {"fraud": (1.0, 2)}}


def test_no_listings_no_exposure() -> None:
    assert run([("A", "B", 1)], {}) == {}


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, float]], dict[int, int], set[int], int]:
    n = draw(st.integers(2, 12))
    node = st.integers(0, n - 1)
    edges = draw(st.lists(st.tuples(node, node, st.sampled_from([0.0, 0.5, 1.0, 3.0, 10.0, 250.0])), max_size=30))
    listed = draw(st.dictionaries(node, st.integers(0, 1), max_size=3))
    licensed = draw(st.sets(node, max_size=2)) - set(listed)
    hops = draw(st.integers(1, 5))
    return n, edges, listed, licensed, hops


Dense = tuple[np.ndarray, np.ndarray]


def _exposure(
    n: int, edges: list[tuple[int, int, float]], listed: dict[int, int], licensed: set[int], hops: int, **kw: str
) -> tuple[Dense, Dense]:
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    val = np.array([e[2] for e in edges], dtype=np.float64)
    graph = Graph.from_edges(n, src, dst, val)
    blocked = np.zeros(n, dtype=bool)
    blocked[list(listed) + list(licensed)] = True
    seeds = Seeds(
        ("c0", "c1"), np.array(list(listed), dtype=np.int64), np.array(list(listed.values()), dtype=np.int64), blocked
    )
    method = kw.get("method", "haircut")
    return (
        propagate(graph, seeds, "incoming", hops, method).dense(),  # type: ignore[arg-type]
        propagate(graph, seeds, "outgoing", hops, method).dense(),  # type: ignore[arg-type]
    )


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_shares_in_unit_interval_and_hops_consistent(g: tuple[int, list, dict, set, int]) -> None:  # type: ignore[type-arg]
    for share, hops in _exposure(*g):
        assert np.all(share >= 0) and np.all(share <= 1)
        assert np.all((share > 0) == (hops > 0))
        assert np.all(hops <= g[4])


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_haircut_never_exceeds_poison(g: tuple[int, list, dict, set, int]) -> None:  # type: ignore[type-arg]
    for h, p in zip(_exposure(*g), _exposure(*g, method="poison"), strict=True):
        assert np.all(h[0] <= p[0] + 1e-12)
        assert np.array_equal(h[1], p[1])


@settings(max_examples=80, deadline=None)
@given(graphs(), st.floats(0.5, 1e6))
def test_unrelated_transfer_changes_no_one_else(g: tuple[int, list, dict, set, int], value: float) -> None:  # type: ignore[type-arg]
    n, edges, listed, licensed, hops = g
    before = _exposure(n, edges, listed, licensed, hops)
    after = _exposure(n + 2, [*edges, (n, n + 1, value)], listed, licensed, hops)
    for b, a in zip(before, after, strict=True):
        assert np.allclose(a[0][:n], b[0]) and np.array_equal(a[1][:n], b[1])
        assert not a[0][n:].any()


@settings(max_examples=80, deadline=None)
@given(graphs())
def test_h1_equals_direct_counterparty_exposure(g: tuple[int, list, dict, set, int]) -> None:  # type: ignore[type-arg]
    n, edges, listed, licensed, _ = g
    incoming, _out = _exposure(n, edges, listed, licensed, 1)
    received = np.zeros(n)
    from_listed = np.zeros((n, 2))
    for u, v, w in edges:
        if u == v or w <= 0:
            continue
        received[v] += w
        if u in listed:
            from_listed[v, listed[u]] += w
    expected = np.divide(from_listed, received[:, None], out=np.zeros_like(from_listed), where=received[:, None] > 0)
    assert np.allclose(incoming[0], expected)


@pytest.mark.parametrize("method", ["haircut", "poison"])
def test_more_hops_never_lowers_exposure(method: str) -> None:
    edges = [("L", "A", 3), ("A", "B", 2), ("U", "B", 2), ("B", "A", 1), ("B", "C", 4)]
    prev: dict[str, dict[str, tuple[float, int]]] = {}
    for h in range(1, 6):
        got = run(edges, {"L": "fraud"}, hops=h, method=method)
        for node, cats in prev.items():
            assert got[node]["fraud"][0] >= cats["fraud"][0] - 1e-12
        prev = got


@settings(max_examples=40, deadline=None)
@given(graphs(), st.sampled_from(["haircut", "poison"]))
def test_dense_fallback_gives_the_same_result(g: tuple[int, list, dict, set, int], method: str) -> None:  # type: ignore[type-arg]
    sparse = _exposure(*g, method=method)
    old = propagate_module.DENSE_FROM
    propagate_module.DENSE_FROM = -1.0  # switch to dense products after the first hop
    try:
        dense = _exposure(*g, method=method)
    finally:
        propagate_module.DENSE_FROM = old
    for a, b in zip(sparse, dense, strict=True):
        assert np.allclose(a[0], b[0]) and np.array_equal(a[1], b[1])
