"""Loading the transfer graph, incrementally when the process has loaded it before.

A rescoring job lives in a long-running scheduler process and runs after every sync batch: re-reading a million
transfers each time would cost seconds for a few hundred new rows. The priced edge list is kept between runs and
only transfers with a higher id are read; ``count(*)`` of what was read plus what is new must equal the table's
count, and the row at the last id read must still be the same transfer; otherwise rows went away (a reorg deleted
them; SQLite then reuses their ids) or appeared below the last id (PostgreSQL sequences commit out of order) and the
graph is rebuilt from scratch. Prices or dust changing also rebuild it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

from chains.addresses import chain_family
from registry.scoring import queries
from registry.scoring.propagate import Graph
from registry.scoring.settings import ScoringSettings


@dataclass(frozen=True)
class GraphData:
    graph: Graph
    keys: list[str]  # node id -> "family:address"
    index: dict[str, int]
    transfers: int  # transfers that count: priced, above dust, not to oneself
    incremental: bool = False  # only new transfers were read


@dataclass
class _State:
    fingerprint: str
    count: int = 0  # rows of the transfer table covered, whatever their price
    max_id: int = 0
    last: tuple[str, str, int] | None = None  # identity of the row at max_id
    keys: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    by_family: dict[str, dict[str, int]] = field(default_factory=dict)  # address -> node id, per address space
    src: list[NDArray[np.int64]] = field(default_factory=list)
    dst: list[NDArray[np.int64]] = field(default_factory=list)
    val: list[NDArray[np.float64]] = field(default_factory=list)
    edges: int = 0


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
        count, top = queries.transfer_stats(conn)
        st = self._state
        incremental = False
        if st is not None and st.fingerprint == fingerprint and top >= st.max_id:
            added, _ = queries.transfer_stats(conn, st.max_id, top)
            incremental = st.count + added == count and queries.transfer_identity(conn, st.max_id) == st.last
        if not incremental or st is None:
            st = _State(fingerprint)
        nets_by_family: dict[str, list[str]] = {}
        for net in queries.networks(conn):
            nets_by_family.setdefault(chain_family(net), []).append(net)
        for family, nets in sorted(nets_by_family.items()):
            for chunk in queries.priced_edges(conn, settings, nets, st.max_id, top):
                _add(st, family, chunk)
        st.count, st.max_id = count, max(top, st.max_id)
        st.last = queries.transfer_identity(conn, st.max_id)
        self._state = st
        n = len(st.keys)
        if not st.src:
            empty = np.zeros(0, dtype=np.int64)
            return GraphData(Graph.from_edges(0, empty, empty, np.zeros(0)), [], {}, 0, incremental)
        if len(st.src) > 1:  # one array per column, so the next run concatenates only what is new
            st.src, st.dst, st.val = [np.concatenate(st.src)], [np.concatenate(st.dst)], [np.concatenate(st.val)]
        graph = Graph.from_edges(n, st.src[0], st.dst[0], st.val[0])
        return GraphData(graph, list(st.keys), st.index, st.edges, incremental)


def _add(st: _State, family: str, rows: list[tuple[str, str, float]]) -> None:
    if not rows:
        return
    froms, tos, values = zip(*rows, strict=True)
    ids = st.by_family.setdefault(family, {})
    # dict.fromkeys and key-view difference run in C: the cheapest factorisation without pandas. Node numbering
    # needs no particular order.
    seen: dict[Any, None] = dict.fromkeys(froms)
    seen.update(dict.fromkeys(tos))
    new = list(seen.keys() - ids.keys()) if ids else list(seen)
    start = len(st.keys)
    ids.update(zip(new, range(start, start + len(new)), strict=True))
    fresh = [f"{family}:{a}" for a in new]
    st.keys.extend(fresh)
    st.index.update(zip(fresh, range(start, start + len(new)), strict=True))
    st.src.append(np.fromiter(map(ids.__getitem__, froms), dtype=np.int64, count=len(rows)))
    st.dst.append(np.fromiter(map(ids.__getitem__, tos), dtype=np.int64, count=len(rows)))
    st.val.append(np.asarray(values, dtype=np.float64))
    st.edges += len(rows)


_caches: dict[str, GraphCache] = {}
_caches_lock = threading.Lock()


def cache_for(url: str) -> GraphCache:
    with _caches_lock:
        found = _caches.get(url)
        if found is None:
            found = _caches[url] = GraphCache()
        return found
