"""The server-drawn SVG charts, read as a reader (or a screen reader) would."""

import itertools
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString

from caseload.charts.bars import Bar, Segment, band_segments, bar_chart, stacked_bar_chart
from caseload.charts.lines import Series, line_chart, sparkline
from weighting.bands import Bands

D = Decimal
BAND_SEGMENTS = band_segments(Bands().headings)
NASTY = '<script>alert("x")</script> & =cmd'


def parse(markup: str) -> ET.Element:
    assert isinstance(markup, SafeString)
    return ET.fromstring(str(markup))  # noqa: S314 (our own markup)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def elements(root: ET.Element, name: str, css_class: str | None = None) -> list[ET.Element]:
    return [
        e
        for e in root.iter()
        if local(e.tag) == name and (css_class is None or css_class in e.get("class", "").split())
    ]


def groups(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter() if css_class in e.get("class", "").split()]


def child(element: ET.Element, name: str) -> ET.Element:
    found = [e for e in element if local(e.tag) == name]
    assert found, f"no <{name}> in <{local(element.tag)}>"
    return found[0]


def text_of(element: ET.Element, css_class: str) -> list[str]:
    return [e.text or "" for e in elements(element, "text", css_class)]


def height(root: ET.Element) -> float:
    return float(root.get("viewBox").split()[3])


def width_of(rect: ET.Element) -> float:
    return float(rect.get("width"))


def assert_labelled(root: ET.Element, title: str, description: str) -> None:
    assert root.get("role") == "img"
    title_el, desc_el = child(root, "title"), child(root, "desc")
    assert title_el.text == title
    assert desc_el.text == description
    assert root.get("aria-labelledby").split() == [title_el.get("id"), desc_el.get("id")]


def team_bars() -> list[Bar]:
    return [
        Bar("Alpha", D("21.34"), D(25)),
        Bar("Bravo", None, D(20)),
        Bar("Charlie", D("10.65")),
        Bar("Delta", D(30), D(25)),
    ]


def dmt_bar_chart(bars: list[Bar] | None = None, **kwargs) -> SafeString:
    options = {
        "title": "Children per FTE",
        "description": "Bars show children per FTE.",
        "reference": D("18.4"),
        "reference_label": "Service average 18.4",
        "marker_label": "Aspiration",
    }
    return bar_chart(team_bars() if bars is None else bars, **(options | kwargs))


# Bar chart --------------------------------------------------------------------


def test_bar_chart_has_a_title_and_description_it_is_labelled_by():
    root = parse(dmt_bar_chart())
    assert_labelled(root, "Children per FTE", "Bars show children per FTE.")
    assert "app-chart--wide" in root.get("class").split()


def test_bar_chart_has_a_row_per_bar_with_its_label_and_figure():
    root = parse(dmt_bar_chart())
    rows = groups(root, "app-chart__row")
    assert [child(row, "title").text for row in rows] == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert [text_of(row, "app-chart__label") for row in rows] == [
        ["Alpha"],
        ["Bravo"],
        ["Charlie"],
        ["Delta"],
    ]
    assert [text_of(row, "app-chart__value") for row in rows] == [
        ["21.3"],
        ["No figure"],
        ["10.7"],  # half up
        ["30.0 (above)"],
    ]


def test_no_figure_draws_no_bar_rather_than_a_zero_one():
    rows = groups(parse(dmt_bar_chart()), "app-chart__row")
    assert elements(rows[1], "rect") == []
    assert len(elements(rows[0], "rect")) == 1


def test_bars_above_their_marker_are_darker_and_say_so():
    rows = groups(parse(dmt_bar_chart()), "app-chart__row")
    fills = [elements(row, "rect")[0].get("fill") for row in (rows[0], rows[2], rows[3])]
    assert fills == ["#0b5563", "#0b5563", "#942514"]
    assert "app-chart__bar--above" in elements(rows[3], "rect")[0].get("class")


def test_value_places():
    root = parse(dmt_bar_chart([Bar("Alpha", D("21.5"))], value_places=0))
    assert text_of(root, "app-chart__value") == ["22"]
    root = parse(dmt_bar_chart([Bar("Alpha", D("2.125"))], value_places=2))
    assert text_of(root, "app-chart__value") == ["2.13"]


def test_bar_widths_are_proportional_to_their_values():
    root = parse(
        dmt_bar_chart([Bar("A", D("7.5")), Bar("B", D(15)), Bar("C", D("22.5"))], reference=None)
    )
    widths = [width_of(r) for r in elements(root, "rect", "app-chart__bar")]
    assert abs(widths[1] - 2 * widths[0]) < 0.5
    assert abs(widths[2] - 3 * widths[0]) < 0.5


def test_scale_leaves_room_above_the_largest_figure_and_is_at_least_ten():
    small = parse(dmt_bar_chart([Bar("A", D(1)), Bar("B", D(2))], reference=None))
    wide = [width_of(r) for r in elements(small, "rect", "app-chart__bar")]
    # On a 0–10 scale a bar of 1 is a tenth of the plot, so the whole plot is ten times it.
    # A bar of 100 leaves a tenth above it (110), rounded up to the next
    # gridline: the scale runs to 125.
    big = parse(dmt_bar_chart([Bar("A", D(100))], reference=None))
    (full,) = [width_of(r) for r in elements(big, "rect", "app-chart__bar")]
    assert abs(full * 1.25 - wide[0] * 10) < 0.5


def test_each_marker_is_a_tick_in_its_row():
    rows = groups(parse(dmt_bar_chart()), "app-chart__row")
    ticks = [elements(row, "line", "app-chart__marker") for row in rows]
    assert [len(t) for t in ticks] == [1, 1, 0, 1]
    first = ticks[0][0]
    assert first.get("x1") == first.get("x2")
    assert first.get("stroke") == "#0b0c0c"


def test_reference_line_and_key():
    root = parse(dmt_bar_chart())
    (line,) = elements(root, "line", "app-chart__reference")
    assert line.get("x1") == line.get("x2")
    assert line.get("stroke-dasharray")
    key = groups(root, "app-chart__key")[0]
    assert text_of(key, "app-chart__key-label") == [
        "Within aspiration",
        "Above aspiration",
        "Aspiration",
        "Service average 18.4",
    ]


def test_key_labels_can_be_changed_and_are_left_out_when_not_needed():
    root = parse(
        dmt_bar_chart(within_label="Under target", above_label="Over target", marker_label="Target")
    )
    assert text_of(root, "app-chart__key-label")[:3] == ["Under target", "Over target", "Target"]
    plain = parse(dmt_bar_chart([Bar("A", D(3))], reference=None))
    assert groups(plain, "app-chart__key") == []
    assert elements(plain, "line", "app-chart__reference") == []


def test_labels_are_escaped_and_the_chart_is_still_xml():
    markup = dmt_bar_chart([Bar(NASTY, D(3)), Bar('Tom & "Jerry"', D(4))], title=NASTY)
    assert "<script" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)
    rows = groups(root, "app-chart__row")
    assert child(rows[0], "title").text == NASTY
    assert child(rows[1], "title").text == 'Tom & "Jerry"'
    assert child(root, "title").text == NASTY


def test_long_labels_are_cut_short_with_the_full_name_in_the_title():
    name = "Children in Care and Care Leavers North East"
    (row,) = groups(parse(dmt_bar_chart([Bar(name, D(3))])), "app-chart__row")
    (shown,) = text_of(row, "app-chart__label")
    assert shown.endswith("…")
    assert len(shown) <= 28
    assert name.startswith(shown[:-1])
    assert child(row, "title").text == name


def test_sixty_teams_give_sixty_rows_and_a_taller_chart():
    one = parse(dmt_bar_chart([Bar("Team 1", D(5), D(6))]))
    sixty = parse(dmt_bar_chart([Bar(f"Team {n}", D(n), D(30)) for n in range(1, 61)]))
    assert len(groups(one, "app-chart__row")) == 1
    assert len(groups(sixty, "app-chart__row")) == 60
    assert height(sixty) > height(one) + 59 * 20


def test_chart_ids_come_from_the_title_or_are_given():
    first = parse(dmt_bar_chart(chart_id="chart-a"))
    second = parse(dmt_bar_chart(chart_id="chart-b"))
    assert child(first, "title").get("id") != child(second, "title").get("id")
    assert child(first, "title").get("id").startswith("chart-a")
    default = parse(dmt_bar_chart(title="Children per FTE"))
    assert child(default, "title").get("id") == "chart-children-per-fte-title"


def test_an_empty_bar_chart_still_draws():
    root = parse(dmt_bar_chart([]))
    assert groups(root, "app-chart__row") == []
    assert text_of(root, "app-chart__empty") == ["None"]


def test_float_figures_are_refused():
    with pytest.raises(TypeError):
        bar_chart([Bar("A", 1.5)], title="T", description="D")  # type: ignore[arg-type]


# Stacked bar chart -------------------------------------------------------------


def band_chart(rows=None) -> SafeString:
    return stacked_bar_chart(
        rows if rows is not None else [("Team A", [1, 0, 2, 3]), ("Team B", [0, 0, 0, 0])],
        BAND_SEGMENTS,
        title="People in each band",
        description="One bar per team.",
        chart_id="chart-bands",
    )


def test_band_segments_in_order():
    assert [s.name for s in BAND_SEGMENTS] == ["Under 95%", "95–100%", "Over 100%", "110% or more"]
    assert [s.name for s in band_segments(Bands(D(90), D(105), D(120)).headings)] == [
        "Under 90%",
        "90–105%",
        "Over 105%",
        "120% or more",
    ]
    assert all(isinstance(s, Segment) for s in BAND_SEGMENTS)
    assert BAND_SEGMENTS[2].fill == "#fde4d7"
    assert BAND_SEGMENTS[2].text_fill == "#7a3c1c"


def test_stacked_chart_is_labelled_and_has_a_key():
    root = parse(band_chart())
    assert_labelled(root, "People in each band", "One bar per team.")
    assert child(root, "title").get("id") == "chart-bands-title"
    assert text_of(groups(root, "app-chart__key")[0], "app-chart__key-label") == [
        s.name for s in BAND_SEGMENTS
    ]


def test_stacked_segments_carry_counts_and_leave_out_zeros():
    rows = groups(parse(band_chart()), "app-chart__row")
    segments = groups(rows[0], "app-chart__segment")
    assert [child(s, "title").text for s in segments] == [
        "Team A: 1 Under 95%",
        "Team A: 2 Over 100%",
        "Team A: 3 110% or more",
    ]
    assert text_of(rows[0], "app-chart__count") == ["1", "2", "3"]
    rects = [elements(s, "rect")[0] for s in segments]
    assert [r.get("fill") for r in rects] == ["#d2e2f1", "#fde4d7", "#f4d7d7"]
    assert {r.get("stroke") for r in rects} == {"#0b0c0c"}
    assert [e.get("fill") for e in elements(rows[0], "text", "app-chart__count")] == [
        "#0f385c",
        "#7a3c1c",
        "#651b1b",
    ]
    assert text_of(rows[0], "app-chart__total") == ["6"]


def test_stacked_widths_share_one_scale():
    rows = groups(parse(band_chart([("A", [2, 4, 0, 0]), ("B", [0, 0, 1, 0])])), "app-chart__row")
    a = [width_of(elements(s, "rect")[0]) for s in groups(rows[0], "app-chart__segment")]
    (b,) = [width_of(elements(s, "rect")[0]) for s in groups(rows[1], "app-chart__segment")]
    assert abs(a[1] - 2 * a[0]) < 0.5
    assert abs(a[0] - 2 * b) < 0.5
    # Segments sit end to end.
    first, second = (elements(s, "rect")[0] for s in groups(rows[0], "app-chart__segment"))
    assert abs(float(first.get("x")) + width_of(first) - float(second.get("x"))) < 0.05


def test_narrow_segments_have_no_count_written_inside():
    rows = groups(parse(band_chart([("A", [200, 1, 0, 0])])), "app-chart__row")
    assert len(groups(rows[0], "app-chart__segment")) == 2
    assert text_of(rows[0], "app-chart__count") == ["200"]


def test_an_empty_row_says_no_one():
    rows = groups(parse(band_chart()), "app-chart__row")
    assert groups(rows[1], "app-chart__segment") == []
    assert text_of(rows[1], "app-chart__empty") == ["No one"]


def test_stacked_chart_with_sixty_teams_and_with_only_empty_rows():
    sixty = parse(band_chart([(f"Team {n}", [n, 1, 0, 2]) for n in range(60)]))
    assert len(groups(sixty, "app-chart__row")) == 60
    assert height(sixty) > height(parse(band_chart([("A", [1, 1, 1, 1])]))) + 59 * 20
    empty = parse(band_chart([("A", [0, 0, 0, 0])]))
    assert text_of(empty, "app-chart__empty") == ["No one"]


def test_stacked_labels_are_escaped():
    markup = band_chart([(NASTY, [1, 2, 3, 4])])
    assert "<script" not in markup
    (row,) = groups(parse(markup), "app-chart__row")
    assert child(row, "title").text == NASTY
    assert child(groups(row, "app-chart__segment")[0], "title").text == f"{NASTY}: 1 Under 95%"


def test_counts_must_match_the_segments():
    with pytest.raises(ValueError):
        band_chart([("A", [1, 2])])


# Sparkline --------------------------------------------------------------------


def test_sparkline_is_decorative():
    root = parse(sparkline([D(1), D(2), D(3)]))
    assert root.get("aria-hidden") == "true"
    assert root.get("focusable") == "false"
    assert root.get("role") is None
    assert elements(root, "title") == []
    assert (root.get("width"), root.get("height")) == ("120", "28")


def test_sparkline_draws_one_line_per_unbroken_run_and_a_dot_at_the_end():
    root = parse(sparkline([D(1), D(2), None, D(3), D(4), D(2), None, None, D(5), D(6)]))
    lines = elements(root, "polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 3, 2]
    (dot,) = elements(root, "circle")
    last = lines[-1].get("points").split()[-1]
    assert f"{dot.get('cx')},{dot.get('cy')}" == last


def test_sparkline_marker_and_scale():
    root = parse(sparkline([D(0), D(10)], marker=D(20), height=28))
    (marker,) = elements(root, "line", "app-chart__sparkline-marker")
    assert marker.get("stroke-dasharray")
    # The scale runs to 22 (the marker, the highest, and a tenth) over 22px of plot.
    (line,) = elements(root, "polyline")
    zero_y = float(line.get("points").split()[0].split(",")[1])
    assert abs(zero_y - float(marker.get("y1")) - 20) < 0.05


def test_sparkline_with_nothing_or_one_figure():
    assert elements(parse(sparkline([None, None])), "polyline") == []
    root = parse(sparkline([None, D(4)]))
    assert elements(root, "polyline") == []
    assert len(elements(root, "circle")) == 1


# Line chart -------------------------------------------------------------------


def trend_chart(**kwargs) -> SafeString:
    options = {"title": "Your weighted load", "description": "Weekly load against capacity."}
    return line_chart(
        ["1 Jan", "8 Jan", "15 Jan", "22 Jan", "29 Jan"],
        [
            Series("Weighted load", [D(10), D(12), None, D(14), D(15)], "app-chart__line--load"),
            Series("Capacity", [D(20)] * 5, "app-chart__line--capacity"),
        ],
        **(options | kwargs),
    )


def test_line_chart_keeps_the_supervision_call_working():
    # As supervision/views.py calls it: positional Series with a css_class.
    root = parse(trend_chart())
    assert_labelled(root, "Your weighted load", "Weekly load against capacity.")
    assert child(root, "title").get("id") == "chart-your-weighted-load-title"
    load = elements(root, "polyline", "app-chart__line--load")[0]
    assert (load.get("stroke"), load.get("stroke-width"), load.get("fill")) == (
        "#0b5563",
        "3",
        "none",
    )
    capacity = elements(root, "polyline", "app-chart__line--capacity")[0]
    assert (
        capacity.get("stroke"),
        capacity.get("stroke-width"),
        capacity.get("stroke-dasharray"),
    ) == ("#0b0c0c", "2", "6 4")
    assert {e.get("stroke") for e in elements(root, "line", "app-chart__grid")} == {"#cecece"}
    axis = elements(root, "text", "app-chart__axis")
    assert {(e.get("fill"), e.get("font-size")) for e in axis} == {("#484949", "14")}


def test_a_gap_splits_the_line():
    root = parse(trend_chart())
    load = elements(root, "polyline", "app-chart__line--load")
    assert [len(line.get("points").split()) for line in load] == [2, 2]
    assert len(elements(root, "polyline", "app-chart__line--capacity")) == 1


def test_an_isolated_figure_is_a_dot():
    root = parse(
        line_chart(
            ["a", "b", "c"],
            [Series("Load", [None, D(5), None], "app-chart__line--load")],
            title="T",
            description="D",
        )
    )
    assert elements(root, "polyline") == []
    (dot,) = elements(root, "circle", "app-chart__point")
    assert child(dot, "title").text == "Load"


def test_line_chart_reference_line_and_key():
    root = parse(trend_chart(reference=D(18), reference_label="Aspiration 18.0"))
    (reference,) = groups(root, "app-chart__reference")
    (line,) = elements(reference, "line")
    assert line.get("y1") == line.get("y2")
    assert line.get("stroke-dasharray")
    assert text_of(reference, "app-chart__reference-label") == ["Aspiration 18.0"]
    key = groups(root, "app-chart__key")[0]
    assert text_of(key, "app-chart__key-label") == ["Weighted load", "Capacity", "Aspiration 18.0"]
    samples = [elements(item, "line")[0] for item in groups(key, "app-chart__key-item")]
    assert [s.get("stroke") for s in samples] == ["#0b5563", "#0b0c0c", "#484949"]
    assert samples[1].get("stroke-dasharray") == "6 4"


def test_series_can_set_their_own_look():
    root = parse(
        line_chart(
            ["a", "b"],
            [Series("Other", [D(1), D(2)], stroke="#123456", stroke_width=5, dasharray="1 1")],
            title="T",
            description="D",
        )
    )
    (line,) = elements(root, "polyline")
    assert (line.get("stroke"), line.get("stroke-width"), line.get("stroke-dasharray")) == (
        "#123456",
        "5",
        "1 1",
    )


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (1, [0]),
        (5, [0, 2, 4]),
        (6, [0, 2, 4, 5]),
        (13, [0, 3, 6, 9, 12]),
        (24, [0, 4, 8, 12, 16, 20, 23]),
    ],
)
def test_tick_labels(count, shown):
    labels = [f"W{n}" for n in range(count)]
    root = parse(
        line_chart(
            labels,
            [Series("Load", [D(n) for n in range(count)], "app-chart__line--load")],
            title="T",
            description="D",
        )
    )
    below = [
        e.text
        for e in elements(root, "text", "app-chart__axis")
        if e.get("text-anchor") == "middle"
    ]
    assert below == [labels[i] for i in shown]


def test_line_chart_escapes_series_names_and_labels():
    markup = line_chart(
        [NASTY, "b"],
        [Series(NASTY, [D(1), D(2)], "app-chart__line--load")],
        title="T",
        description="D",
    )
    assert "<script" not in markup
    root = parse(markup)
    assert text_of(root, "app-chart__key-label") == [NASTY]


# Every chart ------------------------------------------------------------------


def every_chart() -> list[SafeString]:
    return [
        dmt_bar_chart(),
        dmt_bar_chart([Bar(NASTY, D(3), D(2))], title=NASTY, description=NASTY),
        band_chart(),
        band_chart([(NASTY, [1, 0, 0, 1])]),
        sparkline([D(1), None, D(2), D(3)], marker=D(2)),
        trend_chart(reference=D(18), reference_label=NASTY),
    ]


def test_no_script_no_inline_style_and_presentation_attributes_throughout():
    for markup in every_chart():
        root = parse(markup)
        assert not re.search(r"\sstyle\s*=", markup)
        assert "<style" not in markup
        assert "<script" not in markup.lower()
        assert "href" not in markup
        for text in elements(root, "text"):
            assert text.get("fill")
            assert text.get("font-size")
            assert "Liberation Sans" in text.get("font-family")
        for line in elements(root, "line") + elements(root, "polyline"):
            assert line.get("stroke")
        for rect in elements(root, "rect"):
            assert rect.get("fill")


def test_a_value_is_never_drawn_over_the_reference_line():
    """19.2 beside a service average of 21.5 (the demo's Child Protection):
    the figure moves past the dashed line rather than across it."""
    root = parse(
        dmt_bar_chart(
            [Bar("Alpha", D("19.2"), D(20)), Bar("Bravo", D(5), D(20))], reference=D("21.5")
        )
    )
    line = next(e for e in root.iter() if e.get("class") == "app-chart__reference")
    reference_x = float(line.get("x1"))
    for row in groups(root, "app-chart__row"):
        value = next(e for e in row.iter() if e.get("class") == "app-chart__value")
        start = float(value.get("x"))
        end = start + len(value.text) * 14 * 0.56  # as wide as the chart allows for
        assert not start - 4 <= reference_x <= end + 4, (value.text, start, reference_x)


@pytest.mark.parametrize("highest", ["9", "11", "19.2", "21.5", "26", "61", "107", "107.3", "9999"])
def test_the_axis_goes_above_the_highest_figure(highest):
    """The top gridline is at or above every point: a load of 107 against
    gridlines up to 100 read as off the chart."""
    root = parse(
        line_chart(
            ["a", "b", "c"],
            [Series("Load", [D(1), D(highest), D(2)])],
            title="Load",
            description="Load.",
        )
    )
    axis = [t.text for t in root.iter() if t.get("class") == "app-chart__axis"]
    numbers = [float(v) for v in axis if re.fullmatch(r"[\d.]+", v)]  # the y axis
    assert max(numbers) >= float(highest)
    top_line = min(float(e.get("y1")) for e in root.iter() if e.get("class") == "app-chart__grid")
    point_ys = [
        float(pair.split(",")[1])
        for e in root.iter()
        if e.tag.endswith("polyline")
        for pair in e.get("points").split()
    ]
    assert min(point_ys) >= top_line - 0.01


def test_the_reference_label_is_not_drawn_over_a_line():
    """The demo's Child Protection trend: the service average (21.5, dashed)
    runs just above the aspiration (20) and the team just below it: the
    label goes where no line crosses it, or only in the key."""
    root = parse(
        line_chart(
            ["Q1", "Q2", "Q3", "Q4"],
            [
                Series("Child Protection", [D("19.2"), D("18.1"), D("15.4"), D("19.1")]),
                Series("Service average", [D("21.5"), D("21.1"), D("18.4"), D("21.4")]),
            ],
            title="Trend",
            description="Trend.",
            reference=D(20),
            reference_label="Aspiration 20.0",
        )
    )
    assert "Aspiration 20.0" in "".join(root.itertext())  # in the key at least
    labels = [e for e in root.iter() if e.get("class") == "app-chart__reference-label"]
    if not labels:
        return
    (label,) = labels
    right, baseline = float(label.get("x")), float(label.get("y"))
    left = right - len(label.text) * 14 * 0.56
    box = (baseline - 12, baseline + 3)
    for polyline in (e for e in root.iter() if e.tag.endswith("polyline")):
        points = [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            for t in (i / 20 for i in range(21)):
                x, y = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
                assert not (left <= x <= right and box[0] <= y <= box[1]), (x, y)
