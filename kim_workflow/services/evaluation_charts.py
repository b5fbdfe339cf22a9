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
from matplotlib.ticker import FuncFormatter, MaxNLocator

COLOURS = ("#1f5a96", "#e08a1e")
"""Landkreise, kreisfreie Städte (distinguishable in greyscale print too)."""
SVG_HASHSALT = "kim-evaluation"
"""Fixed ids in the SVG: the same data gives the same bytes."""
WIDTH_INCHES = 6.5
LABEL_WIDTH = 38
TITLE_WIDTH = 90
CHAR_INCHES = 0.062
"""Width of a character of 8 pt DejaVu Sans, on average."""


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Grouped horizontal bars: ``series`` are (name, one count per label); returns SVG text."""
    wrapped = [textwrap.fill(label, LABEL_WIDTH) for label in labels]
    height = 0.9 + 0.42 * len(labels) * max(1, len(series)) / 1.6 + 0.12 * sum(w.count("\n") for w in wrapped)
    figure = Figure(figsize=(WIDTH_INCHES, height))
    axes = figure.subplots()
    step = 0.8 / max(1, len(series))
    positions = list(range(len(labels)))
    for index, (name, counts) in enumerate(series):
        offsets = [p - 0.4 + step * (index + 0.5) for p in positions]
        axes.barh(offsets, list(counts), height=step * 0.9, label=name, color=COLOURS[index % len(COLOURS)])
    axes.set_yticks(positions, wrapped, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("Anzahl Kommunen", fontsize=8)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="x", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    if series:
        figure.legend(fontsize=8, frameon=False, loc="upper right", ncols=len(series), bbox_to_anchor=(0.97, 1))
    return _svg(figure, title, wrapped)


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
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}".replace(".", ",")))  # German decimals
    axes.tick_params(axis="x", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure, title, [name for name, _ in shown])


def _svg(figure: Figure, title: str, labels: Sequence[str]) -> str:
    """Margins computed from the text (a layout engine would draw every chart twice: four times slower)."""
    heading = textwrap.fill(title, TITLE_WIDTH)
    width, height = figure.get_size_inches()
    label_inches = max((len(line) for label in labels for line in label.split("\n")), default=4) * CHAR_INCHES
    top_inches = 0.45 + 0.16 * (heading.count("\n") + 1)  # title lines and the legend's row
    figure.suptitle(heading, fontsize=9, x=0.02, y=1 - 0.32 / height, ha="left", va="top")
    figure.subplots_adjust(left=min(0.5, (label_inches + 0.2) / width), right=0.97,
                           top=1 - top_inches / height, bottom=0.45 / height)  # fmt: skip
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "none"}):
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue().decode("utf-8")


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
