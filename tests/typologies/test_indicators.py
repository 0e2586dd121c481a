"""Indicator values on small hand-built graphs against numbers computed by hand, and the vectorised code against a
plain per-address loop on random graphs."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.typologies.indicators import Params, Transfers, compute, percentile_ranks

H = 3600.0


def graph(n: int, edges: list[tuple[int, int, float, float]], amounts: list[float] | None = None) -> Transfers:
    """``(src, dst, value, hour)`` rows; the amount in the asset's unit is the value unless given."""
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    val = np.array([e[2] for e in edges], dtype=np.float64)
    t = np.array([e[3] * H for e in edges], dtype=np.float64)
    amt = val.copy() if amounts is None else np.array(amounts, dtype=np.float64)
    return Transfers(n, src, dst, val, t, amt)


def test_a_mop_by_hand() -> None:
    # 0..4 pay the mop (5) 100, 200, 300, 400, 500 at hours 0..4; the mop sends 1,200 to 6 at hour 5 and 270 to 7
    # at hour 9; 0 pays it again (a repeat sender) 30 at hour 6.
    edges = [(i, 5, 100.0 * (i + 1), float(i)) for i in range(5)]
    edges += [(5, 6, 1200.0, 5.0), (0, 5, 30.0, 6.0), (5, 7, 270.0, 9.0)]
    ind = compute(graph(8, edges))
    v = {k: float(x[5]) for k, x in ind.values.items()}
    assert v["received"] == 1530 and v["sent"] == 1470
    assert v["transfers_in"] == 6 and v["transfers_out"] == 2
    assert v["senders"] == 5 and v["receivers"] == 2
    assert v["pass_through"] == pytest.approx(1470 / 1530)
    # FIFO: the 1,200 outflow's middle (600) lies in the third receipt (cumulative 100, 300, 600: hour 2) -> 3 h;
    # the 270's middle (1,335) lies in the fifth (cumulative 1,000, 1,500: hour 4) -> 5 h. Weighted by value:
    assert v["dwell_hours"] == pytest.approx((1200 * 3 + 270 * 5) / 1470)
    assert v["top_sink_share"] == pytest.approx(1200 / 1470)
    assert v["sink_senders"] == 1  # node 6 has one sender, the mop
    assert v["fan_ratio"] == pytest.approx(5 / 2)
    # 0 sent twice (100 + 30): the one-off part is 200 + 300 + 400 + 500 of 1,530.
    assert v["one_off_share"] == pytest.approx(1400 / 1530)
    assert v["peel_chain_length"] == 0  # five senders: not a peel hop
    assert int(ind.top_sink[5]) == 6 and int(ind.top_sink[6]) == -1
    assert ind.percentile("senders", np.array([5]))[0] == 100 - 100 / 8 / 2  # the top of 8 nodes, alone
    assert math.isnan(ind["pass_through"][6]) is False and math.isnan(ind["top_sink_share"][6])  # 6 sent nothing


def test_outflow_older_than_the_receipts_is_not_a_measured_dwell() -> None:
    # 1 sends 100 at hour 0 to 2 before 2 has received anything (a balance from before the data), then 0 pays 2
    # 100 at hour 5 and 2 sends 100 at hour 7: only the second outflow is measured (2 h).
    ind = compute(graph(3, [(2, 1, 100.0, 0.0), (0, 2, 100.0, 5.0), (2, 1, 100.0, 7.0)]))
    # Outflow 1: middle 50 -> first receipt (hour 5), sent at 0: negative, left out. Outflow 2: middle 150 exceeds
    # the 100 received: not covered, left out too. So nothing is measured.
    assert math.isnan(ind["dwell_hours"][2])
    ind = compute(graph(3, [(0, 2, 100.0, 5.0), (2, 1, 100.0, 7.0), (0, 2, 50.0, 9.0), (2, 1, 40.0, 10.0)]))
    # 100 at 7 (middle 50 -> receipt at 5: 2 h); 40 at 10 (middle 120 -> receipt at 9: 1 h).
    assert ind["dwell_hours"][2] == pytest.approx((100 * 2 + 40 * 1) / 140)


def test_peel_chain_length_counts_consecutive_hops() -> None:
    # 0 -> 1 -> 2 -> 3 -> 4 -> 5, each passing 90 % on and peeling 10 % to 9 (1..4 are hops; 5 sends all to 9).
    edges = [(0, 1, 1000.0, 0.0)]
    amount = 1000.0
    for hop in range(1, 5):
        edges += [(hop, hop + 1, amount * 0.9, float(hop)), (hop, 9, amount * 0.1, float(hop))]
        amount *= 0.9
    edges.append((5, 9, amount, 6.0))
    # A lone peel-like address elsewhere: 10 -> 11 -> (12: 80 %, 13: 20 %), 12 is no hop.
    edges += [(10, 11, 500.0, 0.0), (11, 12, 400.0, 1.0), (11, 13, 100.0, 1.0)]
    ind = compute(graph(14, edges))
    assert ind["peel_chain_length"][[1, 2, 3, 4]].tolist() == [4, 4, 4, 4]
    assert ind["peel_chain_length"][[0, 5, 9, 12]].tolist() == [0, 0, 0, 0]
    assert ind["peel_chain_length"][11] == 1


def test_round_near_threshold_and_sink_ownership() -> None:
    # Node 0 sends 950 (near the 1,000 threshold, two significant digits: round), 999.5 (near, not round) and
    # 1,234.56 (neither) to the exchanger 1, the licensed 2 and the unknown 3.
    edges = [(0, 1, 950.0, 0.0), (0, 2, 999.5, 1.0), (0, 3, 1234.56, 2.0)]
    exchanger = np.array([False, True, False, False])
    licensed = np.array([False, False, True, False])
    ind = compute(graph(4, edges), exchanger=exchanger, licensed=licensed, params=Params(thresholds=(1000.0,)))
    total = 950 + 999.5 + 1234.56
    assert ind["near_threshold_count"][0] == 2
    assert ind["near_threshold_share"][0] == pytest.approx(2 / 3)
    assert ind["round_share"][0] == pytest.approx(1 / 3)
    assert ind["exchanger_share"][0] == pytest.approx(950 / total)
    assert ind["unlicensed_sink_share"][0] == pytest.approx((950 + 1234.56) / total)
    # The receivers count the same transfers from their side.
    assert ind["near_threshold_count"][[1, 2, 3]].tolist() == [1, 1, 0]


def test_round_amounts_are_judged_in_the_assets_unit() -> None:
    # 0.5 ETH worth 1,500 is round (one significant digit in ETH); 0.4321 ETH worth 1,296.3 is not; 50 USDT is
    # round but under the 100 minimum value.
    ind = compute(graph(2, [(0, 1, 1500.0, 0.0), (0, 1, 1296.3, 1.0), (0, 1, 50.0, 2.0)], [0.5, 0.4321, 50.0]))
    assert ind["round_share"][0] == pytest.approx(1 / 3)


def test_percentiles_are_mid_ranks_over_the_defined_population() -> None:
    x = np.array([1.0, 2.0, 2.0, 4.0, np.nan, 9.0])
    population = np.array([True, True, True, True, True, False])
    pct = percentile_ranks(x, population)
    # Four defined values in the population: 1 -> (0+1)/2/4, 2 -> (1+3)/2/4, 4 -> (3+4)/2/4.
    assert pct[:4].tolist() == [12.5, 50.0, 50.0, 87.5]
    assert math.isnan(pct[4]) and math.isnan(pct[5])


def test_self_transfers_and_zero_values_are_ignored() -> None:
    ind = compute(graph(2, [(0, 0, 100.0, 0.0), (0, 1, 0.0, 1.0), (0, 1, 10.0, 2.0)]))
    assert ind["transfers_out"][0] == 1 and ind["sent"][0] == 10


def _naive(n: int, edges: list[tuple[int, int, float, float]]) -> dict[str, list[float]]:
    """The indicators the plain way: one address at a time, transfers in time order, FIFO by walking the queue."""
    out: dict[str, list[float]] = defaultdict(list)
    for a in range(n):
        ins = sorted((t, v, s) for s, d, v, t in edges if d == a and s != d and v > 0)
        outs = sorted((t, v, d) for s, d, v, t in edges if s == a and s != d and v > 0)
        received, sent = sum(v for _, v, _ in ins), sum(v for _, v, _ in outs)
        by_sink: dict[int, float] = defaultdict(float)
        for _, v, d in outs:
            by_sink[d] += v
        out["senders"].append(len({s for _, _, s in ins}))
        out["receivers"].append(len(by_sink))
        out["pass_through"].append(sent / received if received else math.nan)
        out["top_sink_share"].append(max(by_sink.values()) / sent if sent else math.nan)
        num = den = 0.0
        cum_out = 0.0
        for t, v, _ in outs:
            mid = cum_out + v / 2
            cum_out += v
            if received == 0 or mid > received:
                continue
            cum = 0.0
            for t_in, v_in, _ in ins:  # the first receipt whose cumulative value reaches the middle
                cum += v_in
                if cum >= mid - 1e-9:
                    if t - t_in >= 0:
                        num += v * (t - t_in)
                        den += v
                    break
        out["dwell_hours"].append(num / den / H if den else math.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 7),
            st.integers(0, 7),
            st.integers(1, 50).map(float),
            st.integers(0, 40).map(lambda h: h * H),
        ),
        min_size=1,
        max_size=40,
        unique_by=lambda e: e[3],  # distinct times: FIFO order is then unambiguous
    )
)
def test_vectorised_matches_a_per_address_loop(edges: list[tuple[int, int, float, float]]) -> None:
    n = 8
    t = Transfers(
        n,
        np.array([e[0] for e in edges]),
        np.array([e[1] for e in edges]),
        np.array([e[2] for e in edges]),
        np.array([e[3] for e in edges]),
        np.array([e[2] for e in edges]),
    )
    ind = compute(t)
    naive = _naive(n, edges)
    for name, expected in naive.items():
        np.testing.assert_allclose(ind[name], np.array(expected), rtol=1e-9, equal_nan=True, err_msg=name)


def test_a_huge_transfer_elsewhere_leaves_small_dwell_times_exact() -> None:
    # A token's mint (10^24) to node 9, and a mop 2 receiving 100 at hours 0 and 1 and passing 200 on at hour 4.
    # Summed in one running total, the mint's rounding (about 10^8) would swallow the mop's 100s.
    edges = [(8, 9, 1e24, 0.0), (0, 2, 100.0, 0.0), (1, 2, 100.0, 1.0), (2, 3, 200.0, 4.0), (9, 4, 5e23, 2.0)]
    ind = compute(graph(10, edges))
    assert ind["dwell_hours"][2] == pytest.approx(4.0)  # the middle (100) is covered by the first receipt
    assert ind["dwell_hours"][9] == pytest.approx(2.0)
