"""Each typology matches its own pattern and not ordinary accounts; the catalogue is complete in both languages."""

from __future__ import annotations

import numpy as np

from registry.typologies import catalogue
from registry.typologies.indicators import INDICATORS, Params, Transfers, compute
from tests.typologies.test_indicators import graph

MOP, CASHOUT, EXCHANGER, SINK = 10, 11, 12, 13
PEEL = [20, 21, 22, 23, 24, 25]
STRUCTURER = 30
EMPLOYEE, EMPLOYER, SHOP, LANDLORD = 40, 41, 42, 43
N = 300


def _population() -> tuple[Transfers, np.ndarray, np.ndarray]:
    edges: list[tuple[int, int, float, float]] = []
    # A mop: eight one-off victims (100..107), 400-900 each, passed on 4 h after every second payment to one sink.
    for i in range(8):
        edges.append((100 + i, MOP, 400.0 + 70 * i, 3.0 * i))
    edges += [(MOP, SINK, 400.0 + 470.0, 7.0), (MOP, SINK, 540.0 + 610.0, 13.0)]
    edges += [(MOP, SINK, 680.0 + 750.0, 19.0), (MOP, SINK, 820.0 + 890.0, 25.0)]
    # A cash-out account: four sources pay it, it sends almost all to a known unlicensed exchanger within hours.
    for i in range(4):
        edges.append((120 + i, CASHOUT, 1000.0 + i, 50.0 + i))
    edges.append((CASHOUT, EXCHANGER, 3950.0, 60.0))
    # A peel chain of six wallets from a source (130).
    amount = 30_000.0
    edges.append((130, PEEL[0], amount, 80.0))
    for k, hop in enumerate(PEEL[:-1]):
        edges += [(hop, PEEL[k + 1], amount * 0.85, 81.0 + k), (hop, 131 + k, amount * 0.15, 81.0 + k)]
        amount *= 0.85
    edges.append((PEEL[-1], EXCHANGER, amount, 90.0))
    # A structurer: 9,000 in, nine chunks of 940-990 out to three addresses.
    edges.append((140, STRUCTURER, 9000.0, 100.0))
    for i in range(9):
        edges.append((STRUCTURER, 141 + i % 3, 940.0 + 6 * i, 101.0 + i))
    # Ordinary: a salary twice a month, rent, shopping over two weeks; the shop sweeps weekly; the landlord keeps.
    for day in (0, 15):
        h = day * 24.0
        edges += [(EMPLOYER, EMPLOYEE, 1834.27, h), (EMPLOYEE, LANDLORD, 612.5, h + 40)]
        edges += [(EMPLOYEE, SHOP, 40.0 + 17.3 * j, h + 30 + 36 * j) for j in range(8)]
    for j in range(40):  # the shop's other customers, regulars each paying four times
        edges.append((200 + j % 10, SHOP, 23.45 + j, 2.0 + 8 * j))
    edges += [(SHOP, 150, 900.0, 168.0), (SHOP, 150, 700.0, 336.0)]
    edges += [(210 + j, LANDLORD, 700.0, 40.0 + j) for j in range(5)]
    exchanger = np.zeros(N, dtype=bool)
    exchanger[EXCHANGER] = True
    return graph(N, edges), exchanger, np.zeros(N, dtype=bool)


def test_each_typology_matches_its_pattern_and_no_ordinary_account() -> None:
    t, exchanger, licensed = _population()
    ind = compute(t, exchanger=exchanger, licensed=licensed, params=Params(thresholds=(1000.0,)))
    matched = catalogue.match(ind, min_transfers=3)
    found = {name: set(np.flatnonzero(mask).tolist()) for name, mask in matched.items()}
    assert MOP in found["mop_passthrough"]
    assert CASHOUT in found["exchanger_cashout"]
    assert set(PEEL[:-1]) <= found["peel_chain"] and PEEL[-1] not in found["peel_chain"]
    assert STRUCTURER in found["structuring"]
    ordinary = {EMPLOYEE, EMPLOYER, SHOP, LANDLORD}
    assert all(not (ordinary & nodes) for nodes in found.values()), found
    # Each pattern raises its own typology, not the others' (the cash-out account also passes money on fast, but
    # from only four senders: no mop pass-through; the mop's sink is no collection point: no cash-out).
    assert found["mop_passthrough"] & {CASHOUT, STRUCTURER, *PEEL} == set()
    assert found["exchanger_cashout"] & {MOP, STRUCTURER} == set()
    # Structuring shows on both sides: the chunks' receivers (an exchanger's deposit wallets) take nothing else.
    assert found["structuring"] == {STRUCTURER, 141, 142, 143}


def test_min_transfers_keeps_thin_addresses_out() -> None:
    t, exchanger, licensed = _population()
    ind = compute(t, exchanger=exchanger, licensed=licensed)
    assert catalogue.match(ind, min_transfers=100)["mop_passthrough"].sum() == 0


def test_red_flags_carry_the_values_that_matched() -> None:
    t, exchanger, licensed = _population()
    ind = compute(t, exchanger=exchanger, licensed=licensed, params=Params(thresholds=(1000.0,)))
    matched = catalogue.match(ind, min_transfers=3)
    [flags] = catalogue.red_flags(ind, matched, np.array([CASHOUT]))
    [flag] = flags
    assert flag["typology"] == "exchanger_cashout" and flag["version"] == 1
    by_name = {i["name"]: i for i in flag["indicators"]}
    assert by_name["exchanger_share"]["value"] == 1 and by_name["exchanger_share"]["threshold"] == 0.5
    assert "sink_senders" not in by_name  # the any_of condition that did not hold is not shown
    assert by_name["pass_through"]["value"] == round(3950 / 4006, 4)
    assert 0 <= by_name["dwell_hours"]["percentile"] <= 100


def test_catalogue_is_complete_in_both_languages() -> None:
    names = [t.name for t in catalogue.TYPOLOGIES]
    assert {"mop_passthrough", "exchanger_cashout", "peel_chain", "structuring"} <= set(names)
    assert len(names) == len(set(names))
    for t in catalogue.TYPOLOGIES:
        for field in (t.title, t.description):
            assert set(field) == {"ru", "en"} and all(field.values())
        assert set(t.fiat_red_flags) == {"ru", "en"}
        assert len(t.fiat_red_flags["ru"]) == len(t.fiat_red_flags["en"]) >= 3
        for c in (*t.all_of, *t.any_of):
            assert c.indicator in INDICATORS
    assert set(catalogue.INDICATOR_TEXT) == set(INDICATORS)
