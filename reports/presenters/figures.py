"""The DMT pages' figures: each a chart and the table of its numbers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.utils.safestring import SafeString

from caseload.charts.bars import Bar, band_segments, bar_chart, stacked_bar_chart
from caseload.charts.lines import Series, line_chart, sparkline
from caseload.formatting import one_decimal
from caseload.models import Team
from caseload.tables import Column, Link, Table
from reports.dashboards.positions import ServicePosition
from reports.dashboards.trends import MonthPoint, QuarterTrend
from weighting.bands import Bands


@dataclass
class Figure:
    """A chart and the table of its numbers."""

    chart: SafeString
    table: Table
    wide: bool = True
    note: str = ""  # shown under the caption: where the figures come from


# Said beside every trend whose past points are stored and whose last is today's.
STORED_AND_LIVE = (
    "The days before today are the daily figures stored each night (and "
    "recomputed after a back-dated change); today’s is computed live."
)


def children_figure(
    position: ServicePosition, quarter_label: str, term: str = "children"
) -> Figure:
    average = position.people_per_fte
    table = Table(
        "children-per-fte",
        f"Average {term} per FTE by team, {quarter_label}",
        [
            Column("Team"),
            Column(f"{term.capitalize()} per FTE", "decimal"),
            Column("Aspiration", "decimal"),
            Column("Service average", "decimal"),
            Column("DMT decision"),
        ],
        [
            [t.team_name, t.people_per_fte, t.aspiration, average, t.decision_status]
            for t in position.teams
        ],
    )
    chart = bar_chart(
        [Bar(t.team_name, t.people_per_fte, t.aspiration) for t in position.teams],
        title=table.caption,
        description=(
            f"Bars show each team's {term} per case-holding FTE; the tick on each bar is "
            "that team's aspiration and the dashed line the service average."
        ),
        reference=average,
        reference_label=f"Service average {_one(average)}",
        marker_label="Aspiration",
        chart_id="chart-children",
    )
    return Figure(chart, table)


def bands_figure(position: ServicePosition, when: str, bands: Bands) -> Figure:
    table = Table(
        "bands",
        f"People in each band by team, {when}",
        [
            Column("Team"),
            *(Column(h, "integer") for h in bands.headings),
            Column("People", "integer"),
        ],
        [[t.team_name, *t.band_counts, t.band_people] for t in position.teams],
    )
    chart = stacked_bar_chart(
        [(t.team_name, t.band_counts) for t in position.teams],
        band_segments(bands.headings),
        title=table.caption,
        description="Case-holding practitioners in each capacity band, one bar per team.",
        chart_id="chart-bands",
    )
    return Figure(chart, table)


def trend_figure(
    trend: QuarterTrend, *, links: Mapping[int, str] | None, term: str = "children"
) -> Figure:
    """Each team's children per FTE over the last eight quarters: a table with
    a small line in each row (each team's name linking to its dashboard, when
    `links` are given)."""
    labels = [q.financial_label for q in trend.quarters]
    columns = [
        Column("Team"),
        Column("Aspiration", "decimal"),
        *(Column(label, "decimal") for label in labels),
        Column("Trend", "chart"),
    ]
    rows = []
    for team_id, name, aspiration, values in trend.teams:
        first = Link(name, links[team_id]) if links is not None else name
        rows.append([first, aspiration, *values, sparkline(values, marker=aspiration)])
    table = Table(
        "quarter-trend",
        f"{term.capitalize()} per FTE over the last {len(labels)} quarters",
        columns,
        rows,
        totals=["Service", None, *trend.service, sparkline(trend.service)] if trend.teams else None,
        empty="No quarterly reviews yet.",
    )
    return Figure(SafeString(""), table)


def team_trend_figure(trend: QuarterTrend, team: Team, term: str = "children") -> Figure:
    labels = [q.financial_label for q in trend.quarters]
    short = [label.replace(" 20", " ") for label in labels]  # Q2 26/27
    values = trend.teams[0][3] if trend.teams else [None] * len(labels)
    table = Table(
        "team-trend",
        f"{team.name}: {term} per FTE over the last {len(labels)} quarters",
        [
            Column("Quarter"),
            Column(f"{term.capitalize()} per FTE", "decimal"),
            Column("Service average", "decimal"),
            Column("Aspiration", "decimal"),
        ],
        [
            [q.label, value, service, team.aspiration]
            for q, value, service in zip(trend.quarters, values, trend.service, strict=True)
        ],
        empty="No quarterly reviews yet.",
    )
    chart = line_chart(
        short,
        [
            Series(team.name, list(values), "app-chart__line--load"),
            Series("Service average", list(trend.service), "app-chart__line--capacity"),
        ],
        title=table.caption,
        description=f"{term.capitalize()} per case-holding FTE at the end of each quarter, "
        "with the service average and the team's aspiration.",
        reference=team.aspiration,
        reference_label=f"Aspiration {_one(team.aspiration)}",
        chart_id="chart-team-trend",
    )
    return Figure(chart, table, note="Each quarter as its stored review recorded it.")


def month_figure(points: list[MonthPoint], scope: str, term: str = "children") -> Figure:
    table = Table(
        "month-trend",
        f"{scope}: weighted load per FTE over the last 12 months",
        [
            Column("Month"),
            Column("Weight per FTE, daily mean", "decimal"),
            Column(f"{term.capitalize()} per FTE, daily mean", "decimal"),
            Column("Days recorded", "integer"),
        ],
        [[f"{p.month:%B %Y}", p.load_per_fte, p.people_per_fte, p.days] for p in points],
    )
    chart = line_chart(
        [f"{p.month:%b %y}" for p in points],
        [Series("Weight per FTE", [p.load_per_fte for p in points], "app-chart__line--load")],
        title=table.caption,
        description="The daily mean of weighted load per case-holding FTE in each month.",
        chart_id="chart-months",
    )
    return Figure(chart, table, note=STORED_AND_LIVE)


def _one(value: Decimal | None) -> str:
    return one_decimal(value) if value is not None else "no figure"
