"""Evidence packs: everything the registry states about one address, in one document a prosecutor can read and
anyone can check.

**What is in it.** The address view (``registry.scoring.explain.address_view``, the data ``GET
/v1/addresses/{chain}/{address}`` answers with, and its explanation): the verdict and the policy rule behind it, the
listings with their legal basis and case (an investigator sees case data of their own cases only, as in the view),
the persons who submitted and decided each listing (key holders, never key ids; each normalised, as four eyes
compares them, and by name as written, ``…_name``, as people read them), the exposure with its paths, every
transfer on those paths (tx id, time, position, exact amount with the asset's symbol, reference value), the paths
drawn as a graph, the registry and policy versions, and when and for whom the pack was made.

**What the sha256 covers.** The pack's ``content`` — a JSON object with no floating-point numbers (shares and values
are decimal strings) — serialised canonically: keys sorted, no whitespace, UTF-8 without escapes (RFC 8785, JCS;
in Python ``json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``). The three
formats carry it so that each can be checked on its own (``verify``, ``registry verify-evidence FILE``):

- JSON: ``{"content": …, "sha256": …}``: hash ``content`` as above;
- PDF: the pages are a rendering of ``content``; the exact bytes hashed are attached to the PDF as
  ``evidence.json``, and the hash is printed on every page and stored as the document's subject
  (``sha256:<hex>``): extract the attachment (``pdfdetach``, any PDF reader's attachments pane), hash it, compare;
- CSV: a flat rendering for spreadsheets; its last line is ``sha256,<hex>,…``, the hash of every byte before that
  line (the CSV cannot carry the canonical JSON, so its hash covers the CSV itself).

Every answer also carries ``Repr-Digest: sha-256=:…:`` (RFC 9530) of the bytes sent.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from chains.types import is_unknown_time
from registry.audit.service import record
from registry.auth.service import Principal, display_names
from registry.auth.tables import Role
from registry.cases.queries import member_case_ids
from registry.db.engine import read_only, session_scope
from registry.errors import InvalidInput
from registry.evidence import graph as graphs
from registry.evidence import queries
from registry.investigations import service as investigations
from registry.investigations.models import Trace
from registry.investigations.units import amount as human_amount
from registry.investigations.units import decimal_text, position
from registry.pdf import Attachment, html_to_pdf
from registry.scoring import explain
from registry.scoring.models import AddressView, ExposureWithPaths, ListingRef, TxRef
from registry.scoring.rescore import policy_from
from registry.scoring.settings import ScoringSettings
from registry.scoring.valuation import asset_entry, asset_table, unit_prices
from registry.screening.snapshot import Snapshot

Format = Literal["pdf", "csv", "json"]
FORMATS: tuple[Format, ...] = ("pdf", "csv", "json")
MEDIA_TYPES: dict[str, str] = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "json": "application/json"}
PACK_FORMAT = "registry-evidence-pack"
PACK_VERSION = 1
ATTACHMENT = "evidence.json"
TRACE_HOPS = 3
TRACE_MIN_SHARE = 0.02
TRACE_LIMIT = 25
GRAPH_DESTINATIONS = 10
"""A listed wallet's pack shows where its money went: addresses reached within 3 hops with at least 2 % of its
outflow, the 24 largest (the investigations' forward trace, ``GET …/trace``)."""
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Pack:
    content: dict[str, Any]
    canonical: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.canonical).hexdigest()


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    filename: str
    sha256: str  # the pack's (see the module docstring), not the body's

    @property
    def repr_digest(self) -> str:
        return "sha-256=:" + base64.b64encode(hashlib.sha256(self.body).digest()).decode() + ":"


def canonical(content: dict[str, Any]) -> bytes:
    """RFC 8785 for content without floats: sorted keys, no whitespace, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _dec(x: float, places: int = 6) -> str:
    """A float as plain decimal text (no exponent), so the canonical JSON is the same in every language."""
    text = f"{x:.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return _dec(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return _iso(value)
    return value


def _iso(t: datetime | None) -> str | None:
    if t is None or is_unknown_time(t):
        return None
    aware = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tx_time(text: str) -> str | None:
    """A path transaction's time (ISO text from the scoring's path search), None when unknown."""
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _iso(t)


# ------------------------------------------------------------------------------------------------------- building


def build(
    engine: Engine,
    snapshot: Snapshot,
    scoring: ScoringSettings,
    policy_version: str,
    who: Principal,
    chain: str,
    family: str,
    address: str,
    now: datetime | None = None,
) -> Pack:
    """The pack of one (normalised) address for ``who``: the address view, cut to the investigator's cases."""
    view = explain.address_view(engine, snapshot, chain, family, address, scoring, policy_version)
    view = explain.with_explanation(view, policy_from(scoring))
    with session_scope(read_only(engine)) as s:
        if who.role == Role.investigator:
            view = explain.restrict_to_cases(view, member_case_ids(s, who.holder or ""))
        people = queries.listing_people(s, [x.id for x in view.listings if not x.restricted])
        names = display_names(s, [who.holder, *(h for p in people.values() for h in (p.submitted_by, p.decided_by))])
    trace = None
    if view.direct:  # a listed wallet: where did its money go (the investigations' forward trace)
        trace = investigations.trace_address(
            engine,
            snapshot,
            scoring,
            investigations.Subject(chain, family, address),
            direction="forward",
            hops=TRACE_HOPS,
            min_share=TRACE_MIN_SHARE,
            limit=TRACE_LIMIT,
        )
    content = _content(view, snapshot, scoring, family, people, who, now or datetime.now(UTC), trace, names)
    plain = _plain(content)
    return Pack(plain, canonical(plain))


def _content(
    view: AddressView,
    snapshot: Snapshot,
    scoring: ScoringSettings,
    family: str,
    people: dict[int, queries.ListingPeople],
    who: Principal,
    now: datetime,
    trace: Trace | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``names``: each person's name as written (``registry.auth.service.display_names``); a person missing from it
    reads as their normalised holder."""
    named = names or {}
    table = asset_table(scoring)
    exposures = [("incoming", e) for e in view.exposure.incoming] + [("outgoing", e) for e in view.exposure.outgoing]
    txs: dict[tuple[str, str, int], tuple[TxRef, str, str]] = {}
    for _, e in exposures:
        for p in e.paths:
            for h in p.hops:
                for t in h.transactions:
                    txs.setdefault((t.network, t.tx_id, t.idx), (t, h.from_address, h.to_address))
    prices = unit_prices({(t.network, t.asset) for t, _, _ in txs.values()}, scoring)
    transfers = []
    amounts: dict[tuple[str, str, int], dict[str, Any]] = {}
    for key, (t, frm, to) in txs.items():
        amt = human_amount(
            t.network, t.asset, int(t.amount), asset_entry(table, t.network, t.asset), prices[(t.network, t.asset)]
        )
        amounts[key] = amt
        transfers.append(
            {
                "network": t.network,
                "tx_id": t.tx_id,
                "position": position(t.network, t.idx),
                "time": _tx_time(t.block_time),
                "from": frm,
                "to": to,
                "amount": amt,
            }
        )
    transfers.sort(key=lambda x: (x["time"] is None, x["time"] or "", x["tx_id"]))
    return {
        "pack": {"format": PACK_FORMAT, "version": PACK_VERSION},
        "subject": {"chain": view.chain, "family": view.family, "address": view.address},
        "generated": {
            "at": _iso(now),
            "for": {
                "person": who.holder,
                "person_name": _name(who.holder, named),
                "role": who.role.value,
                "organisation": who.org,
            },
        },
        "versions": {"registry": view.registry_version, "policy": view.policy_version},
        "risk": {"score": view.risk_score, "level": view.risk_level, "action": view.action},
        "explanation": view.explanation.model_dump() if view.explanation is not None else None,
        "explanation_text": view.explanation_text,
        "direct": [d.model_dump() for d in view.direct],
        "listings": [_listing(x, people.get(x.id), named) for x in view.listings],
        "exposure": [_exposure(d, e) for d, e in exposures],
        "transfers": transfers,
        "red_flags": [f.model_dump() for f in view.red_flags],
        "destinations": _destinations(trace),
        "graph": _graph_content(view, exposures, snapshot, family, amounts, trace),
    }


def _destinations(trace: Trace | None) -> dict[str, Any] | None:
    if trace is None:
        return None
    return {
        "hops": trace.hops,
        "min_share": TRACE_MIN_SHARE,
        "truncated": trace.truncated,
        "addresses": [
            {
                "address": n.address,
                "hops": n.hops,
                "share": n.share,
                "value": n.value,
                "listed": n.listed,
                "licensed": n.licensed,
                "entity": n.entity.name if n.entity is not None else None,
                "risk": n.risk.model_dump(),
            }
            for n in trace.nodes
            if n.hops > 0
        ],
    }


def _name(holder: str | None, names: dict[str, str]) -> str | None:
    return names.get(holder, holder) if holder is not None else None


def _listing(x: ListingRef, p: queries.ListingPeople | None, names: dict[str, str]) -> dict[str, Any]:
    """``submitted_by`` / ``decided_by`` are the persons normalised (what a reader compares, as in pack version 1);
    ``submitted_by_name`` / ``decided_by_name`` the same persons as their names are written, for people to read."""
    visible = not x.restricted
    return {
        "id": x.id,
        "chain": x.chain,
        "category": x.category,
        "status": x.status,
        "confidence": x.confidence,
        "source": x.source,
        "legal_basis": x.legal_basis if visible else None,
        "case": {"id": x.case_id, "number": x.case_number, "title": x.case_title} if x.case_id is not None else None,
        "restricted": x.restricted,
        "listed_since": _iso(x.listed_since),
        "valid_until": _iso(x.valid_until),
        "evidence_note": p.evidence_note if p is not None else None,
        "submitted_by": p.submitted_by if p is not None else None,
        "submitted_by_name": _name(p.submitted_by, names) if p is not None else None,
        "submitted_at": _iso(p.submitted_at) if p is not None else None,
        "decided_by": p.decided_by if p is not None else None,
        "decided_by_name": _name(p.decided_by, names) if p is not None else None,
        "decided_at": _iso(p.decided_at) if p is not None else None,
        "decision_reason": p.decision_reason if p is not None else None,
    }


def _exposure(direction: str, e: ExposureWithPaths) -> dict[str, Any]:
    return {
        "direction": direction,
        "category": e.category,
        "share": e.share,
        "min_hops": e.min_hops,
        "paths": [
            {
                "share": p.share,
                "hops": [
                    {
                        "from": h.from_address,
                        "to": h.to_address,
                        "share": h.share,
                        "transfers": [{"network": t.network, "tx_id": t.tx_id, "idx": t.idx} for t in h.transactions],
                    }
                    for h in p.hops
                ],
            }
            for p in e.paths
        ],
    }


def _graph_content(
    view: AddressView,
    exposures: Sequence[tuple[str, ExposureWithPaths]],
    snapshot: Snapshot,
    family: str,
    amounts: dict[tuple[str, str, int], dict[str, Any]],
    trace: Trace | None = None,
) -> dict[str, Any]:
    now = time.time()
    roles: dict[str, tuple[str, str]] = {}
    paths = []
    for direction, e in exposures:
        for p in e.paths:
            hops = []
            for h in p.hops:
                sums: dict[str, tuple[int, int | None]] = {}  # per symbol: raw total, decimals
                for t in h.transactions:
                    a = amounts[(t.network, t.tx_id, t.idx)]
                    name = a["symbol"] or f"{graphs.short(a['asset'])} (raw)"
                    sums[name] = (sums.get(name, (0, None))[0] + int(a["raw"]), a["decimals"])
                label = ", ".join(_human(raw, decimals) + f" {n}" for n, (raw, decimals) in sums.items())
                hops.append((h.from_address, h.to_address, h.share, label))
                for node in (h.from_address, h.to_address):
                    if node not in roles and node != view.address:
                        hits = snapshot.verdict(f"{family}:{node}", now).hits
                        cats = sorted({x.category for x in hits})
                        roles[node] = (graphs.LISTED, "listed: " + ", ".join(cats)) if cats else (graphs.OTHER, "")
            paths.append((direction, hops))
    forward: list[tuple[str, str, float, str]] = []
    hops_of: dict[str, int] = {}
    if trace is not None:
        for n in trace.nodes:
            hops_of[n.address] = n.hops
            if n.address != view.address and n.address not in roles:
                if n.listed:
                    roles[n.address] = (graphs.LISTED, "listed: " + ", ".join(n.listed))
                elif n.licensed:
                    roles[n.address] = (graphs.LICENSED, n.entity.name if n.entity is not None else "licensed")
                else:
                    roles[n.address] = (graphs.OTHER, n.entity.name if n.entity is not None else "")
        # The graph draws the largest destinations; the table lists them all.
        kept = {view.address} | {
            n.address for n in sorted(trace.nodes, key=lambda n: -n.share)[: GRAPH_DESTINATIONS + 1]
        }
        forward = [
            (e.from_, e.to, e.hop_share, f"{e.transfers} transfer" + ("" if e.transfers == 1 else "s"))
            for e in trace.edges
            if e.from_ in kept and e.to in kept
        ]
    g = graphs.layout(view.address, paths, roles, forward, hops_of)
    return {
        "nodes": [
            {"address": n.address, "layer": n.layer, "row": n.row, "role": n.role, "note": n.note}
            for n in g.nodes.values()
        ],
        "edges": [{"from": e.source, "to": e.target, "share": e.share, "label": e.label} for e in g.edges.values()],
    }


def _human(raw: int, decimals: int | None) -> str:
    return decimal_text(raw, decimals) if decimals is not None else str(raw)


def graph_of(content: dict[str, Any]) -> graphs.Graph:
    """The graph stated in ``content``, for drawing."""
    g = graphs.Graph(content["subject"]["address"])
    for n in content["graph"]["nodes"]:
        g.nodes[n["address"]] = graphs.Node(n["address"], int(n["layer"]), int(n["row"]), n["role"], n["note"])
    for e in content["graph"]["edges"]:
        g.edges[(e["from"], e["to"])] = graphs.Edge(e["from"], e["to"], float(e["share"]), e["label"])
    return g


# ------------------------------------------------------------------------------------------------------ rendering


def render(pack: Pack, fmt: Format) -> Rendered:
    c = pack.content
    stem = f"evidence-{c['subject']['chain']}-{c['subject']['address']}-{pack.sha256[:12]}"
    if fmt == "json":
        body = json.dumps(
            {"content": c, "sha256": pack.sha256, "hash_covers": "content, canonical JSON (RFC 8785)"},
            ensure_ascii=False,
            indent=1,
        ).encode()
    elif fmt == "csv":
        body = render_csv(pack)
    elif fmt == "pdf":
        body = render_pdf(pack)
    else:
        raise InvalidInput(f"format must be one of {', '.join(FORMATS)}", details={"in": "query", "field": "format"})
    return Rendered(body, MEDIA_TYPES[fmt], f"{stem}.{fmt}", pack.sha256)


def _amount_text(a: dict[str, Any]) -> str:
    return f"{a['amount']} {a['symbol']}" if a["symbol"] else f"{a['amount']} (raw units of {a['asset']})"


POSITIONS = {
    "log": "token transfer, log",
    "call": "the transaction's own value",
    "trc20": "TRC-20 transfer",
    "output": "output pair",
}
"""How a transfer's position reads (``registry.investigations.units.position``)."""


def _position_text(p: dict[str, Any]) -> str:
    kind = str(p["kind"])
    return POSITIONS.get(kind, kind) + (f" #{p['index']}" if p["index"] is not None else "")


def render_csv(pack: Pack) -> bytes:
    """Blocks (pack, listings, exposure, transfers), each a title row, a header row and its rows, then the hash."""
    c = pack.content
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["evidence pack", PACK_FORMAT, PACK_VERSION])
    for key, value in (
        ("chain", c["subject"]["chain"]),
        ("address", c["subject"]["address"]),
        ("generated_at", c["generated"]["at"]),
        ("generated_for", c["generated"]["for"]["person"]),
        ("generated_for_name", c["generated"]["for"].get("person_name") or ""),
        ("registry_version", c["versions"]["registry"]),
        ("policy_version", c["versions"]["policy"]),
        ("risk_score", c["risk"]["score"]),
        ("risk_level", c["risk"]["level"]),
        ("action", c["risk"]["action"]),
        ("explanation", c["explanation_text"] or ""),
        ("content_sha256", pack.sha256),
    ):
        w.writerow([key, value])
    w.writerow([])
    w.writerow(["listings"])
    cols = ["category", "status", "confidence", "source", "legal_basis", "case_number", "case_title", "listed_since",
            "valid_until", "submitted_by", "submitted_at", "decided_by", "decided_at", "evidence_note",
            "submitted_by_name", "decided_by_name"]  # fmt: skip
    w.writerow(cols)
    for x in c["listings"]:
        case = x["case"] or {}
        w.writerow(
            [x["category"], x["status"], x["confidence"], x["source"], x["legal_basis"] or "", case.get("number") or "",
             case.get("title") or "", x["listed_since"] or "", x["valid_until"] or "", x["submitted_by"] or "",
             x["submitted_at"] or "", x["decided_by"] or "", x["decided_at"] or "", x["evidence_note"] or "",
             x.get("submitted_by_name") or "", x.get("decided_by_name") or ""]
        )  # fmt: skip
    w.writerow([])
    w.writerow(["exposure"])
    w.writerow(["direction", "category", "share", "min_hops", "path", "path_share", "hop", "from", "to", "hop_share"])
    for e in c["exposure"]:
        for i, p in enumerate(e["paths"], 1):
            for j, h in enumerate(p["hops"], 1):
                w.writerow(
                    [e["direction"], e["category"], e["share"], e["min_hops"], i, p["share"], j, h["from"], h["to"],
                     h["share"]]
                )  # fmt: skip
    w.writerow([])
    w.writerow(["transfers"])
    w.writerow(["network", "tx_id", "position", "time_utc", "from", "to", "amount", "symbol", "asset", "raw", "value"])
    for t in c["transfers"]:
        a = t["amount"]
        w.writerow(
            [t["network"], t["tx_id"], _position_text(t["position"]), t["time"] or "unknown", t["from"], t["to"],
             a["amount"], a["symbol"] or "", a["asset"], a["raw"], a["value"]]
        )  # fmt: skip
    w.writerow([])
    body = out.getvalue().encode()
    digest = hashlib.sha256(body).hexdigest()
    return body + f"sha256,{digest},of every byte above this line\r\n".encode()


def _graph_width_mm(g: graphs.Graph) -> float:
    """Wide enough to read (about 40 mm a layer), at most the text width, and never taller than 200 mm."""
    w, h = graphs.figure_size(g)
    return round(min(180.0, 30.0 + 40.0 * len(g.layers), 200.0 * w / h), 1)


def render_pdf(pack: Pack) -> bytes:
    """HTML from the Jinja2 template, PDF by WeasyPrint (DejaVu Sans: Latin and Cyrillic), the canonical content
    attached as ``evidence.json``."""
    import jinja2

    c = pack.content
    graph = graph_of(c)
    svg = graphs.draw_svg(graph)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    html = env.get_template("pack.html.j2").render(
        c=c,
        sha256=pack.sha256,
        graph_uri="data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        graph_width_mm=_graph_width_mm(graph),
        pct=lambda share: graphs.percent(float(share)),
        amount_text=_amount_text,
        position_text=_position_text,
        short=graphs.short,
        attachment=ATTACHMENT,
    )
    attachment = Attachment(ATTACHMENT, pack.canonical.decode(), "the content the sha256 covers")
    return html_to_pdf(html, base_url=TEMPLATES, attachments=[attachment])


# --------------------------------------------------------------------------------------------------------- generate


def generate(
    session: Session,
    engine: Engine,
    snapshot: Snapshot,
    scoring: ScoringSettings,
    policy_version: str,
    who: Principal,
    chain: str,
    family: str,
    address: str,
    fmt: Format,
) -> Rendered:
    """Build, render, and record in the audit log who took which pack (case data leaves the registry with it)."""
    pack = build(engine, snapshot, scoring, policy_version, who, chain, family, address)
    out = render(pack, fmt)
    record(
        session,
        who.actor,
        action="evidence.generate",
        entity_type="address",
        entity_id=f"{family}:{address}",
        after={
            "format": fmt,
            "sha256": pack.sha256,
            "person": who.holder,
            "listings": len(pack.content["listings"]),
            "transfers": len(pack.content["transfers"]),
            "registry_version": pack.content["versions"]["registry"],
        },
    )
    return out


# ----------------------------------------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Verification:
    ok: bool
    kind: str
    stated: str | None
    computed: str | None
    reason: str


def verify(data: bytes) -> Verification:
    """Check a pack in any of the three formats against the hash it states (module docstring)."""
    if data.startswith(b"%PDF"):
        return _verify_pdf(data)
    if data.lstrip().startswith(b"{"):
        try:
            doc = json.loads(data)
            stated = str(doc["sha256"])
            computed = hashlib.sha256(canonical(doc["content"])).hexdigest()
        except (ValueError, KeyError, TypeError) as e:
            return Verification(False, "json", None, None, f"not an evidence pack: {e}")
        return Verification(stated == computed, "json", stated, computed, "content hashed canonically")
    end = data.rstrip(b"\r\n").rfind(b"\n")
    last = data[end + 1 :].decode(errors="replace").strip()
    parts = last.split(",")
    if len(parts) < 2 or parts[0] != "sha256":
        return Verification(False, "csv", None, None, "no sha256 line at the end")
    computed = hashlib.sha256(data[: end + 1]).hexdigest()
    return Verification(parts[1] == computed, "csv", parts[1], computed, "every byte before the last line")


def _verify_pdf(data: bytes) -> Verification:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        subject = str(doc.get_metadata_dict().get("Subject", ""))
        stated = subject.removeprefix("sha256:") if subject.startswith("sha256:") else None
        attached = None
        for i in range(doc.count_attachments()):
            a = doc.get_attachment(i)
            if a.get_name() == ATTACHMENT:
                attached = bytes(a.get_data())
        if attached is None:
            return Verification(False, "pdf", stated, None, f"no {ATTACHMENT} attached")
        computed = hashlib.sha256(attached).hexdigest()
        try:
            canonical_again = canonical(json.loads(attached)) == attached
        except ValueError:
            canonical_again = False
        ok = stated == computed and canonical_again
        reason = f"the attached {ATTACHMENT}" + ("" if canonical_again else ", which is not in canonical form")
        return Verification(ok, "pdf", stated, computed, reason)
    finally:
        doc.close()
