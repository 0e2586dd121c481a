"""The report's charts, drawn by matplotlib on the server as SVG (the HTML embeds it, WeasyPrint draws it into the
PDF): nothing loads from a CDN, and the PDF carries vector graphics that print sharp.

matplotlib's object API (``Figure``), never ``pyplot``: pyplot keeps global state, which two reports rendered at
once by two API threads would share.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from typing import Any

from matplotlib.figure import Figure

CURRENT = "#1f5fa8"
"""This period's bars: a blue the PDF test looks for in the rendered pages."""
PREVIOUS = "#a9b4c2"
SECOND = "#d9822b"
"""The second series of one period (value sent by listed wallets)."""

_DRAWING = threading.Lock()
"""``rc_context`` sets matplotlib's global rcParams for the time of one chart: two API threads drawing at once would
restore each other's settings half-way. A chart takes a tenth of a second; they are drawn one at a time."""
_RC: Any = {"svg.hashsalt": "registry-report", "font.family": "DejaVu Sans", "font.size": 9}


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]  # the XML prologue and doctype cannot sit inside HTML


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    empty: str,
    number: Callable[[float], str],
    value_label: str = "",
) -> str:
    """Horizontal bars, one group per label, one bar per series ``(name, values, colour)``; an SVG document.
    ``number`` writes the bar labels and the axis in the report's language.

    With nothing to draw (every value 0, or no label) the chart says ``empty`` instead of showing bare axes."""
    import matplotlib
    from matplotlib.ticker import FuncFormatter

    with _DRAWING, matplotlib.rc_context(_RC):
        height = 0.8 + 0.24 * max(1, len(labels)) * max(1, len(series))
        fig = Figure(figsize=(7.0, min(height, 7.5)))
        ax = fig.add_subplot()
        if not labels or not any(v for _, values, _ in series for v in values):
            ax.axis("off")
            ax.text(0.5, 0.5, empty, ha="center", va="center", color="#555555")
            fig.set_size_inches(7.0, 0.8)
            return _svg(fig)
        n = len(series)
        width = 0.8 / n
        positions = range(len(labels))
        for i, (name, values, colour) in enumerate(series):
            offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
            bars = ax.barh(offsets, values, height=width, color=colour, label=name)
            ax.bar_label(bars, labels=[number(v) if v else "" for v in values], padding=2, fontsize=7, color="#333")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: number(x)))
        ax.set_yticks(list(positions), labels)
        ax.invert_yaxis()
        ax.set_xlabel(value_label)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.15)
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
        return _svg(fig)
