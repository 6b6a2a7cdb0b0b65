"""Small charts drawn on the server as SVG: no script, readable when printed,
each with a title and description and always beside a table of its numbers.

Every colour, stroke and font is an SVG presentation attribute, so a chart looks
the same in the browser and in a PDF made by WeasyPrint without our stylesheet;
no ``style`` attribute or element (the Content-Security-Policy forbids inline
styles). Each element keeps an ``app-chart__…`` class as a hook. Labels are
escaped by ``format_html`` (``caseload.markup``'s). Figures are Decimals (or
ints); ``None`` means "no figure" and is never drawn as zero. Floats appear
only as pixel coordinates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.utils.safestring import SafeString

from caseload.formatting import plain_number
from caseload.markup import format_html, join_html

SVG_NS = "http://www.w3.org/2000/svg"

BLACK = "#0b0c0c"
SECONDARY_TEXT = "#484949"
GRID = "#cecece"
FAINT = "#b1b4b6"
WHITE = "#ffffff"
BRAND = "#0b5563"
ABOVE = "#942514"

FONT_SIZE = 14
_FONT = "font-family=\"Arial, 'Liberation Sans', sans-serif\""
_TEXT = (
    '<text class="{}" x="{}" y="{}" ' + _FONT + ' font-size="{}" fill="{}" text-anchor="{}">'
    "{}</text>"
)

LABEL_CHARACTERS = 28  # longer row labels are cut short with an ellipsis
KEY_ROW_HEIGHT = 24
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


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: a figure and, say, that team's aspiration."""

    label: str
    value: Decimal | None
    marker: Decimal | None = None


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: its name in the key, fill and text colours."""

    name: str
    fill: str
    text_fill: str


# Fill and text colours of the capacity bands, blue to red.
BAND_COLOURS: tuple[tuple[str, str], ...] = (
    ("#d2e2f1", "#0f385c"),
    ("#cfe4dc", "#083d29"),
    ("#fde4d7", "#7a3c1c"),
    ("#f4d7d7", "#651b1b"),
)


def band_segments(names: Sequence[str]) -> tuple[Segment, ...]:
    """The bands' parts of a stacked bar, named by the service's own
    thresholds (`Bands.headings`), blue to red."""
    return tuple(
        Segment(name, fill, text_fill)
        for name, (fill, text_fill) in zip(names, BAND_COLOURS, strict=True)
    )


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


# Line chart -------------------------------------------------------------------


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
    key, key_h = _key(
        [
            _KeyItem("line", s.name, colour, w, dash)
            for s, (colour, w, dash) in zip(series, styles, strict=True)
        ],
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
    lines = []
    for s, (colour, stroke_width, dash) in zip(series, styles, strict=True):
        known = [(i, v) for i, v in enumerate(_dec(v) for v in s.values) if v is not None]
        for run in _runs([i for i, _ in known], [(x(i), y(v)) for i, v in known]):
            lines.append(_line_or_dot(run, s.css_class, colour, stroke_width, dash, s.name))
    ref = SafeString("")
    if reference is not None:
        label = reference_label or f"Reference {plain_number(reference)}"
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
            _text(
                "app-chart__reference-label", width - right, y(reference) - 6, label, anchor="end"
            ),
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


# Bar chart --------------------------------------------------------------------


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    description: str,
    reference: Decimal | None = None,
    reference_label: str = "",
    marker_label: str = "",
    value_places: int = 1,
    within_label: str = "Within aspiration",
    above_label: str = "Above aspiration",
    chart_id: str | None = None,
) -> SafeString:
    """Horizontal bars, one row each, the figure written at the end of the bar.
    A bar's marker is a short thick tick across its row, and a bar over its
    marker is darker red and says "(above)"; the reference is one dashed line
    across all rows. The height grows with the number of rows."""
    width, label_w, right, row_h, bar_h = 960, 210, 120, 30, 18
    plot_left, plot_w = label_w, width - label_w - right
    reference = _dec(reference)
    rows = [(bar.label, _dec(bar.value), _dec(bar.marker)) for bar in bars]
    ceiling = _ceiling([v for _, value, marker in rows for v in (value, marker)] + [reference])
    has_markers = any(marker is not None for _, _, marker in rows)

    items = []
    if has_markers:
        items += [
            _KeyItem("swatch", within_label, BRAND),
            _KeyItem("swatch", above_label, ABOVE),
            _KeyItem("tick", marker_label or "Marker", BLACK),
        ]
    if reference is not None:
        ref_label = reference_label or f"Reference {plain_number(reference)}"
        items.append(_KeyItem("line", ref_label, BLACK, 2, "6 4"))
    key, key_h = _key(items, x0=4, y0=4, right_edge=width - 4)
    rows_top = key_h + 12
    rows_bottom = rows_top + max(1, len(rows)) * row_h
    height = rows_bottom + 30

    def x(value: Decimal) -> float:
        return plot_left + max(0.0, _fraction(value, ceiling)) * plot_w

    parts = [key, _vertical_grid(ceiling, x, rows_top, rows_bottom)]
    if reference is not None:
        parts.append(
            format_html(
                '<line class="app-chart__reference" x1="{}" x2="{}" y1="{}" y2="{}" '
                'stroke="{}" stroke-width="2" stroke-dasharray="6 4"><title>{}</title></line>',
                _px(x(reference)),
                _px(x(reference)),
                rows_top - 6,
                rows_bottom,
                BLACK,
                _clean(ref_label),
            )
        )
    if not rows:
        parts.append(_text("app-chart__empty", plot_left + 8, rows_top + row_h / 2 + 5, "None"))
    for index, (label, value, marker) in enumerate(rows):
        top = rows_top + index * row_h
        bar_y = top + (row_h - bar_h) / 2
        above = value is not None and marker is not None and value > marker
        end = plot_left
        bar = SafeString("")
        if value is not None:
            end = x(value)
            bar = format_html(
                '<rect class="app-chart__bar{}" x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
                " app-chart__bar--above" if above else "",
                plot_left,
                _px(bar_y),
                _px(end - plot_left),
                bar_h,
                ABOVE if above else BRAND,
            )
        tick = SafeString("")
        if marker is not None:
            end = max(end, x(marker))
            tick = format_html(
                '<line class="app-chart__marker" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
                'stroke-width="4"/>',
                _px(x(marker)),
                _px(x(marker)),
                _px(bar_y - 4),
                _px(bar_y + bar_h + 4),
                BLACK,
            )
        if value is None:
            figure, fill = "No figure", SECONDARY_TEXT
        else:
            figure, fill = _places(value, value_places) + (" (above)" if above else ""), BLACK
        parts.append(
            format_html(
                '<g class="app-chart__row"><title>{}</title>{}{}{}{}</g>',
                _clean(label),
                _text(
                    "app-chart__label",
                    label_w - 8,
                    top + row_h / 2 + 5,
                    _short(label),
                    anchor="end",
                ),
                bar,
                tick,
                _text("app-chart__value", end + 8, top + row_h / 2 + 5, figure, fill=fill),
            )
        )
    return _svg("app-chart app-chart--wide", width, height, title, description, chart_id, parts)


# Stacked bar chart -------------------------------------------------------------


def stacked_bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]],
    segments: Sequence[Segment],
    *,
    title: str,
    description: str,
    chart_id: str | None = None,
) -> SafeString:
    """Horizontal stacked bars on one scale (the largest row total), each part's
    count written inside it when there is room, the row total at the end."""
    width, label_w, right, row_h, bar_h = 960, 210, 60, 30, 20
    plot_left, plot_w = label_w, width - label_w - right
    totals = [sum(counts) for _, counts in rows]
    ceiling = Decimal(max([1, *totals]))
    key, key_h = _key(
        [_KeyItem("swatch", s.name, s.fill) for s in segments], x0=4, y0=4, right_edge=width - 4
    )
    rows_top = key_h + 12
    rows_bottom = rows_top + max(1, len(rows)) * row_h
    height = rows_bottom + 30

    def x(value: Decimal | int) -> float:
        return plot_left + _fraction(Decimal(value), ceiling) * plot_w

    parts = [key, _vertical_grid(ceiling, x, rows_top, rows_bottom, whole=True)]
    if not rows:
        parts.append(_text("app-chart__empty", plot_left + 8, rows_top + row_h / 2 + 5, "None"))
    for index, ((label, counts), total) in enumerate(zip(rows, totals, strict=True)):
        top = rows_top + index * row_h
        bar_y = top + (row_h - bar_h) / 2
        baseline = top + row_h / 2 + 5
        pieces = []
        done = 0
        for segment, count in zip(segments, counts, strict=True):
            if count <= 0:
                continue
            start, end = x(done), x(done + count)
            done += count
            inside = SafeString("")
            if end - start >= max(18, _text_width(str(count)) + 6):
                inside = _text(
                    "app-chart__count",
                    (start + end) / 2,
                    baseline,
                    count,
                    fill=segment.text_fill,
                    anchor="middle",
                )
            pieces.append(
                format_html(
                    '<g class="app-chart__segment"><title>{}: {} {}</title>'
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" '
                    'stroke-width="1"/>{}</g>',
                    _clean(label),
                    count,
                    _clean(segment.name),
                    _px(start),
                    _px(bar_y),
                    _px(end - start),
                    bar_h,
                    segment.fill,
                    BLACK,
                    inside,
                )
            )
        if total:
            after = _text("app-chart__total", x(total) + 8, baseline, total)
        else:
            after = _text(
                "app-chart__empty", plot_left + 8, baseline, "No one", fill=SECONDARY_TEXT
            )
        parts.append(
            format_html(
                '<g class="app-chart__row"><title>{}</title>{}{}{}</g>',
                _clean(label),
                _text("app-chart__label", label_w - 8, baseline, _short(label), anchor="end"),
                _join(pieces),
                after,
            )
        )
    return _svg("app-chart app-chart--wide", width, height, title, description, chart_id, parts)


# Sparkline --------------------------------------------------------------------


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


# Shared pieces ----------------------------------------------------------------


@dataclass(frozen=True)
class _KeyItem:
    kind: str  # "swatch" (a filled square), "line" (a short line) or "tick"
    label: str
    colour: str
    stroke_width: int = 3
    dash: str = ""


def _key(
    items: list[_KeyItem], *, x0: float, y0: float, right_edge: float
) -> tuple[SafeString, int]:
    """A key as SVG (so it prints with the chart): each item a small sample of
    the mark and its name, wrapping onto more rows when needed. Returns the
    markup and the height it takes."""
    if not items:
        return SafeString(""), 0
    parts = []
    x, y = x0, y0
    for item in items:
        item_w = 30 + _text_width(item.label) + 20
        if x > x0 and x + item_w > right_edge:
            x, y = x0, y + KEY_ROW_HEIGHT
        middle = y + KEY_ROW_HEIGHT / 2
        if item.kind == "swatch":
            sample = format_html(
                '<rect x="{}" y="{}" width="16" height="16" fill="{}" stroke="{}" '
                'stroke-width="1"/>',
                _px(x + 4),
                _px(middle - 8),
                item.colour,
                BLACK,
            )
        elif item.kind == "tick":
            sample = format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="4"/>',
                _px(x + 12),
                _px(x + 12),
                _px(middle - 9),
                _px(middle + 9),
                item.colour,
            )
        else:
            sample = format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="{}"{}/>',
                _px(x),
                _px(x + 24),
                _px(middle),
                _px(middle),
                item.colour,
                item.stroke_width,
                _dash(item.dash),
            )
        parts.append(
            format_html(
                '<g class="app-chart__key-item">{}{}</g>',
                sample,
                _text("app-chart__key-label", x + 30, middle + 5, item.label),
            )
        )
        x += item_w
    height = int(y - y0) + KEY_ROW_HEIGHT + int(y0)
    return format_html('<g class="app-chart__key">{}</g>', _join(parts)), height


def _vertical_grid(
    ceiling: Decimal,
    x: Callable[[Decimal], float],
    rows_top: float,
    rows_bottom: float,
    *,
    whole: bool = False,
) -> SafeString:
    """Vertical gridlines at round figures, numbered along the bottom, and the
    zero line."""
    lines = _join(
        format_html(
            '<line class="app-chart__grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
            'stroke-width="1"/>{}',
            _px(x(v)),
            _px(x(v)),
            rows_top,
            rows_bottom,
            GRID,
            _text(
                "app-chart__axis",
                x(v),
                rows_bottom + 20,
                plain_number(v),
                fill=SECONDARY_TEXT,
                anchor="middle",
            ),
        )
        for v in _ticks(ceiling, whole=whole)
    )
    return format_html(
        '{}<line class="app-chart__axis-line" x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" '
        'stroke-width="1"/>',
        lines,
        _px(x(Decimal(0))),
        _px(x(Decimal(0))),
        rows_top,
        rows_bottom,
        BLACK,
    )


def _svg(
    css_class: str,
    width: int,
    height: float,
    title: str,
    description: str,
    chart_id: str | None,
    parts: Iterable[SafeString],
) -> SafeString:
    ident = _ident(chart_id) if chart_id else _slug(title)
    return format_html(
        '<svg xmlns="{}" class="{}" viewBox="0 0 {} {}" role="img" '
        'aria-labelledby="{}-title {}-desc" ' + _FONT + ' font-size="{}">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        SVG_NS,
        css_class,
        width,
        _px(height),
        ident,
        ident,
        FONT_SIZE,
        ident,
        _clean(title),
        ident,
        _clean(description),
        _join(parts),
    )


def _text(
    css_class: str,
    x: float,
    y: float,
    content: object,
    *,
    fill: str = BLACK,
    anchor: str = "start",
    size: int = FONT_SIZE,
) -> SafeString:
    return format_html(_TEXT, css_class, _px(x), _px(y), size, fill, anchor, _clean(str(content)))


def _join(parts: Iterable[SafeString]) -> SafeString:
    return join_html(parts)


def _dash(dash: str) -> SafeString:
    return format_html(' stroke-dasharray="{}"', dash) if dash else SafeString("")


def _dec(value: Decimal | int | None) -> Decimal | None:
    """A figure as a Decimal; floats are refused (they would lose exactness)."""
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"Chart figures are Decimals or ints, not {type(value).__name__}")


def _ceiling(figures: Iterable[Decimal | None]) -> Decimal:
    """The top of the scale: a tenth above the largest figure, at least 10."""
    highest = max((v for v in figures if v is not None), default=Decimal(0))
    return max(Decimal(10), highest * Decimal("1.1"))


def _ticks(ceiling: Decimal, *, whole: bool = False) -> list[Decimal]:
    """Round figures from 0 up to the ceiling, about five of them."""
    raw = ceiling / 5
    magnitude = Decimal(1).scaleb(raw.adjusted())
    step = next(
        magnitude * n
        for n in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if magnitude * n >= raw
    )
    if whole:
        step = max(Decimal(1), step.to_integral_value(rounding=ROUND_CEILING))
    count = int(ceiling / step)
    return [step * n for n in range(count + 1)]


def _fraction(value: Decimal, ceiling: Decimal) -> float:
    """How far along the scale a figure is: exact until this last step."""
    return float(value / ceiling)


def _places(value: Decimal, places: int) -> str:
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"


def _px(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _text_width(text: str, size: int = FONT_SIZE) -> float:
    """A generous guess at the width of text in Arial."""
    return len(text) * size * 0.56


def _short(label: str) -> str:
    label = _clean(label)
    if len(label) <= LABEL_CHARACTERS:
        return label
    return label[: LABEL_CHARACTERS - 1].rstrip() + "…"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """Text without the control characters XML cannot hold (escaping is
    format_html's job)."""
    return _NOT_XML.sub("", text)


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def _slug(text: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in text.lower())[:40]
