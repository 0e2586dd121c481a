"""The exposure core: haircut and poison propagation as sparse matrix products, no database, no per-node loop.

Haircut (incoming). Let ``W[u, v]`` be the value ``u`` sent to ``v`` and ``P = D_in^-1 W^T`` (row ``a`` holds the
shares of ``a``'s received value by sender). The taint of ``a`` for category ``c`` is the value-weighted average of
what flowed in: listed senders count 1 for their categories, other senders count with their own taint, and
senders through which taint must not pass (listed addresses: they are sources; licensed services: a regulated
exchange mixes everyone's money) count 0. Within ``H`` hops::

    x1 = P S                    (S: listed address x category indicator)
    xk = x1 + (P B) x(k-1)      (B: zero on the columns of blocking addresses)

so ``xH`` sums, over every walk of at most ``H`` hops ending at a listed address, the product of the value
shares along it. It is computed transposed, category x node, as increments ``d1 = S^T P^T``,
``dk = d(k-1) (P B)^T``: each increment is sparse (only what taint reached), so a hop costs the rows it
touches; past ``DENSE_FROM`` of the pairs it switches to dense products. Outgoing exposure is the same on
``D_out^-1 W`` (where the money went). Poison replaces the shares by reachability: 1 if any such walk exists.

All terms are non-negative, so the minimum hop count of ``a`` is the first ``k`` whose increment ``dk[a]`` is
positive: it is recorded as the increments are added, without another pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

Method = Literal["haircut", "poison"]
Direction = Literal["incoming", "outgoing"]
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Graph:
    """Nodes ``0..n-1``; ``weights[u, v]`` is the total comparable value ``u`` sent to ``v`` (no self-loops)."""

    n: int
    weights: sp.csr_matrix

    @classmethod
    def from_edges(cls, n: int, src: IntArray, dst: IntArray, value: FloatArray) -> Graph:
        """Self-transfers and non-positive values are dropped: moving money to oneself launders nothing, and a
        zero-value transfer (address poisoning spam) moves no money."""
        keep = (src != dst) & (value > 0)
        w = sp.csr_matrix((value[keep], (src[keep], dst[keep])), shape=(n, n), dtype=np.float64)
        w.sum_duplicates()
        return cls(n, w)


@dataclass(frozen=True)
class Seeds:
    """Listed addresses per category and the addresses through which taint does not pass."""

    categories: tuple[str, ...]
    nodes: IntArray  # listed node ids
    cats: IntArray  # category index of each listed node (a node may appear once per category)
    blocked: NDArray[np.bool_]  # per node: listed under any category, or a licensed service

    def indicator(self, n: int) -> sp.csr_matrix:
        """Category x node: 1 where the node is listed under the category."""
        k = len(self.categories)
        data = np.ones(len(self.nodes), dtype=np.float64)
        s = sp.csr_matrix((data, (self.cats, self.nodes)), shape=(k, n), dtype=np.float64)
        s.data[:] = 1.0  # a node listed twice under one category is still a share of 1
        return s


@dataclass(frozen=True)
class Exposure:
    """Category x node (K x n) arrays: the share in [0, 1] and the minimum hop count (0 = not exposed)."""

    share: NDArray[np.float64]
    hops: NDArray[np.int8]

    def dense(self) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Node x category arrays (tests, small graphs)."""
        return self.share.T.copy(), self.hops.T.copy()

    def rows(self, nodes: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
        """Node x category arrays for the given nodes only."""
        return self.share[:, nodes].T.copy(), self.hops[:, nodes].T.copy()


def transition(graph: Graph, direction: Direction) -> sp.csr_matrix:
    """``T[j, a]``: the share of ``a``'s received (incoming) or sent (outgoing) value that ``j`` accounts for.

    This is the transpose of the row-normalised matrix ``P`` of the module docstring, stored in CSR so that one
    hop is ``taint (K x n) @ T``: scipy then walks only the rows of the addresses that carry taint.
    """
    w = graph.weights if direction == "incoming" else graph.weights.T.tocsr()
    totals = np.asarray(w.sum(axis=0)).ravel()
    inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
    t = w.copy()
    t.data *= inv[t.indices]
    return t


def propagate(graph: Graph, seeds: Seeds, direction: Direction, max_hops: int, method: Method = "haircut") -> Exposure:
    return propagate_matrix(transition(graph, direction), seeds, max_hops, method)


DENSE_FROM = 0.1
"""Fraction of (category, node) pairs in one hop's increment from which a dense product beats the sparse one."""


def propagate_matrix(t: sp.csr_matrix, seeds: Seeds, max_hops: int, method: Method = "haircut") -> Exposure:
    """The iteration on a prepared transition matrix (split out so the benchmark can time it alone).

    Each hop's increment (haircut) or newly reached set (poison) stays sparse while it is small; the running share
    and the hop count are dense arrays updated only where the increment is non-zero. For haircut the first hop with
    a non-zero increment is the minimum hop count; for poison only the frontier (newly reached) moves on.
    """
    n = t.shape[0]
    k = len(seeds.categories)
    share = np.zeros((k, n), dtype=np.float64)
    hops = np.zeros((k, n), dtype=np.int8)
    if k == 0 or n == 0:
        return Exposure(share, hops)
    passing = ~seeds.blocked
    step: Any = sp.csr_matrix(seeds.indicator(n) @ t)
    for hop in range(1, max_hops + 1):
        if hop > 1:
            if not isinstance(step, np.ndarray) and step.nnz > DENSE_FROM * n * k:
                step = step.toarray()
            step = _hop(step, t, passing)
        if method == "poison":
            step = _new_only(step, hops)
        _accumulate(share, hops, step, hop, method)
    np.clip(share, 0.0, 1.0, out=share)  # float rounding can push a sum of shares a hair above 1
    return Exposure(share, hops)


def _hop(v: Any, t: sp.csr_matrix, passing: NDArray[np.bool_]) -> Any:
    """One hop of taint that blocked addresses (listed, licensed) do not pass on: their entries are dropped first,
    which costs what the taint touches instead of rebuilding the matrix without their rows."""
    if isinstance(v, np.ndarray):
        return np.asarray((t.T @ (v * passing).T).T)
    v = sp.csr_matrix(v, copy=True)
    v.data *= passing[v.indices]
    v.eliminate_zeros()
    return sp.csr_matrix(v @ t)


def _new_only(step: Any, hops: NDArray[np.int8]) -> Any:
    """Poison: the part of this hop's reach not reached before (the next frontier), as 0/1."""
    if isinstance(step, np.ndarray):
        return ((step > 0) & (hops == 0)).astype(np.float64)
    c = step.tocoo()
    keep = (c.data > 0) & (hops[c.row, c.col] == 0)
    return sp.csr_matrix((np.ones(int(keep.sum())), (c.row[keep], c.col[keep])), shape=step.shape)


def _accumulate(share: NDArray[np.float64], hops: NDArray[np.int8], step: Any, hop: int, method: Method) -> None:
    if isinstance(step, np.ndarray):
        hops[(hops == 0) & (step > 0)] = hop
        if method == "poison":
            share[step > 0] = 1.0
        else:
            share += step
        return
    c = step.tocoo()
    rows, cols, data = c.row, c.col, c.data
    positive = data > 0
    rows, cols, data = rows[positive], cols[positive], data[positive]
    fresh = hops[rows, cols] == 0
    hops[rows[fresh], cols[fresh]] = hop
    if method == "poison":
        share[rows, cols] = 1.0
    else:
        share[rows, cols] += data  # one entry per (category, node) in a product's output: no duplicates


def exposed_rows(*exposures: Exposure, min_share: float = 0.0) -> NDArray[np.intp]:
    """Nodes with a share above ``min_share`` in any category of any of the given exposures."""
    if not exposures:
        return np.zeros(0, dtype=np.intp)
    mask = np.zeros(exposures[0].share.shape[1], dtype=bool)
    for e in exposures:
        mask |= (e.share > min_share).any(axis=0)
    return np.flatnonzero(mask)
