"""The default engine: the graph in this process as scipy sparse matrices (``registry.scoring.propagate``).

Fits one machine up to some 10^8 transfers (about 40 bytes per transfer while the matrices are built; see
docs/scaling.md). The loaded edge arrays are kept per database between runs (``registry.scoring.graph``), so the
scheduler's rescoring after a sync batch reads only the new transfers.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from registry.db.engine import read_only
from registry.scoring.engines.base import Exposed, Loaded, SeedIds
from registry.scoring.graph import GraphData, cache_for
from registry.scoring.propagate import Direction, propagate
from registry.scoring.settings import ScoringSettings


class SparseEngine:
    name = "sparse"

    def load(self, db: Engine, settings: ScoringSettings) -> Loaded:
        # On SQLite a read-only connection begins DEFERRED: the load must not hold the write lock for its duration.
        with read_only(db).connect() as conn:
            data = cache_for(db.url.render_as_string(hide_password=True)).load(conn, settings)
        return Loaded(data.transfers, data.addresses, data.incremental, data.edges, data)

    def exposure(self, loaded: Loaded, seeds: SeedIds, direction: Direction, settings: ScoringSettings) -> Exposed:
        data: GraphData = loaded.handle
        exposure = propagate(
            data.graph,
            seeds.dense(data.graph.n),
            direction,
            settings.scoring_max_hops,
            settings.scoring_method,
        )
        return Exposed.from_dense(exposure, settings.scoring_min_share)

    def release(self, loaded: Loaded) -> None:
        """Nothing: the arrays stay in the cache for the next run's incremental load."""
