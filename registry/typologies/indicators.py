"""Behavioural indicators of every address at once: columnar numpy/scipy over the transfer arrays, no database, no
per-address Python loop.

Input is one row per transfer (``Transfers``: sender and receiver node ids, reference value, time, the amount in
the asset's own unit), whatever loaded it; output is one array per indicator over the nodes (``Indicators``), NaN
where an indicator is undefined (no outflow, nothing received). How each is computed, and why that way:

- ``senders`` / ``receivers``: distinct counterparties, the column and row counts of the aggregated value matrix.
- ``pass_through``: value sent / value received. A mop keeps almost nothing: close to 1.
- ``dwell_hours``: value-weighted time between receiving money and passing it on, first in first out: each
  outgoing transfer is matched (at the middle of its value) to the incoming transfer whose cumulative value
  covers it, and the gap is weighted by the value sent. Done for all addresses together with one sort and one
  ``searchsorted`` over keys ``node + cumulative share / 2`` (monotone within and across nodes). FIFO rather than
  the difference of mean times: over a long history the means of a salary account's ins and outs coincide too.
  Outflows not covered by what was received (a balance from before the data) are left out.
- ``top_sink_share``: share of the outflow that goes to the single largest receiver; ``sink_senders``: how many
  distinct senders that receiver has (a collection point: an exchanger's deposit wallet, a shop).
- ``fan_ratio``: senders per receiver: many-to-few is the shape of a collection account.
- ``one_off_share``: share of the value received from senders who sent only once. Victims and buyers paying a mop
  pay once; a shop's customers and an employee's employer come back.
- ``peel_chain_length``: an address is a peel hop when it receives from at most two senders, passes on at least 90
  % to two or three receivers and the largest part (50-98 %) goes on to one of them; the length is the number of
  consecutive hops along those largest parts through the address (pointer jumping, a bounded number of
  vectorised steps), 0 for non-hops.
- ``round_share``: share of transfers (in and out) whose amount in the asset's unit has at most two significant
  digits (1,500 USDT, 0.5 ETH) and is worth at least ``round_min_value``.
- ``near_threshold_count`` / ``near_threshold_share``: transfers (in and out) just under a reporting threshold
  (within ``near_band`` below it): structuring.
- ``exchanger_share``: share of the outflow going to known unlicensed exchangers (listed ``unlicensed_exchanger``
  or an unlicensed entity of kind ``exchanger``); ``unlicensed_sink_share``: share going to addresses no licensed
  entity owns.

Every indicator also gets its population percentile (among the addresses where it is defined).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

PEEL_MAX_ITERATIONS = 32
"""Longest peel chain measured exactly (longer ones report this): a bound on the pointer-jumping steps."""

INDICATORS: tuple[str, ...] = (
    "received",
    "sent",
    "transfers_in",
    "transfers_out",
    "senders",
    "receivers",
    "pass_through",
    "dwell_hours",
    "top_sink_share",
    "sink_senders",
    "fan_ratio",
    "one_off_share",
    "peel_chain_length",
    "round_share",
    "near_threshold_count",
    "near_threshold_share",
    "exchanger_share",
    "unlicensed_sink_share",
)
"""Every indicator, in the order they are stored and shown."""


@dataclass(frozen=True)
class Transfers:
    """One row per transfer, nodes ``0..n-1``. Self-transfers and non-positive values are ignored."""

    n: int
    src: IntArray
    dst: IntArray
    value: FloatArray  # reference value (what the scoring prices it at)
    time: FloatArray  # seconds since the epoch
    amount: FloatArray  # in the asset's own unit (1.5 for 1.5 ETH), for round amounts

    def clean(self) -> Transfers:
        keep = (self.src != self.dst) & (self.value > 0)
        if keep.all():
            return self
        return Transfers(self.n, self.src[keep], self.dst[keep], self.value[keep], self.time[keep], self.amount[keep])


@dataclass(frozen=True)
class Params:
    thresholds: Sequence[float] = (1000.0,)
    near_band: float = 0.1
    round_min_value: float = 100.0


@dataclass
class Indicators:
    """Per indicator name, its values over the nodes (NaN: undefined); population percentiles (0-100) on demand,
    for the few nodes a result shows (ranking every node of a large graph for 18 indicators cost more than
    computing them)."""

    n: int
    values: dict[str, FloatArray]
    population: BoolArray  # nodes with any transfer: what percentiles rank against
    top_sink: IntArray  # the largest receiver of each node's outflow, -1 when it sent nothing
    _sorted: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def __getitem__(self, name: str) -> FloatArray:
        return self.values[name]

    def percentile(self, name: str, nodes: IntArray) -> FloatArray:
        """Percentile ranks of ``nodes``' values of ``name`` (``percentile_ranks`` for a subset)."""
        ordered = self._sorted.get(name)
        if ordered is None:
            x = self.values[name]
            ordered = self._sorted[name] = np.sort(x[self.population & ~np.isnan(x)])
        return _mid_ranks(ordered, self.values[name][nodes], self.population[nodes])


def compute(
    t: Transfers,
    *,
    exchanger: BoolArray | None = None,
    licensed: BoolArray | None = None,
    params: Params | None = None,
) -> Indicators:
    """Every indicator of every node. ``exchanger`` / ``licensed`` are node masks (known unlicensed exchangers;
    addresses of licensed entities)."""
    p = params or Params()
    t = t.clean()
    n = t.n
    exchanger = np.zeros(n, dtype=bool) if exchanger is None else exchanger
    licensed = np.zeros(n, dtype=bool) if licensed is None else licensed
    src, dst, v = t.src, t.dst, t.value

    received = _sum(dst, v, n)
    sent = _sum(src, v, n)
    n_in = np.bincount(dst, minlength=n).astype(np.float64)
    n_out = np.bincount(src, minlength=n).astype(np.float64)

    # One sort by (sender, receiver) gives every pair's value and count: distinct counterparties, the largest
    # receiver and one-off senders, without a sparse matrix's per-row Python loops (argmax).
    pairs = _pairs(n, src, dst, v)
    receivers = np.bincount(pairs.src, minlength=n).astype(np.float64)
    senders = np.bincount(pairs.dst, minlength=n).astype(np.float64)
    top_value, top_sink = _largest(n, pairs)
    has_out = sent > 0

    pass_through = _ratio(sent, received)
    top_share = _ratio(top_value, sent)
    sink_senders = np.where(has_out, senders[np.maximum(top_sink, 0)], np.nan)
    fan_ratio = np.where(n_in + n_out > 0, senders / np.maximum(receivers, 1.0), np.nan)
    one_off = _sum(pairs.dst, pairs.value * (pairs.count == 1), n)

    total = n_in + n_out
    round_mask = _round(t.amount) & (v >= p.round_min_value)
    near_mask = np.zeros(len(v), dtype=bool)
    for threshold in p.thresholds:
        near_mask |= (v >= threshold * (1 - p.near_band)) & (v < threshold)
    near_count = _sum(src, near_mask, n) + _sum(dst, near_mask, n)
    round_count = _sum(src, round_mask, n) + _sum(dst, round_mask, n)

    exchanger_sent = _sum(src, v * exchanger[dst], n)
    unlicensed_sent = _sum(src, v * ~licensed[dst], n)

    values: dict[str, FloatArray] = {
        "received": received,
        "sent": sent,
        "transfers_in": n_in,
        "transfers_out": n_out,
        "senders": senders,
        "receivers": receivers,
        "pass_through": pass_through,
        "dwell_hours": dwell_hours(n, src, dst, v, t.time, received),
        "top_sink_share": top_share,
        "sink_senders": sink_senders,
        "fan_ratio": fan_ratio,
        "one_off_share": _ratio(one_off, received),
        "peel_chain_length": peel_chain_length(senders, receivers, pass_through, top_share, top_sink),
        "round_share": _ratio(round_count, total),
        "near_threshold_count": near_count,
        "near_threshold_share": _ratio(near_count, total),
        "exchanger_share": _ratio(exchanger_sent, sent),
        "unlicensed_sink_share": _ratio(unlicensed_sent, sent),
    }
    return Indicators(n, values, total > 0, top_sink)


@dataclass(frozen=True)
class _Pairs:
    """Every (sender, receiver) pair with its total value and number of transfers, sorted by sender, receiver."""

    src: IntArray
    dst: IntArray
    value: FloatArray
    count: IntArray


def _pairs(n: int, src: IntArray, dst: IntArray, v: FloatArray) -> _Pairs:
    key = src * max(n, 1) + dst  # fits int64 up to 3 * 10^9 nodes
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, dtype=np.int64)
    value = np.add.reduceat(v[order], starts) if len(k) else np.zeros(0)
    count = np.diff(np.r_[starts, len(k)])
    first = order[starts]
    return _Pairs(src[first], dst[first], value, count)


def _largest(n: int, pairs: _Pairs) -> tuple[FloatArray, IntArray]:
    """Per sender, the largest pair value and its receiver (the first in receiver order on a tie); 0 and -1 for
    nodes that sent nothing."""
    top_value = np.zeros(n)
    top_sink = np.full(n, -1, dtype=np.int64)
    if len(pairs.src) == 0:
        return top_value, top_sink
    starts = np.flatnonzero(np.r_[True, pairs.src[1:] != pairs.src[:-1]])
    senders = pairs.src[starts]
    top_value[senders] = np.maximum.reduceat(pairs.value, starts)
    is_max = np.flatnonzero(pairs.value == top_value[pairs.src])
    first = is_max[np.r_[True, pairs.src[is_max][1:] != pairs.src[is_max][:-1]]]
    top_sink[pairs.src[first]] = pairs.dst[first]
    return top_value, top_sink


def _sum(index: IntArray, weights: FloatArray | BoolArray, n: int) -> FloatArray:
    """Per node, the sum of ``weights`` over the rows pointing at it (``np.bincount``, typed as floats)."""
    out: FloatArray = np.bincount(index, weights=weights, minlength=n).astype(np.float64)
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(len(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _round(amount: FloatArray) -> BoolArray:
    """At most two significant digits: ``amount / 10**(floor(log10 amount) - 1)`` is a whole number."""
    out = np.zeros(len(amount), dtype=bool)
    pos = amount > 0
    a = amount[pos]
    scale = 10.0 ** (np.floor(np.log10(a)) - 1)
    m = a / scale
    out[pos] = np.abs(m - np.rint(m)) < 1e-6 * np.maximum(m, 1.0)
    return out


def dwell_hours(
    n: int, src: IntArray, dst: IntArray, value: FloatArray, time: FloatArray, received: FloatArray
) -> FloatArray:
    """Value-weighted FIFO dwell per node in hours (NaN: nothing sent out of what was received).

    The running sums within each node are taken over one global ``cumsum`` minus the sum before the node's run.
    The runs are ordered by the node's total, smallest first: a float's rounding error is relative to the running
    total, and a token's mint of 10^24 ahead of a mop's 10^3 would otherwise wipe out the mop's sums.
    """
    out = np.full(n, np.nan)
    if len(value) == 0:
        return out
    sent = _sum(src, value, n)
    in_rank = _ranks(received)
    out_rank = _ranks(sent)
    oi = _order(in_rank[dst], time)
    in_node, in_t, in_v = dst[oi], time[oi], value[oi]
    in_group = in_rank[in_node]
    in_key = in_group + _within_share(in_group, in_v, received[in_node], n) * 0.5

    oo = _order(out_rank[src], time)
    out_node, out_t, out_v = src[oo], time[oo], value[oo]
    # The middle of each outgoing transfer, as a share of everything its sender received.
    mid = _within_cumsum(out_rank[out_node], out_v, n) - out_v / 2
    total = received[out_node]
    covered = (total > 0) & (mid <= total)
    q = np.divide(mid, total, out=np.full(len(mid), np.inf), where=total > 0)
    j = np.searchsorted(in_key, in_rank[out_node] + np.minimum(q, 1.0) * 0.5, side="left")
    j = np.minimum(j, len(in_key) - 1)
    ok = covered & (in_node[j] == out_node)
    gap = out_t - in_t[j]
    ok &= gap >= 0  # funded from a balance older than the matched receipt: not a measured dwell
    weight = np.where(ok, out_v, 0.0)
    num = _sum(out_node, weight * np.where(ok, gap, 0.0), n)
    den = _sum(out_node, weight, n)
    np.divide(num, den * 3600.0, out=out, where=den > 0)
    return out


def _order(group: IntArray, time: FloatArray) -> IntArray:
    """Indices sorting by group, then time: one argsort of an integer key (whole seconds within a group), several
    times faster than ``np.lexsort`` on two keys; ``lexsort`` when the key would overflow."""
    if len(time) == 0:
        return np.zeros(0, dtype=np.int64)
    t0 = np.floor(time.min())
    span = int(np.ceil(time.max() - t0)) + 1
    if (int(group.max()) + 1) * span >= 2**62:
        out: IntArray = np.lexsort((time, group))
        return out
    key = group * span + np.floor(time - t0).astype(np.int64)
    ordered: IntArray = np.argsort(key, kind="stable")
    return ordered


def _ranks(totals: FloatArray) -> IntArray:
    """Each node's position when the nodes are ordered by ``totals``, smallest first."""
    ranks = np.empty(len(totals), dtype=np.int64)
    ranks[np.argsort(totals, kind="stable")] = np.arange(len(totals))
    return ranks


def _within_cumsum(group: IntArray, v: FloatArray, n: int) -> FloatArray:
    """Running sum of ``v`` within each group's run (``group`` sorted, values in ``0..n-1``)."""
    cum = np.cumsum(v)
    first = np.searchsorted(group, np.arange(n), side="left")
    before = np.concatenate(([0.0], cum))[first]
    result: FloatArray = cum - before[group]
    return result


def _within_share(group: IntArray, v: FloatArray, totals: FloatArray, n: int) -> FloatArray:
    """Running share of each group's total (``totals`` per event)."""
    share = np.zeros(len(v))
    np.divide(_within_cumsum(group, v, n), totals, out=share, where=totals > 0)
    return np.minimum(share, 1.0)


def peel_chain_length(
    senders: FloatArray, receivers: FloatArray, pass_through: FloatArray, top_share: FloatArray, top_sink: IntArray
) -> FloatArray:
    """Length of the run of peel hops (along each hop's largest outflow) that goes through each node."""
    n = len(senders)
    with np.errstate(invalid="ignore"):
        hop = (
            (senders >= 1)
            & (senders <= 2)
            & (receivers >= 2)
            & (receivers <= 3)
            & (pass_through >= 0.9)
            & (top_share >= 0.5)
            & (top_share <= 0.98)
        )
    nxt = np.where(hop, top_sink, 0)
    link = hop & (top_sink >= 0) & hop[nxt] & (nxt != np.arange(n))
    prev = np.zeros(n, dtype=np.int64)
    has_prev = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(link)
    prev[nxt[idx]] = idx
    has_prev[nxt[idx]] = True
    base = hop.astype(np.float64)
    fwd, bwd = base.copy(), base.copy()
    for _ in range(PEEL_MAX_ITERATIONS):
        new_fwd = np.where(link, 1 + fwd[nxt], base)
        new_bwd = np.where(has_prev, 1 + bwd[prev], base)
        new_fwd, new_bwd = np.minimum(new_fwd, PEEL_MAX_ITERATIONS), np.minimum(new_bwd, PEEL_MAX_ITERATIONS)
        if np.array_equal(new_fwd, fwd) and np.array_equal(new_bwd, bwd):
            break
        fwd, bwd = new_fwd, new_bwd
    result: FloatArray = np.where(hop, np.minimum(fwd + bwd - 1, PEEL_MAX_ITERATIONS), 0.0)
    return result


def percentile_ranks(x: FloatArray, population: BoolArray) -> FloatArray:
    """Percentile rank in the population (where ``x`` is defined): the share below each value plus half the share
    equal to it, in percent (ties, such as the many zeros of a sparse indicator, sit in the middle); NaN outside
    the population."""
    return _mid_ranks(np.sort(x[population & ~np.isnan(x)]), x, population)


def _mid_ranks(ordered: FloatArray, x: FloatArray, inside: BoolArray) -> FloatArray:
    out = np.full(len(x), np.nan)
    defined = inside & ~np.isnan(x)
    if len(ordered) == 0 or not defined.any():
        return out
    vals = x[defined]
    below = np.searchsorted(ordered, vals, side="left")
    upto = np.searchsorted(ordered, vals, side="right")
    out[defined] = (below + upto) * (50.0 / len(ordered))
    return out
