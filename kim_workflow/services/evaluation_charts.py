"""Charts of the evaluation as SVG (matplotlib, Agg backend, no pyplot state): German labels, deterministic bytes.

A choice, yes/no or scale question gets grouped horizontal bars (Landkreise and kreisfreie Städte, count per
option); a number question a box plot per kind. The SVG is embedded in the HTML report as a data URI.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

COLOURS = ("#1f5a96", "#e08a1e")
"""Landkreise, kreisfreie Städte (distinguishable in greyscale print too)."""
SVG_HASHSALT = "kim-evaluation"
"""Fixed ids in the SVG: the same data gives the same bytes."""
WIDTH_INCHES = 6.5
LABEL_WIDTH = 38


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Grouped horizontal bars: ``series`` are (name, one count per label); returns SVG text."""
    height = 0.9 + 0.42 * len(labels) * max(1, len(series)) / 1.6
    figure = Figure(figsize=(WIDTH_INCHES, height))
    axes = figure.subplots()
    step = 0.8 / max(1, len(series))
    positions = list(range(len(labels)))
    for index, (name, counts) in enumerate(series):
        offsets = [p - 0.4 + step * (index + 0.5) for p in positions]
        axes.barh(offsets, list(counts), height=step * 0.9, label=name, color=COLOURS[index % len(COLOURS)])
    axes.set_yticks(positions, [textwrap.fill(label, LABEL_WIDTH) for label in labels], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("Anzahl Kommunen", fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, frameon=False, loc="lower right")
    axes.set_title(textwrap.fill(title, 80), fontsize=9, loc="left")
    return _svg(figure)


def box_chart(title: str, unit: str, groups: Sequence[tuple[str, Sequence[Decimal]]]) -> str:
    """A box plot per group of number answers (groups without answers are left out); returns SVG text."""
    shown = [(name, [float(v) for v in values]) for name, values in groups if values]
    figure = Figure(figsize=(WIDTH_INCHES, 0.9 + 0.6 * max(1, len(shown))))
    axes = figure.subplots()
    if shown:
        axes.boxplot([values for _, values in shown], orientation="horizontal", widths=0.5)
        axes.set_yticks(range(1, len(shown) + 1), [name for name, _ in shown], fontsize=8)
        axes.invert_yaxis()
    axes.set_xlabel(unit or "Wert", fontsize=8)
    axes.tick_params(axis="x", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(textwrap.fill(title, 80), fontsize=9, loc="left")
    return _svg(figure)


def _svg(figure: Figure) -> str:
    figure.set_layout_engine("tight")
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "none"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue().decode("utf-8")


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
