"""Small charts drawn on the server as SVG: no script, readable when printed,
each with a title and description and always beside a table of its numbers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from caseload.formatting import plain_number


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Decimal]
    css_class: str


def line_chart(
    labels: list[str], series: list[Series], *, title: str, description: str
) -> SafeString:
    """A line chart of one or more series over the same labels."""
    width, height, left, bottom, top, right = 640, 220, 44, 28, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((v for s in series for v in s.values), default=Decimal(0))
    ceiling = max(Decimal(10), (highest * Decimal("1.1")).quantize(Decimal(1)))
    step = plot_w / max(1, len(labels) - 1)

    def x(index: int) -> str:
        return f"{left + index * step:.1f}"

    def y(value: Decimal, shift: int = 0) -> str:
        return f"{top + plot_h - float(value / ceiling) * plot_h + shift:.1f}"

    gridlines = [ceiling * Decimal(n) / 4 for n in range(5)]
    grid = format_html_join(
        "",
        '<line class="app-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="app-chart__axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (left, width - right, y(v), y(v), left - 6, y(v, 4), plain_number(v.quantize(1)))
            for v in gridlines
        ),
    )
    ticks = format_html_join(
        "",
        '<text class="app-chart__axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((x(i), height - 8, label) for i, label in enumerate(labels) if i % 2 == 0),
    )
    lines = format_html_join(
        "",
        '<polyline class="app-chart__line {}" points="{}"><title>{}</title></polyline>',
        (
            (
                s.css_class,
                " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(s.values)),
                s.name,
            )
            for s in series
        ),
    )
    return format_html(
        '<svg class="app-chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}{}{}</svg>',
        width,
        height,
        _slug(title),
        _slug(title),
        _slug(title),
        title,
        _slug(title),
        description,
        grid,
        ticks,
        lines,
    )


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
