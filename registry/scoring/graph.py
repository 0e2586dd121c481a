"""Loading the transfer graph into arrays, incrementally when the process has loaded it before.

Node numbers are address dictionary ids (``registry.transfers.tables.AddressRow``): the load reads
``(from_id, to_id, weight)`` columns and needs no factorisation, and a node means the same address in every run, in
every process and in a Parquet export.

A rescoring job lives in a long-running scheduler process and runs after every sync batch: re-reading a million
transfers each time would cost a second for a few hundred new rows. The edge arrays are kept between runs and only
transfers with a higher id are read; ``count(*)`` of what was read plus what is new must equal the table's count,
and the row at the last id read must still be the same transfer; otherwise rows went away (a reorg deleted them;
SQLite then reuses their ids) or appeared below the last id (PostgreSQL sequences commit out of order) and the
graph is rebuilt from scratch. Prices or dust changing also rebuild it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.engine import Connection

from registry.scoring import queries
from registry.scoring.propagate import FloatArray, Graph, IntArray
from registry.scoring.settings import ScoringSettings


@dataclass(frozen=True)
class Edges:
    """The transfers that count (priced, above dust, not to oneself), one entry each, as loaded: what other
    computations over the same graph (typology indicators) can reuse without reading the table again."""

    src: IntArray  # sender's address id
    dst: IntArray  # receiver's address id
    weight: FloatArray  # comparable value (``registry.scoring.valuation``)


@dataclass(frozen=True)
class GraphData:
    graph: Graph
    edges: Edges
    transfers: int  # transfers that count: priced, above dust, not to oneself
    addresses: int  # addresses with at least one such transfer
    incremental: bool = False  # only new transfers were read


@dataclass
class _State:
    fingerprint: str
    count: int = 0  # rows of the transfer table covered, whatever their price
    max_id: int = 0
    last: tuple[str, str, int] | None = None  # identity of the row at max_id
    src: list[IntArray] = field(default_factory=list)
    dst: list[IntArray] = field(default_factory=list)
    val: list[FloatArray] = field(default_factory=list)


class GraphCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: _State | None = None

    def load(self, conn: Connection, settings: ScoringSettings) -> GraphData:
        fingerprint = settings.model_dump_json(
            include={"scoring_assets", "scoring_unknown_asset_price", "scoring_dust_value"}
        )
        with self._lock:
            try:
                return self._load(conn, settings, fingerprint)
            except BaseException:
                self._state = None  # half-extended: the next run starts afresh rather than count rows twice
                raise

    def _load(self, conn: Connection, settings: ScoringSettings, fingerprint: str) -> GraphData:
        top = queries.max_transfer_id(conn)
        st = self._state
        incremental = False
        if st is not None and st.fingerprint == fingerprint and top >= st.max_id:
            count, _ = queries.transfer_stats(conn)
            added, _ = queries.transfer_stats(conn, st.max_id, top)
            incremental = st.count + added == count and queries.transfer_identity(conn, st.max_id) == st.last
        if not incremental or st is None:
            st = _State(fingerprint)
        if top > st.max_id:
            # Prices by asset id: an asset first seen in this batch gets its price now, from the same settings.
            prices = queries.asset_prices(conn, settings)
            src, dst, val, rows = queries.edge_arrays(conn, settings, prices, st.max_id, top)
            st.src.append(src)
            st.dst.append(dst)
            st.val.append(val)
            st.count += rows
        n = queries.address_bound(conn)
        st.max_id = max(top, st.max_id)
        st.last = queries.transfer_identity(conn, st.max_id)
        self._state = st
        if len(st.src) != 1:  # one array per column, so the next run concatenates only what is new
            empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            st.src, st.dst, st.val = (
                [np.concatenate(st.src) if st.src else empty_i],
                [np.concatenate(st.dst) if st.dst else empty_i],
                [np.concatenate(st.val) if st.val else empty_f],
            )
        edges = Edges(st.src[0], st.dst[0], st.val[0])
        graph = Graph.from_edges(n, edges.src, edges.dst, edges.weight)
        touched = np.bincount(edges.src, minlength=n) + np.bincount(edges.dst, minlength=n)
        return GraphData(graph, edges, len(edges.src), int(np.count_nonzero(touched)), incremental)


_caches: dict[str, GraphCache] = {}
_caches_lock = threading.Lock()


def cache_for(url: str) -> GraphCache:
    with _caches_lock:
        found = _caches.get(url)
        if found is None:
            found = _caches[url] = GraphCache()
        return found
