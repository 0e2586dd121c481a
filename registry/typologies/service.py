"""Typologies: indicators and matches computed with every rescoring, the catalogue, a case's candidates, and the
period counts the reports read.

With the rescoring (``rescore_hook``, registered in ``registry.scoring.rescore.HOOKS`` by this feature): load the
transfer columns, compute every indicator of every address (``indicators.compute``), match the catalogue
(``catalogue.match``), and hand back a writer that stores the flagged addresses in bulk inside the rescoring's own
transaction. The snapshot then serves their red flags (``snapshot.py``) with no query per screening.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy.engine import Engine
from sqlmodel import Session

from registry.auth.service import Principal
from registry.cases import queries as case_queries
from registry.cases import service as cases
from registry.cases.tables import ListingStatus
from registry.db.engine import read_only
from registry.db.types import utcnow
from registry.scoring import queries as scoring_queries
from registry.scoring.settings import ScoringSettings
from registry.screening.models import RedFlag
from registry.typologies import catalogue, queries
from registry.typologies.indicators import INDICATORS, Indicators, Params, compute
from registry.typologies.models import (
    Candidate,
    CandidateAccept,
    CandidateHop,
    CandidateLink,
    CandidateList,
    TypologyCatalogue,
    TypologyCondition,
    TypologyIndicator,
    TypologyIndicatorValue,
    TypologyPublic,
)
from registry.typologies.settings import TypologySettings, get_typology_settings

log = logging.getLogger("registry.typologies")


@dataclass(frozen=True)
class Findings:
    """What one computation found: the flagged addresses' stored rows and keys, and the arrays (the eval reads
    the indicators of what it missed)."""

    indicators: Indicators
    matched: dict[str, np.ndarray[Any, Any]]
    keys: dict[int, str]  # node id -> "family:address", flagged nodes only
    flags: list[queries.FlagRow]
    matches: list[queries.MatchRow]
    seconds: float
    min_transfers: int = 1


def params(settings: TypologySettings) -> Params:
    return Params(
        thresholds=tuple(settings.typology_thresholds.values()),
        near_band=settings.typology_near_band,
        round_min_value=settings.typology_round_min_value,
    )


def find(engine: Engine, scoring: ScoringSettings, settings: TypologySettings | None = None) -> Findings:
    """Indicators and matches over the whole transfer store, and the rows to store for the flagged addresses.
    Licensed services' addresses are measured but never flagged: the registry knows what they are."""
    settings = settings or get_typology_settings()
    started = time.perf_counter()
    now = utcnow()
    with read_only(engine).connect() as conn:
        loaded = queries.load_transfers(conn, scoring)
        n = loaded.transfers.n
        exchanger = _mask(n, queries.ids_of(conn, queries.exchanger_keys(conn, now)))
        licensed = _mask(n, queries.ids_of(conn, queries.licensed_keys(conn)))
        ind = compute(loaded.transfers, exchanger=exchanger, licensed=licensed, params=params(settings))
        matched = {k: m & ~licensed for k, m in catalogue.match(ind, settings.typology_min_transfers).items()}
        anyone = np.zeros(n, dtype=bool)
        for mask in matched.values():
            anyone |= mask
        nodes = np.flatnonzero(anyone)
        names = queries.keys_of(conn, nodes.tolist())
    red = catalogue.red_flags(ind, matched, nodes)
    values = catalogue.indicator_values(ind, nodes)
    flags: list[queries.FlagRow] = []
    matches: list[queries.MatchRow] = []
    for node, node_flags, node_values in zip(nodes.tolist(), red, values, strict=True):
        family, address = names[node]
        flags.append((family, address, orjson.dumps(node_flags).decode(), orjson.dumps(node_values).decode()))
        matches.extend((family, address, f["typology"], f["version"]) for f in node_flags)
    keys = {node: f"{f}:{a}" for node, (f, a) in names.items()}
    return Findings(ind, matched, keys, flags, matches, time.perf_counter() - started, settings.typology_min_transfers)


def _mask(n: int, ids: list[int]) -> np.ndarray[Any, Any]:
    mask = np.zeros(n, dtype=bool)
    mask[[i for i in ids if i < n]] = True
    return mask


def rescore_hook(engine: Engine, scoring: ScoringSettings) -> Callable[[Session, int], None]:
    """``registry.scoring.rescore.HOOKS`` entry: compute now, store inside the rescoring's transaction."""
    found = find(engine, scoring)
    now = utcnow()

    def write(session: Session, run_id: int) -> None:
        queries.store(session, run_id, found.flags, found.matches, now)
        log.info(
            "typologies matched",
            extra={"flagged": len(found.flags), "matches": len(found.matches), "seconds": round(found.seconds, 3)},
        )

    return write


def observed_between(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Typology name -> distinct addresses flagged by a rescoring within ``[start, end)`` (every typology named,
    0 when none): what the period report and the CIS export count."""
    found = queries.observed_between(session, start, end)
    return {t.name: found.get(t.name, 0) for t in catalogue.TYPOLOGIES}


DOCUMENTS = {
    f"{fmt}/{lang}": f"/v1/typologies/document?format={fmt}&lang={lang}"
    for fmt in ("html", "pdf")
    for lang in ("ru", "en")
}


def catalogue_public(settings: TypologySettings | None = None) -> TypologyCatalogue:
    settings = settings or get_typology_settings()
    return TypologyCatalogue(
        version=catalogue.CATALOGUE_VERSION,
        thresholds=dict(settings.typology_thresholds),
        near_band=settings.typology_near_band,
        min_transfers=settings.typology_min_transfers,
        indicators=[TypologyIndicator(name=n, title=catalogue.INDICATOR_TEXT[n]) for n in INDICATORS],
        typologies=[
            TypologyPublic(
                name=t.name,
                version=t.version,
                title=t.title,
                description=t.description,
                all_of=[TypologyCondition(**c.public()) for c in t.all_of],
                any_of=[TypologyCondition(**c.public()) for c in t.any_of],
                fiat_red_flags={lang: list(items) for lang, items in t.fiat_red_flags.items()},
            )
            for t in catalogue.TYPOLOGIES
        ],
        documents=DOCUMENTS,
    )


# Candidates -----------------------------------------------------------------------------------------------------

OPEN = (ListingStatus.pending.value, ListingStatus.active.value)


@dataclass
class _Reach:
    share: float
    hops: int
    path: tuple[tuple[str, str, float], ...]  # (from, to, share) in the direction the money moved
    best: float


def trace_reach(
    seed: str,
    direction: str,
    fetch: Callable[[Sequence[str], str], Sequence[tuple[str, str, float]]],
    stop: set[str],
    hops: int,
    beam: int,
) -> dict[str, _Reach]:
    """Addresses the money of ``seed`` reached (forward) or came from (backward) within ``hops``: the haircut share
    summed over the walks found, the fewest hops, the strongest path. One grouped query per hop; the ``beam``
    strongest of each hop's new frontier go on; nothing passes through ``stop`` (licensed services, the case's
    own addresses)."""
    query = "outgoing" if direction == "forward" else "incoming"
    reach: dict[str, _Reach] = {}
    frontier: dict[str, tuple[float, tuple[tuple[str, str, float], ...]]] = {seed: (1.0, ())}
    for hop in range(1, hops + 1):
        rows = fetch(list(frontier), query)
        totals: dict[str, float] = {}
        for frm, to, w in rows:
            here = frm if direction == "forward" else to
            totals[here] = totals.get(here, 0.0) + float(w)
        step_share: dict[str, float] = {}
        step_path: dict[str, tuple[float, tuple[tuple[str, str, float], ...]]] = {}
        for frm, to, w in rows:
            here, there = (frm, to) if direction == "forward" else (to, frm)
            if here not in frontier or there == seed or totals.get(here, 0.0) <= 0:
                continue
            edge_share = float(w) / totals[here]
            share_here, path_here = frontier[here]
            share = share_here * edge_share
            path = (
                (*path_here, (frm, to, edge_share)) if direction == "forward" else ((frm, to, edge_share), *path_here)
            )
            got = reach.get(there)
            if got is None:
                reach[there] = _Reach(share, hop, path, share)
            else:
                got.share += share
                if share > got.best:
                    got.best, got.path = share, path
            step_share[there] = step_share.get(there, 0.0) + share
            if there not in step_path or share > step_path[there][0]:
                step_path[there] = (share, path)
        kept = heapq.nlargest(beam, ((s, a) for a, s in step_share.items() if a not in stop))
        frontier = {a: (step_share[a], step_path[a][1]) for _, a in kept}
        if not frontier:
            break
    for r in reach.values():
        r.share = min(r.share, 1.0)
    return reach


def candidates(
    session: Session,
    engine: Engine,
    case_id: int,
    who: Principal,
    scoring: ScoringSettings,
    *,
    limit: int = 50,
    settings: TypologySettings | None = None,
) -> CandidateList:
    """Addresses flagged by a typology and linked by flow to the case's addresses (its pending and active
    listings), ranked by the strongest link's share times the number of typologies matched, with the evidence.
    Licensed services' addresses are never candidates (nor traced through), nor addresses already open in the
    case."""
    settings = settings or get_typology_settings()
    cases.case_for(session, case_id, who)
    listings = [x for x in case_queries.listings_of_case(session, case_id) if x.status in OPEN]
    seeds: dict[tuple[str, str], str] = {}
    for x in listings:
        seeds.setdefault((x.family, x.address), x.chain)
    hops = settings.typology_candidate_hops
    found: dict[tuple[str, str], tuple[str, list[CandidateLink]]] = {}
    with read_only(engine).connect() as conn:
        licensed = queries.licensed_keys(conn)
        for family in sorted({f for f, _ in seeds}):
            nets = scoring_queries.family_networks(conn, family)
            if not nets:
                continue
            mine = {a for f, a in seeds if f == family}
            stop = mine | {k.split(":", 1)[1] for k in licensed if k.startswith(family + ":")}

            def fetch(addresses: Sequence[str], direction: str, nets: list[str] = nets) -> list[tuple[str, str, float]]:
                return scoring_queries.edge_sums(conn, scoring, nets, addresses, direction)

            for (f, seed), chain in sorted(seeds.items()):
                if f != family:
                    continue
                for direction in ("forward", "backward"):
                    reached = trace_reach(seed, direction, fetch, stop, hops, scoring.scoring_path_beam)
                    for address, r in reached.items():
                        if address in stop:
                            continue
                        link = CandidateLink(
                            case_address=seed,
                            direction=direction,
                            hops=r.hops,
                            share=round(r.share, 6),
                            path=[CandidateHop(from_address=a, to_address=b, share=round(s, 6)) for a, b, s in r.path],
                        )
                        found.setdefault((family, address), (chain, []))[1].append(link)
    items: list[Candidate] = []
    for family in sorted({f for f, _ in found}):
        addresses = [a for f, a in found if f == family]
        flagged = queries.flagged(session, family, addresses)
        for address, (flags_json, indicators_json) in flagged.items():
            chain, links = found[(family, address)]
            flags = [RedFlag.model_validate(x) for x in orjson.loads(flags_json)]
            links.sort(key=lambda x: (-x.share, x.hops))
            score = links[0].share * len(flags)
            items.append(
                Candidate(
                    rank=0,
                    chain=chain,
                    address=address,
                    score=round(score, 6),
                    typologies=[x.typology for x in flags],
                    red_flags=flags,
                    indicators={k: TypologyIndicatorValue(**v) for k, v in orjson.loads(indicators_json).items()},
                    links=links[:5],
                    accept=_accept(case_id, chain, address, flags, links[0]),
                )
            )
    items.sort(key=lambda c: (-c.score, c.links[0].hops, c.address))
    for i, c in enumerate(items, start=1):
        c.rank = i
    return CandidateList(case_id=case_id, hops=hops, seeds=len(seeds), items=items[:limit], total=len(items))


def _accept(case_id: int, chain: str, address: str, flags: list[RedFlag], link: CandidateLink) -> CandidateAccept:
    names = ", ".join(f.typology for f in flags)
    reason = (
        f"behavioural typologies {names} matched; linked to case address {link.case_address} "
        f"({link.direction}, {link.hops} hop(s), share {link.share:.4g})"
    )
    return CandidateAccept(
        path=f"/v1/cases/{case_id}/candidates",
        body={
            "chain": chain,
            "addresses": [address],
            "category": "money_mule",
            "confidence": "heuristic",
            "reason": reason[:1000],
            "derived_from": {"chain": chain, "address": link.case_address},
        },
    )
