"""Server-rendered SVG charts: bars (grouped) and lines, each with its <title> and <desc>.

No script and no style attribute (the console's CSP): colours come from classes in
``console.css``. Every chart is accompanied on its page by a table of the same figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 36


@dataclass(frozen=True)
class Series:
    name: str
    kind: str  # a colour class: chart__s1 … chart__s4
    values: Sequence[int]


def _nice_top(top: int) -> int:
    """The axis' top: four equal whole steps of 1, 2, 2.5 or 5 times a power of ten, at least ``top``."""
    quarter = max(1, -(-top // 4))
    magnitude = 10 ** (len(str(quarter)) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        step = int(factor * magnitude)
        if step >= quarter and step == factor * magnitude:
            return step * 4
    return 40 * magnitude


def _frame(chart_id: str, title: str, desc: str, top: int, fmt: Callable[[int], str], labels: Sequence[str], slot: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    for i in range(5):  # gridlines and their values
        value = top * i // 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="chart__grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(value))}</text>')
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            x = LEFT + slot * (i + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    return parts


def bars(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], fmt: Callable[[int], str] = str) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    top = _nice_top(max([v for s in series for v in s.values] or [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    parts = _frame(chart_id, title, desc, top, fmt, labels, slot)
    width = min(48.0, slot * 0.8 / max(1, len(series)))
    for i, label in enumerate(labels):
        for j, s in enumerate(series):
            value = s.values[i]
            h = plot_h * max(0, value) / top
            x = LEFT + slot * i + (slot - width * len(series)) / 2 + width * j
            parts.append(
                f'<rect class="{s.kind}" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(1.0, width - 1):.1f}" height="{h:.1f}">'
                f"<title>{escape(label)}: {escape(s.name)} — {escape(fmt(value))}</title></rect>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], fmt: Callable[[int], str] = str) -> Markup:
    """One line (with a dot per point) per series."""
    top = _nice_top(max([v for s in series for v in s.values] or [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    parts = _frame(chart_id, title, desc, top, fmt, labels, slot)
    for s in series:
        points = [(LEFT + slot * (i + 0.5), TOP + plot_h - plot_h * max(0, v) / top) for i, v in enumerate(s.values)]
        if len(points) > 1:
            parts.append(f'<polyline class="{s.kind} chart__line" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"/>')
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            parts.append(f'<circle class="{s.kind}" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(label)}: {escape(s.name)} — {escape(fmt(value))}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
