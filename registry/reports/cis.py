"""The CIS export: aggregated, non-personal risk information for one period, for the CIS international centre for
money-laundering risk assessment (which may receive no state secret, no banking secrecy and no personal data).

Built from the statistics document alone, by a function with no field for anything else: categories, chains,
directions and typology names are the only words in it; no address, domain, case, bank, person, key or IIN can be,
because none is in its input's fields that it reads (the screening counts per bank are never read).

Small cells. A count from 1 to ``min_cell - 1`` could point at one wallet or one transfer: it is published as
``{"value": null, "suppressed": true}``, and the reference value of the same flows with it. Zero is published
(``{"value": 0, …}``: nothing happened, nobody to identify), and a group with nothing in the period has no row.
The dataset carries no totals or margins over its cells, so a suppressed cell cannot be recovered by subtraction.

Cross-border direction. The registry knows which wallets belong to services licensed in Kazakhstan (entities
marked licensed services, from the AFSA and NBK registers) and which are listed; it holds no country for any other
wallet. So a flow between a listed wallet and a domestic licensed service is attributed
(``listed_to_domestic_licensed``: risk entering the national regulated sector; ``domestic_licensed_to_listed``:
leaving it), and every other flow to or from a listed wallet is ``other_to_listed`` / ``listed_to_other``: foreign
or unidentified, which the registry cannot tell apart. Listed wallets themselves have no country either; ``source``
says whether the national agency or a foreign authority (OFAC) listed them.

Signed like the blocklist manifest: the same Ed25519 key (``REGISTRY_SIGNING_KEY``), over the same bytes (the
document without ``signature``, compact JSON with sorted keys), so ``blocklist.feeds.signing.verify_manifest``
verifies it with the public key of ``/v1/exports/cis/public-key`` (the blocklist's key).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC
from functools import lru_cache
from importlib import resources
from typing import Any

from blocklist.feeds.signing import Signer, signed_payload
from registry.reports.models import Statistics

SCHEMA_ID = "urn:kz-afm:wallet-risk-registry:cis-export:1"
DIRECTIONS = {
    ("from_listed", "domestic_licensed"): "listed_to_domestic_licensed",
    ("to_listed", "domestic_licensed"): "domestic_licensed_to_listed",
    ("from_listed", "other"): "listed_to_other",
    ("to_listed", "other"): "other_to_listed",
}
SOURCES = {"fiu": "national", "ofac": "ofac"}
"""Who listed the wallet: the national agency, or OFAC (a foreign authority's official list)."""


@lru_cache
def schema() -> dict[str, Any]:
    """The published JSON Schema (``registry/reports/cis_export.schema.json``; ``GET /v1/exports/cis/schema``)."""
    text = resources.files("registry.reports").joinpath("cis_export.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def cell(n: float, count: int, min_cell: int) -> dict[str, Any]:
    """A published figure: ``n`` unless ``count`` (the number of facts behind it) is a small cell."""
    if 0 < count < min_cell:
        return {"value": None, "suppressed": True}
    return {"value": n, "suppressed": False}


def build(stats: Statistics, *, min_cell: int) -> dict[str, Any]:
    """The unsigned dataset of ``stats``'s period."""
    cur = stats.current
    listed: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for g in cur.listings.groups:
        key = (g.category, g.chain, SOURCES.get(g.source, "other"))
        if g.event == "approved" or (g.event == "added" and g.source == "ofac"):
            listed[key][0] += g.count
        elif g.event in ("delisted", "expired"):
            listed[key][1] += g.count
    flows: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    for f in cur.flows:
        key = (f.category, f.chain, DIRECTIONS[(f.direction, f.counterparty)])
        flows[key][0] += f.transfers
        flows[key][1] += f.value
    typologies = cur.typologies
    return {
        "$schema": SCHEMA_ID,
        "schema_version": 1,
        "dataset": "crypto_wallet_risk_aggregates",
        "reporting_country": "KZ",
        "period": {
            "label": stats.period.label,
            "start": stats.period.start.isoformat(),
            "end": stats.period.end.isoformat(),
        },
        "generated_at": stats.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "policy_version": stats.policy_version,
        "value_unit": stats.value_unit,
        "min_cell": min_cell,
        "listings": [
            {
                "category": c,
                "chain": ch,
                "source": s,
                "listed": cell(n_in, n_in, min_cell),
                "removed": cell(n_out, n_out, min_cell),
            }
            for (c, ch, s), (n_in, n_out) in sorted(listed.items())
            if n_in or n_out
        ],
        "flows": [
            {
                "category": c,
                "chain": ch,
                "direction": d,
                "transfers": cell(int(n), int(n), min_cell),
                "reference_value": cell(round(v, 2), int(n), min_cell),
            }
            for (c, ch, d), (n, v) in sorted(flows.items())
            if n
        ],
        "typologies_available": typologies is not None,
        "typologies": [
            {"typology": name, "addresses": cell(n, n, min_cell)} for name, n in sorted((typologies or {}).items())
        ],
        "shadow_exchangers_blocked": cell(cur.domains_blocked, cur.domains_blocked, min_cell),
    }


def sign(dataset: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The dataset with ``algorithm``, ``key_id`` and ``signature``, as the blocklist manifest is signed."""
    out = {**dataset, "algorithm": "Ed25519", "key_id": signer.key_id}
    out["signature"] = signer.sign(signed_payload(out))
    return out
