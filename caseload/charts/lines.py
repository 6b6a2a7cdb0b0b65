"""Line charts, and the sparklines beside a table's rows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.safestring import SafeString

from caseload.charts.svg import (
    ABOVE,
    BLACK,
    BRAND,
    FAINT,
    GRID,
    SECONDARY_TEXT,
    SVG_NS,
    _ceiling,
    _clean,
    _dash,
    _dec,
    _fraction,
    _join,
    _key,
    _KeyItem,
    _px,
    _svg,
    _text,
    _text_width,
    _ticks,
)
from caseload.formatting import plain_number
from caseload.markup import format_html

# A line chart's reference line: dash-dot, so it is not mistaken for a dashed series.
REFERENCE_DASH = "12 4 2 4"


@dataclass(frozen=True)
class Series:
    """One line of a line chart. Its look comes from ``stroke``/``stroke_width``/
    ``dasharray`` when given, else from the known ``css_class`` (``--load``,
    ``--capacity``), else from a small palette by position."""

    name: str
    values: Sequence[Decimal | None]
    css_class: str = ""
    stroke: str = ""
    stroke_width: int = 0
    dasharray: str = ""


_LINE_STYLES: dict[str, tuple[str, int, str]] = {
    "app-chart__line--load": (BRAND, 3, ""),
    "app-chart__line--capacity": (BLACK, 2, "6 4"),
}
_LINE_PALETTE: tuple[tuple[str, int, str], ...] = (
    (BRAND, 3, ""),
    (BLACK, 2, "6 4"),
    (ABOVE, 3, "2 3"),
    (SECONDARY_TEXT, 2, "10 3 2 3"),
)


def _clear_place(
    runs: list[list[tuple[float, float]]],
    text_w: float,
    line_y: float,
    *,
    left: float,
    right: float,
) -> tuple[float, float]:
    """Where the reference line's label goes (its right end and baseline):
    above the line at the right, else below it, else the same at the left;
    the first place no series line crosses."""
    places = [
        (right, line_y - 6),
        (right, line_y + 16),
        (left + text_w, line_y - 6),
        (left + text_w, line_y + 16),
    ]

    def crossed(end: float, baseline: float) -> bool:
        x0, x1, y0, y1 = end - text_w - 2, end + 2, baseline - 13, baseline + 4
        for run in runs:
            for (ax, ay), (bx, by) in itertools.pairwise(run):
                for step in range(41):
                    t = step / 40
                    px, py = ax + (bx - ax) * t, ay + (by - ay) * t
                    if x0 <= px <= x1 and y0 <= py <= y1:
                        return True
        return False

    return next((place for place in places if not crossed(*place)), None)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    reference: Decimal | None = None,
    reference_label: str = "",
    chart_id: str | None = None,
) -> SafeString:
    """A line chart of one or more series over the same labels, with a key of
    the series at the top and, optionally, a dashed reference line. A ``None``
    value leaves a gap; a point with gaps on both sides is drawn as a dot."""
    width, left, right, bottom, plot_h = 640, 44, 28, 28, 180
    styles = [_series_style(s, i) for i, s in enumerate(series)]
    reference_label = reference_label or (
        f"Reference {plain_number(reference)}" if reference is not None else ""
    )
    key_items = [
        _KeyItem("line", s.name, colour, w, dash)
        for s, (colour, w, dash) in zip(series, styles, strict=True)
    ]
    if reference is not None:
        # The reference line is in the key too: its label beside the line is
        # left out where every place for it would cross a series.
        key_items.append(_KeyItem("line", reference_label, SECONDARY_TEXT, 2, REFERENCE_DASH))
    key, key_h = _key(
        key_items,
        x0=left,
        y0=4,
        right_edge=width - right,
    )
    top = key_h + 16
    height = top + plot_h + bottom
    plot_w = width - left - right
    reference = _dec(reference)
    figures = [_dec(v) for s in series for v in s.values]
    ceiling = _ceiling([*figures, reference])
    step = plot_w / max(1, len(labels) - 1)

    def x(index: int) -> float:
        return left + index * step

    def y(value: Decimal) -> float:
        return top + plot_h - _fraction(value, ceiling) * plot_h

    grid = _join(
        format_html(
            '<line class="app-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
            'stroke-width="1"/>{}',
            left,
            width - right,
            _px(y(v)),
            _px(y(v)),
            GRID,
            _text(
                "app-chart__axis",
                left - 6,
                y(v) + 4,
                plain_number(v),
                fill=SECONDARY_TEXT,
                anchor="end",
            ),
        )
        for v in _ticks(ceiling)
    )
    ticks = _join(
        _text("app-chart__axis", x(i), height - 8, labels[i], fill=SECONDARY_TEXT, anchor="middle")
        for i in _shown_labels(len(labels))
    )
    lines, runs = [], []
    for s, (colour, stroke_width, dash) in zip(series, styles, strict=True):
        known = [(i, v) for i, v in enumerate(_dec(v) for v in s.values) if v is not None]
        for run in _runs([i for i, _ in known], [(x(i), y(v)) for i, v in known]):
            runs.append(run)
            lines.append(_line_or_dot(run, s.css_class, colour, stroke_width, dash, s.name))
    ref = SafeString("")
    if reference is not None:
        label = reference_label
        place = _clear_place(runs, _text_width(label), y(reference), left=left, right=width - right)
        ref = format_html(
            '<g class="app-chart__reference"><title>{}</title>'
            '<line class="app-chart__reference-line" x1="{}" x2="{}" y1="{}" y2="{}" '
            'stroke="{}" stroke-width="2" stroke-dasharray="{}"/>{}</g>',
            _clean(label),
            left,
            width - right,
            _px(y(reference)),
            _px(y(reference)),
            SECONDARY_TEXT,
            REFERENCE_DASH,
            _text("app-chart__reference-label", *place, label, anchor="end")
            if place
            else SafeString(""),
        )
    return _svg(
        "app-chart",
        width,
        height,
        title,
        description,
        chart_id,
        [key, grid, ticks, ref, _join(lines)],
    )


def _series_style(series: Series, index: int) -> tuple[str, int, str]:
    colour, width, dash = _LINE_STYLES.get(
        series.css_class, _LINE_PALETTE[index % len(_LINE_PALETTE)]
    )
    return (
        series.stroke or colour,
        series.stroke_width or width,
        series.dasharray or dash,
    )


def _shown_labels(count: int) -> list[int]:
    """Every second label; every ⌈n/6⌉-th past 12; always the last (past 12,
    dropping the one before it when the two would sit too close together)."""
    if count == 0:
        return []
    every = math.ceil(count / 6) if count > 12 else 2
    shown = list(range(0, count, every))
    if shown[-1] != count - 1:
        if count > 12 and (count - 1 - shown[-1]) * 2 < every:
            shown.pop()
        shown.append(count - 1)
    return shown


def _runs(indexes: list[int], points: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Points split wherever an index is skipped (a None in the data)."""
    runs: list[list[tuple[float, float]]] = []
    previous = None
    for index, point in zip(indexes, points, strict=True):
        if previous is None or index != previous + 1:
            runs.append([])
        runs[-1].append(point)
        previous = index
    return runs


def _line_or_dot(
    run: list[tuple[float, float]],
    css_class: str,
    colour: str,
    stroke_width: int,
    dash: str,
    name: str,
) -> SafeString:
    if len(run) == 1:
        return format_html(
            '<circle class="app-chart__point {}" cx="{}" cy="{}" r="{}" fill="{}">'
            "<title>{}</title></circle>",
            css_class,
            _px(run[0][0]),
            _px(run[0][1]),
            stroke_width + 1,
            colour,
            _clean(name),
        )
    return format_html(
        '<polyline class="app-chart__line {}" points="{}" fill="none" stroke="{}" '
        'stroke-width="{}"{} stroke-linejoin="round"><title>{}</title></polyline>',
        css_class,
        " ".join(f"{_px(px)},{_px(py)}" for px, py in run),
        colour,
        stroke_width,
        _dash(dash),
        _clean(name),
    )


def sparkline(
    values: Sequence[Decimal | None],
    *,
    marker: Decimal | None = None,
    width: int = 120,
    height: int = 28,
) -> SafeString:
    """A tiny decorative trend line, hidden from screen readers (the figures are
    in the table beside it): gaps for None, a faint dashed line at the marker and
    a dot on the last figure."""
    pad = 3
    figures = [_dec(v) for v in values]
    marker = _dec(marker)
    highest = max((v for v in [*figures, marker] if v is not None), default=Decimal(0))
    ceiling = highest * Decimal("1.1") if highest > 0 else Decimal(1)
    step = (width - 2 * pad) / max(1, len(figures) - 1)

    def x(index: int) -> float:
        return pad + index * step if len(figures) > 1 else width / 2

    def y(value: Decimal) -> float:
        return height - pad - max(0.0, _fraction(value, ceiling)) * (height - 2 * pad)

    known = [(i, v) for i, v in enumerate(figures) if v is not None]
    indexes = [i for i, _ in known]
    points = [(x(i), y(v)) for i, v in known]
    parts = []
    if marker is not None:
        parts.append(
            format_html(
                '<line class="app-chart__sparkline-marker" x1="0" x2="{}" y1="{}" y2="{}" '
                'stroke="{}" stroke-width="1" stroke-dasharray="3 2"/>',
                width,
                _px(y(marker)),
                _px(y(marker)),
                FAINT,
            )
        )
    for run in _runs(indexes, points):
        if len(run) > 1:
            parts.append(
                format_html(
                    '<polyline class="app-chart__sparkline-line" points="{}" fill="none" '
                    'stroke="{}" stroke-width="2" stroke-linejoin="round"/>',
                    " ".join(f"{_px(px)},{_px(py)}" for px, py in run),
                    BRAND,
                )
            )
        elif run[0] != points[-1]:
            parts.append(_dot(run[0], 1.5))
    if points:
        parts.append(_dot(points[-1], 2.5))
    return format_html(
        '<svg xmlns="{}" class="app-chart__sparkline" width="{}" height="{}" '
        'viewBox="0 0 {} {}" aria-hidden="true" focusable="false">{}</svg>',
        SVG_NS,
        width,
        height,
        width,
        height,
        _join(parts),
    )


def _dot(point: tuple[float, float], radius: float) -> SafeString:
    return format_html(
        '<circle class="app-chart__sparkline-dot" cx="{}" cy="{}" r="{}" fill="{}"/>',
        _px(point[0]),
        _px(point[1]),
        radius,
        BRAND,
    )
