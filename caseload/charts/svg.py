"""The pieces every chart is drawn with: colours, text, grids, keys and the
<svg> element with its title and description."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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
    """The top of the scale: a tenth above the largest figure, at least 10,
    rounded up to a whole step of the gridlines, so that the top gridline is
    at or above every figure."""
    highest = max((v for v in figures if v is not None), default=Decimal(0))
    room = max(Decimal(10), highest * Decimal("1.1"))
    step = _step(room)
    return step * (room / step).to_integral_value(rounding=ROUND_CEILING)


def _step(ceiling: Decimal) -> Decimal:
    """A round step (1, 2, 2.5 or 5 times a power of ten) for about five
    gridlines up to `ceiling`."""
    raw = ceiling / 5
    magnitude = Decimal(1).scaleb(raw.adjusted())
    return next(
        magnitude * n
        for n in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
        if magnitude * n >= raw
    )


def _ticks(ceiling: Decimal, *, whole: bool = False) -> list[Decimal]:
    """Round figures from 0 up to the ceiling, about five of them."""
    step = _step(ceiling)
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
