"""Every non-clean screening result, reduced to what alerts compare, read straight from the tables the screening
snapshot is built from: the live listings and the stored scores.

Why not build the snapshot itself (``registry.screening.snapshot.load_direct`` and the scoring feature's
``load_exposure``)? They build, per address, the full result a bank is served — direct items with designations and
dates, parsed exposure lists, ``Verdict`` objects — and at 300,000 results that takes seconds, while alerts need
four values per address. Reading the same rows and applying the same rules (the screening policy's
``direct_verdict``, and exposure raising a listed address's result as ``registry.scoring.snapshot._raise_to`` does)
for those four values takes a fraction of that, which is what keeps an approval's alert under two seconds with a
million watched addresses. ``tests/monitoring/test_results.py`` checks that the two agree on every address of a
registry with every kind of result (several listings, expired and expiring ones, official lists, exposure that
raises a listing and exposure that does not); it fails when either side changes its rules alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from registry.cases.tables import Listing, ListingStatus
from registry.db import state
from registry.db.engine import read_only
from registry.db.types import as_utc_datetime
from registry.monitoring.diff import CLEAN, Interner, Sig, direct_text
from registry.scoring.tables import AddressScore
from registry.screening.policy import ACTION_RANK, LEVELS, direct_verdict

_LISTINGS = (
    f"SELECT family || ':' || address, category, source, valid_until FROM {Listing.__tablename__} "
    f"WHERE status = '{ListingStatus.active.value}'"
)
_SCORES = f"SELECT family || ':' || address, risk_score, risk_level, action FROM {AddressScore.__tablename__}"
_VERSION = f"SELECT value FROM registry_state WHERE name = '{state.REGISTRY}'"


def load_signatures(engine: Engine, intern: Interner) -> tuple[int, dict[str, Sig]]:
    """(the registry version read first, every non-clean result by ``family:address``): the version is read before
    the rows, as the snapshot does, so the results are at least as new as the version they are filed under.

    Hundreds of thousands of rows: read with the driver's cursor (no row objects), the key concatenated by the
    database, and each distinct (score, level, action) turned into a result once."""
    now = datetime.now(UTC)
    with read_only(engine).connect() as conn:
        raw: Any = conn.connection.dbapi_connection
        cur = raw.cursor()
        try:
            cur.execute(_VERSION)
            row = cur.fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
            cur.execute(_LISTINGS)
            listings = cur.fetchall()
            cur.execute(_SCORES)
            scores = cur.fetchall()
        finally:
            cur.close()
    hits: dict[str, set[tuple[str, str]]] = {}
    for key, category, source, until in listings:
        if until is not None:
            ends = as_utc_datetime(until)
            if ends is not None and ends <= now:
                continue  # past valid_until: screening ignores it from that instant
        found = hits.get(key)
        if found is None:
            hits[key] = {(category, source)}
        else:
            found.add((category, source))
    direct_memo: dict[frozenset[tuple[str, str]], Sig] = {}
    direct: dict[str, Sig] = {}
    for key, pairs in hits.items():
        frozen = frozenset(pairs)
        sig = direct_memo.get(frozen)
        if sig is None:
            score, level, action = direct_verdict([c for c, _ in pairs])
            text_ = direct_text({"category": c, "source": s} for c, s in pairs)
            sig = direct_memo[frozen] = intern((score, level, action, text_))
        direct[key] = sig
    exposure_memo: dict[tuple[Any, str, str], Sig] = {}
    exposed: dict[str, Sig] = {}
    for key, score, level, action in scores:
        sig = exposure_memo.get((score, level, action))
        if sig is None:
            sig = exposure_memo[(score, level, action)] = intern((int(score), level, action, "[]"))
        exposed[key] = sig
    out = {k: v for k, v in exposed.items() if v is not CLEAN}
    out.update(direct)
    for key in direct.keys() & exposed.keys():  # exposure may raise a listed address's result
        d, e = direct[key], exposed[key]
        out[key] = intern(_raise_to(d, e[0], e[1], e[2]))
    return version, out


def _raise_to(direct: Sig, score: int, level: str, action: str) -> Sig:
    """Exposure may only raise a listed address's result (``registry.scoring.snapshot._raise_to``)."""
    d_score, d_level, d_action, d_text = direct
    if score <= d_score and ACTION_RANK[action] <= ACTION_RANK[d_action]:
        return direct
    return (
        max(score, d_score),
        max(level, d_level, key=LEVELS.index),
        max(action, d_action, key=ACTION_RANK.__getitem__),
        d_text,
    )
