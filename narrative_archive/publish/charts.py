"""Charts for the published archive as plain SVG, drawn on the server: no script, no
library, nothing fetched. They follow one set of rules (issue 20, "charts that do not
mislead"):

- counts are bars on an integer axis (ticks 0, 1, 2 ... or a round step), never 0 1 1 2 2;
- every period of the range is drawn, an empty one as zero; no line joins two periods;
- a stance has one colour everywhere (STANCE_COLOURS, also the dashboard's), a narrative
  one colour everywhere (narrative_colour, by the narrative's place in id order), and the
  two palettes share no colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

STANCES = ("asserts", "reports", "disputes", "unlabelled")
STANCE_COLOURS = {"asserts": "#d62728", "reports": "#1f77b4", "disputes": "#2ca02c",
                  "unlabelled": "#bbbbbb"}
STANCE_LABELS = {"asserts": "asserts (in its own voice)", "reports": "reports (attributed)",
                 "disputes": "disputes (denies or rebuts)", "unlabelled": "no stance read"}
# Narratives: colours no stance uses (no red, blue, green or grey), in id order.
NARRATIVE_COLOURS = ("#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                     "#ffbb78", "#c5b0d5", "#f7b6d2", "#dbdb8d")


def narrative_colour(index: int) -> str:
    """The colour of the narrative at this place in id order (the same on every chart)."""
    return NARRATIVE_COLOURS[index % len(NARRATIVE_COLOURS)]


def integer_ticks(top: int, most: int = 5) -> list[int]:
    """Integer ticks from 0 to at least `top`, a round step apart, at most `most` + 1."""
    top = max(int(top), 1)
    raw = top / most
    magnitude = 10 ** max(int(math.floor(math.log10(raw))) if raw >= 1 else 0, 0)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(int(step), 1)
    return list(range(0, (top + step - 1) // step * step + 1, step))


def stacked_bars(periods: Sequence[str], series: Mapping[str, Sequence[int]],
                 colours: Mapping[str, str], *, markers: Sequence[int] | None = None,
                 marker_label: str = "stories", width: int = 900, height: int = 220,
                 title: str = "", labels: Mapping[str, str] | None = None) -> Markup:
    """Bars per period, stacked by series (in the order given), with an optional marker
    per period (e.g. distinct stories beside the articles). SVG markup; every value is a
    <title> tooltip, and the numbers are in the page's table too."""
    labels = labels or {}
    count = max(len(periods), 1)
    totals = [sum(values[i] for values in series.values()) for i in range(len(periods))]
    top = max([*totals, *(markers or []), 1])
    ticks = integer_ticks(top)
    left, right, top_pad, bottom = 44, 8, 10, 34
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    scale = plot_h / ticks[-1]
    slot = plot_w / count
    bar = max(min(slot * 0.8, 40), 1)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for tick in ticks:
        y = top_pad + plot_h - tick * scale
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{tick}</text>')
    for i, period in enumerate(periods):
        x = left + i * slot + (slot - bar) / 2
        y = top_pad + plot_h
        for name, values in series.items():
            value = values[i]
            if not value:
                continue
            h = value * scale
            y -= h
            parts.append(
                f'<rect class="bar stance-{escape(name)}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colours.get(name, "#999")}">'
                f"<title>{escape(period)}: {value} {escape(labels.get(name, name))}</title></rect>")
        if markers is not None:
            my = top_pad + plot_h - markers[i] * scale
            parts.append(
                f'<line class="marker" x1="{x - 2:.1f}" x2="{x + bar + 2:.1f}" y1="{my:.1f}" '
                f'y2="{my:.1f}" stroke="#111" stroke-width="2"><title>{escape(period)}: '
                f"{markers[i]} {escape(marker_label)}</title></line>")
    every = max(1, math.ceil(count / 12))
    for i, period in enumerate(periods):
        if i % every == 0:
            x = left + i * slot + slot / 2
            parts.append(f'<text class="period" x="{x:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" font-size="11">{escape(period)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top_pad + plot_h}" '
                 f'y2="{top_pad + plot_h}" stroke="#333"/></svg>')
    return Markup("".join(parts))


def sparkbars(values: Sequence[int], colour: str, *, width: int = 240, height: int = 40,
              title: str = "") -> Markup:
    """A small bar chart (one bar per period, empty ones as gaps at zero), with its
    maximum written beside it so the height has a scale."""
    count = max(len(values), 1)
    top = max([*values, 1])
    slot = (width - 30) / count
    parts = [f'<svg class="sparkbars" role="img" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
             f"<title>{escape(title)}</title>"]
    for i, value in enumerate(values):
        if value:
            h = value / top * (height - 4)
            parts.append(f'<rect x="{i * slot:.2f}" y="{height - h:.2f}" '
                         f'width="{max(slot - 0.5, 0.5):.2f}" height="{h:.2f}" fill="{colour}"/>')
    parts.append(f'<line x1="0" x2="{width - 30}" y1="{height - 0.5}" y2="{height - 0.5}" '
                 f'stroke="#999"/><text x="{width - 27}" y="10" font-size="10">{top}</text>'
                 "</svg>")
    return Markup("".join(parts))
