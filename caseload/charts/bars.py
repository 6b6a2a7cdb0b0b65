"""Bar charts (a figure per row, with a marker) and stacked bar charts (the
capacity bands per team)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.safestring import SafeString

from caseload.charts.svg import (
    ABOVE,
    BLACK,
    BRAND,
    SECONDARY_TEXT,
    _ceiling,
    _clean,
    _dec,
    _fraction,
    _join,
    _key,
    _KeyItem,
    _places,
    _px,
    _short,
    _svg,
    _text,
    _text_width,
    _vertical_grid,
)
from caseload.formatting import plain_number
from caseload.markup import format_html


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
        figure_x = end + 8
        if (
            reference is not None
            and figure_x - 6 <= x(reference) <= figure_x + _text_width(figure) + 6
        ):
            figure_x = x(reference) + 8  # past the dashed line, never across it
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
                _text("app-chart__value", figure_x, top + row_h / 2 + 5, figure, fill=fill),
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
