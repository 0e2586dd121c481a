"""The interface every scoring engine implements, and what passes through it.

An engine reads the transfer graph (``load``) and computes one direction's exposure from the seeds (``exposure``);
the rescoring (``registry.scoring.rescore``) reads the seeds, applies the risk policy and stores the scores, the
same code whichever engine ran. What crosses the interface is small on purpose: dictionary ids of the seeds in, and
out only the exposures above ``REGISTRY_SCORING_MIN_SHARE`` (one entry per category and exposed address), so a
Spark engine never has to bring a graph of billions of edges back to this process.

Both engines compute the same numbers (``tests/scoring/test_engines.py``): the haircut or poison iteration of
``registry.scoring.propagate`` with its rules (taint passes neither listed nor licensed addresses, self-transfers,
zero values and dust are not counted, transfers are priced by asset), the minimum hop counts, shares clipped to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Engine

from registry.scoring.graph import Edges
from registry.scoring.propagate import Direction, Exposure, FloatArray, IntArray, Seeds
from registry.scoring.settings import ScoringSettings


@dataclass(frozen=True)
class SeedIds:
    """Listed addresses per category and the licensed services' addresses, as address dictionary ids."""

    categories: tuple[str, ...]  # in name order: the policy and the stored JSON list them so
    nodes: IntArray  # listed address ids, one entry per (address, category) pair
    cats: IntArray  # category index of each entry of ``nodes``
    licensed: IntArray  # addresses of licensed services: taint does not pass through them

    def blocked(self) -> IntArray:
        """Addresses taint does not pass through: listed (they are sources) and licensed services."""
        return np.union1d(self.nodes, self.licensed).astype(np.int64)

    def dense(self, n: int) -> Seeds:
        """The sparse engine's form over nodes ``0..n-1`` (an id at or past ``n`` names no address of the graph)."""
        keep = self.nodes < n
        blocked = np.zeros(n, dtype=bool)
        ids = self.blocked()
        blocked[ids[ids < n]] = True
        return Seeds(self.categories, self.nodes[keep], self.cats[keep], blocked)


@dataclass(frozen=True)
class Exposed:
    """One direction's exposures above the floor, one entry per (category, address), in parallel arrays."""

    cats: IntArray
    nodes: IntArray
    share: FloatArray
    hops: NDArray[np.int8]

    @classmethod
    def from_dense(cls, exposure: Exposure, floor: float) -> Exposed:
        c, v = np.nonzero(exposure.share > floor)
        return cls(c.astype(np.int64), v.astype(np.int64), exposure.share[c, v], exposure.hops[c, v])

    @classmethod
    def empty(cls) -> Exposed:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int8))


@dataclass(frozen=True)
class Loaded:
    """A loaded (or, for Spark, planned and cached) graph."""

    transfers: int  # transfers that count: priced, above dust, not to oneself
    addresses: int  # addresses with at least one of them
    incremental: bool  # only transfers new since the last run were read
    edges: Edges | None  # the edge arrays when the engine holds them in this process (sparse), else None
    handle: Any  # the engine's own graph


class ScoringEngine(Protocol):
    name: str

    def load(self, db: Engine, settings: ScoringSettings) -> Loaded:
        """Read the transfer graph (priced, filtered) from the store."""
        ...

    def exposure(self, loaded: Loaded, seeds: SeedIds, direction: Direction, settings: ScoringSettings) -> Exposed:
        """One direction's exposure, by ``settings.scoring_method`` within ``settings.scoring_max_hops``."""
        ...

    def release(self, loaded: Loaded) -> None:
        """Free what ``load`` holds beyond the run (the sparse engine keeps its arrays for the next run)."""
        ...


def engine_for(settings: ScoringSettings) -> ScoringEngine:
    """The engine ``REGISTRY_SCORING_ENGINE`` names. Spark is imported only when chosen: importing PySpark costs
    a second, and the sparse engine's users never need it."""
    if settings.scoring_engine == "spark":
        from registry.scoring.engines.spark import SparkEngine

        return SparkEngine()
    from registry.scoring.engines.sparse import SparseEngine

    return SparseEngine()
