"""The money graph of an evidence pack: the exposure paths laid out by hop, drawn as SVG with matplotlib.

Layered by hop from the address: where its money came from on the left (incoming exposure: a listed source at
``-k`` hops), where it went on the right (outgoing exposure). A simple layered layout is enough here: the graph
is the union of a few paths of at most ``REGISTRY_SCORING_MAX_HOPS`` hops, never a hairball, and matplotlib needs no
system package (Graphviz would). Text stays text in the SVG (``svg.fonttype: none``), so the addresses in the PDF
can be searched and copied.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SUBJECT = "subject"
LISTED = "listed"
LICENSED = "licensed"
OTHER = "other"
COLOURS = {SUBJECT: ("#dbe8fb", "#1f4e9c"), LISTED: ("#fbdcdc", "#a31515"), LICENSED: ("#dcf3e0", "#1d6b2c")}
DEFAULT_COLOUR = ("#f0f0f0", "#555555")


@dataclass
class Node:
    address: str
    layer: int  # hops from the address: negative where money came from, positive where it went
    row: int = 0
    role: str = OTHER
    note: str = ""  # e.g. the listed categories


@dataclass
class Edge:
    source: str
    target: str
    share: float
    label: str = ""  # e.g. the amounts moved


@dataclass
class Graph:
    subject: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)

    @property
    def layers(self) -> list[int]:
        return sorted({n.layer for n in self.nodes.values()})


def short(address: str) -> str:
    """``0x5b5a…67df``: enough to tell the addresses of one graph apart; the tables carry them in full."""
    return address if len(address) <= 14 else f"{address[:6]}…{address[-4:]}"


def layout(
    subject: str,
    paths: Iterable[tuple[str, Sequence[tuple[str, str, float, str]]]],
    roles: dict[str, tuple[str, str]],
    forward: Sequence[tuple[str, str, float, str]] = (),
    forward_hops: dict[str, int] | None = None,
) -> Graph:
    """``paths``: ``(direction, hops)`` with hops ``(from, to, share, label)`` in the direction the money moved
    (an incoming path ends at the subject, an outgoing one starts there). ``roles``: address → (role, note).
    ``forward``: edges of a forward trace from the subject (where its money went), its nodes at ``forward_hops``.

    A node's layer is its hop distance on the first path that reaches it, signed by direction; rows within a layer
    follow the order the paths are given in (best first), so the strongest path is drawn at the top."""
    g = Graph(subject)
    g.nodes[subject] = Node(subject, 0, role=SUBJECT, note="this address")
    for direction, hops in paths:
        if not hops:
            continue
        chain = [hops[0][0], *(h[1] for h in hops)]
        for i, address in enumerate(chain):
            layer = i - (len(chain) - 1) if direction == "incoming" else i
            if address not in g.nodes:
                role, note = roles.get(address, (OTHER, ""))
                g.nodes[address] = Node(address, layer, role=role, note=note)
        for frm, to, share, label in hops:
            edge = g.edges.get((frm, to))
            if edge is None:
                g.edges[(frm, to)] = Edge(frm, to, share, label)
            else:
                edge.share = max(edge.share, share)
    hops_of = forward_hops or {}
    for frm, to, share, label in forward:
        for address in (frm, to):
            if address not in g.nodes and address in hops_of:
                role, note = roles.get(address, (OTHER, ""))
                g.nodes[address] = Node(address, hops_of[address], role=role, note=note)
        if frm in g.nodes and to in g.nodes and g.nodes[to].layer > g.nodes[frm].layer:
            g.edges[(frm, to)] = Edge(frm, to, share, label)
    rows: dict[int, int] = {}
    for node in g.nodes.values():
        node.row = rows.get(node.layer, 0)
        rows[node.layer] = node.row + 1
    return g


def percent(share: float) -> str:
    """A share as people read it: ``67 %``, ``4.2 %``, ``<0.1 %``."""
    p = share * 100
    return f"{p:.0f} %" if p >= 10 else f"{p:.1f} %" if p >= 0.1 else "<0.1 %"


def figure_size(g: Graph) -> tuple[float, float]:
    """Inches: 2.3 per layer across, 1.1 per row down."""
    rows = max((n.row for n in g.nodes.values()), default=0) + 1
    return max(4.0, 2.3 * len(g.layers)), max(1.6, 1.1 * rows + 0.4)


def draw_svg(g: Graph) -> str:
    """The graph as an SVG document (text kept as text)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib as mpl
    from matplotlib.figure import Figure

    layers = g.layers
    col = {layer: i for i, layer in enumerate(layers)}
    height_rows = max((n.row for n in g.nodes.values()), default=0) + 1
    width_in, height_in = figure_size(g)
    fig = Figure(figsize=(width_in, height_in))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(-0.6, len(layers) - 0.4)
    ax.set_ylim(-height_rows + 0.4, 0.6)

    def pos(n: Node) -> tuple[float, float]:
        offset = (height_rows - 1 - max(r.row for r in g.nodes.values() if r.layer == n.layer)) / 2
        return float(col[n.layer]), -(n.row + offset)

    style: dict[str, Any] = {"family": "DejaVu Sans", "fontsize": 8}
    for edge in g.edges.values():
        a, b = g.nodes[edge.source], g.nodes[edge.target]
        (x1, y1), (x2, y2) = pos(a), pos(b)
        ax.annotate(
            "",
            xy=(x2, y2),
            xytext=(x1, y1),
            arrowprops={
                "arrowstyle": "-|>",
                "color": "#333333",
                "lw": 0.8 + 2.2 * max(0.0, min(1.0, edge.share)),
                "shrinkA": 44,
                "shrinkB": 44,
                "connectionstyle": "arc3,rad=0.0" if y1 == y2 else "arc3,rad=0.08",
            },
        )
        text = percent(edge.share) + (f"\n{edge.label}" if edge.label else "")
        ax.text((x1 + x2) / 2, (y1 + y2) / 2 + 0.14, text, ha="center", va="bottom", color="#333333", **style)
    for n in g.nodes.values():
        x, y = pos(n)
        face, edgecolour = COLOURS.get(n.role, DEFAULT_COLOUR)
        label = short(n.address) + (f"\n{n.note}" if n.note else "")
        ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.4", "fc": face, "ec": edgecolour, "lw": 1.2},
            **style,
        )
    out = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "evidence"}):
        fig.savefig(out, format="svg")
    return out.getvalue()
