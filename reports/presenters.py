"""The DMT pages' tables and charts, built once for the page, its downloads and
the DMT pack, so the three never disagree."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.safestring import SafeString

from caseload.charts import (
    Bar,
    Series,
    band_segments,
    bar_chart,
    line_chart,
    sparkline,
    stacked_bar_chart,
)
from caseload.dates import Quarter, long_date
from caseload.models import Person, Service, Team
from reports import dashboards
from reports.dashboards import (
    MonthPoint,
    PersonRow,
    QuarterTrend,
    ServicePosition,
    TeamPosition,
)
from reports.models import CapacityIssue, DmtDecision, QuarterlyReview
from reports.tables import Column, Link, Table, Tag
from weighting.numbers import Band, Bands


def with_quarter(url: str, quarter: str) -> str:
    return f"{url}?{urlencode({'quarter': quarter})}" if quarter else url


def team_links(team_ids: Iterable[int], quarter: str) -> dict[int, str]:
    """Each team's dashboard, keeping the chosen quarter: one URL per team for
    the tables of a page that link to it."""
    return {
        team_id: with_quarter(reverse("team_dashboard", args=[team_id]), quarter)
        for team_id in set(team_ids)
    }


def decision_tag(team: TeamPosition) -> Tag:
    if team.needs_agreement:
        return Tag(team.decision_status, "govuk-tag--red")
    if team.above_aspiration:
        return Tag(team.decision_status, "govuk-tag--yellow")
    return Tag(team.decision_status, "govuk-tag--grey")


def teams_table(
    position: ServicePosition,
    *,
    slug: str,
    caption: str,
    links: Mapping[int, str],
    live: bool,
    bands: Bands,
    term: str = "children",
) -> Table:
    """Per team: FTE, averages per FTE against the aspiration, band mix (by
    the service's thresholds), unallocated work, people over maximum,
    escalations, concerns and the DMT decision status."""
    columns = [
        Column("Team"),
        Column("Case-holding FTE", "decimal", 2),
        Column("Cases per FTE", "decimal"),
        Column(f"{term.capitalize()} per FTE", "decimal"),
    ]
    if not live:
        columns.append(Column(f"{term.capitalize()} per FTE, quarter's daily mean", "decimal"))
    columns += [
        Column("Weight per FTE", "decimal"),
        Column("Aspiration", "decimal"),
        Column("DMT decision"),
        *(Column(h, "integer") for h in bands.headings),
        Column("Unallocated", "integer"),
        Column("Longest wait (days)", "integer"),
        Column("Over maximum", "integer"),
        Column("Open escalations", "integer"),
        Column("Open concerns", "integer"),
        Column("Overdue concerns", "integer"),
    ]
    if live:
        columns.append(Column("Supervisions overdue", "integer"))

    def line(name: object, agg: dict) -> list:
        cells = [
            name,
            agg["fte"],
            agg["cases_per_fte"],
            agg["people_per_fte"],
        ]
        if not live:
            cells.append(agg["mean"])
        cells += [
            agg["load_per_fte"],
            agg["aspiration"],
            agg["decision"],
            *agg["bands"],
            agg["unallocated"],
            agg["wait"],
            agg["over_maximum"],
            agg["escalations"],
            agg["concerns"],
            agg["overdue"],
        ]
        if live:
            cells.append(agg["supervision"])
        return cells

    rows = [
        line(
            Link(t.team_name, links[t.team_id]),
            {
                "fte": t.case_holding_fte,
                "cases_per_fte": t.cases_per_fte,
                "people_per_fte": t.people_per_fte,
                "mean": t.mean_people_per_fte,
                "load_per_fte": t.load_per_fte,
                "aspiration": t.aspiration,
                "bands": t.band_counts,
                "unallocated": t.unallocated,
                "wait": t.longest_wait_days,
                "over_maximum": t.over_maximum,
                "escalations": t.open_escalations,
                "concerns": t.open_concerns,
                "overdue": t.overdue_concerns,
                "supervision": t.supervision_overdue,
                "decision": decision_tag(t),
            },
        )
        for t in position.teams
    ]
    needing = len(position.needing_agreement)
    totals = line(
        "Service",
        {
            "fte": position.case_holding_fte,
            "cases_per_fte": position.cases_per_fte,
            "people_per_fte": position.people_per_fte,
            "mean": position.review.mean_people_per_fte if position.review else None,
            "load_per_fte": position.load_per_fte,
            "aspiration": None,
            "bands": [position.totals.in_band(band) for band in Band],
            "unallocated": position.unallocated,
            "wait": position.longest_wait_days,
            "over_maximum": position.over_maximum,
            "escalations": position.open_escalations,
            "concerns": position.open_concerns,
            "overdue": sum(t.overdue_concerns for t in position.teams),
            "supervision": sum(t.supervision_overdue or 0 for t in position.teams),
            "decision": {0: "None need agreement", 1: "1 needs agreement"}.get(
                needing, f"{needing} need agreement"
            ),
        },
    )
    return Table(slug, caption, columns, rows, totals if position.teams else None,
                 empty="This service has no teams yet.")  # fmt: skip


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


def people_table(
    rows: list[PersonRow],
    *,
    slug: str,
    caption: str,
    link_quarter: str | None,
    term: str = "children",
) -> Table:
    columns = [
        Column("Name"),
        Column("Role"),
        Column("FTE", "decimal", 2),
        Column("Cases", "integer"),
        Column(term.capitalize(), "integer"),
        Column("Weighted load", "decimal"),
        Column("Capacity", "decimal"),
        Column("Capacity %", "decimal"),
        Column("Band"),
    ]
    body = []
    for row in rows:
        name = (
            Link(
                row.person.full_name,
                with_quarter(reverse("person_dashboard", args=[row.person.pk]), link_quarter),
            )
            if link_quarter is not None
            else row.person.full_name
        )
        body.append(
            [
                name,
                row.person.get_role_display(),
                row.person.fte,
                row.case_count,
                row.people_count,
                row.weighted_load,
                row.capacity,
                row.percent_shown,
                Tag(
                    row.band_label,
                    f"app-band app-band--{row.band}" if row.band else "govuk-tag--grey",
                ),
            ]
        )
    return Table(slug, caption, columns, body, empty="No one was in the team.")


def decisions_table(decisions: list[DmtDecision], caption: str) -> Table:
    return Table(
        "decisions",
        caption,
        [
            Column("Meeting"),
            Column("Team"),
            Column("Quarter"),
            Column("Decision"),
            Column("Reason"),
            Column("Actions"),
            Column("Review by", "date"),
            Column("Minute"),
            Column("Recorded by"),
        ],
        [
            [
                d.meeting_on,
                d.team.name,
                Quarter(d.quarter_start).financial_label,
                d.get_kind_display(),
                d.reason,
                d.actions,
                d.review_by,
                d.minute_reference,
                d.recorded_by.full_name,
            ]
            for d in decisions
        ],
        empty="No decisions recorded yet.",
    )


def issues_table(issues: list[CapacityIssue], caption: str) -> Table:
    return Table(
        "capacity-issues",
        caption,
        [
            Column("Raised", "date"),
            Column("Team"),
            Column("Issue"),
            Column("What the team needs"),
            Column("Raised by"),
            Column("Status"),
        ],
        [
            [
                i.raised_on,
                i.team.name,
                i.summary,
                i.detail,
                i.raised_by.full_name,
                Tag("Decided", "govuk-tag--green")
                if getattr(i, "decided", False)
                else Tag("On the agenda", "govuk-tag--yellow"),
            ]
            for i in issues
        ],
        empty="No capacity issues raised.",
    )


def _one(value: Decimal | None) -> str:
    from caseload.formatting import one_decimal

    return one_decimal(value) if value is not None else "no figure"


# The pages -----------------------------------------------------------------------


@dataclass(kw_only=True)
class QuarterPage:
    """A dashboard for a chosen quarter: its tables and charts, built once."""

    today: datetime.date
    reviews: list[QuarterlyReview]
    review: QuarterlyReview | None
    quarter: str
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    decisions: list[DmtDecision] = field(default_factory=list)
    issues: list[CapacityIssue] = field(default_factory=list)

    @property
    def quarter_label(self) -> str:
        return dashboards.quarter_of(self.review).label if self.review else ""

    @property
    def quarter_choices(self) -> list[tuple[str, str, bool]]:
        return [
            (dashboards.quarter_key(r), dashboards.quarter_of(r).label, r == self.review)
            for r in self.reviews
        ]

    def _tables(self, *slugs: str) -> list[Table]:
        return [self.tables[slug] for slug in slugs if slug in self.tables]


@dataclass(kw_only=True)
class Overview(QuarterPage):
    service: Service
    at_quarter_end: ServicePosition | None
    now: ServicePosition

    @property
    def team_tables(self) -> list[Table]:
        return self._tables("teams-quarter", "teams-today")


def overview(service: Service, asked: str | None, today: datetime.date) -> Overview:
    """The service overview: the chosen quarter's stored review beside today.
    The page, its downloads and the DMT pack all show what this returns."""
    term = service.people_term
    reviews = dashboards.reviews_of(service)
    review = dashboards.chosen_review(reviews, asked)
    quarter = dashboards.quarter_key(review)
    # The stored rows of the trend's quarters include the chosen quarter's,
    # and the agreements of its last day and of today come from one query.
    window = dashboards.trend_window(reviews, review) if review else []
    rows = list(dashboards.team_rows(window)) if review else []
    days = (review.quarter_end, today) if review else (today,)
    agreements = dashboards.agreements_on(service.pk, *days)
    at_quarter_end = (
        dashboards.stored_position(review, rows=rows, agreements=agreements[review.quarter_end])
        if review
        else None
    )
    now = dashboards.current_position(service, today, agreements=agreements[today])
    # The stored rows name every team of the quarter's tables and trend.
    links = team_links([*(t.team_id for t in now.teams), *(r.team_id for r in rows)], quarter)
    page = Overview(
        service=service,
        today=today,
        reviews=reviews,
        review=review,
        quarter=quarter,
        at_quarter_end=at_quarter_end,
        now=now,
        decisions=list(
            DmtDecision.objects.filter(service=service)
            .select_related("team", "recorded_by")
            .order_by("-meeting_on", "-pk")[:10]
        ),
        issues=list(
            CapacityIssue.objects.open()
            .filter(service=service)
            .select_related("team", "raised_by")
            .order_by("raised_on", "pk")
        ),
    )
    if review and at_quarter_end:
        label = dashboards.quarter_of(review).label
        page.figures["children"] = children_figure(at_quarter_end, label, term)
        page.tables["teams-quarter"] = teams_table(
            at_quarter_end,
            slug="teams-quarter",
            caption=f"Teams at the end of {label}",
            links=links,
            live=False,
            bands=Bands.of(service),
            term=term,
        )
        page.figures["trend"] = trend_figure(
            dashboards.quarter_trend(reviews, review, rows=rows), links=links, term=term
        )
        page.figures["bands"] = bands_figure(
            at_quarter_end, f"at the end of {label}", Bands.of(service)
        )
    # Its point for today is today's live position: never part of the past.
    page.figures["months"] = month_figure(
        dashboards.month_trend(service, today, now), service.name, term
    )
    page.tables["teams-today"] = teams_table(
        now,
        slug="teams-today",
        caption=f"Teams today, {long_date(today)}",
        links=links,
        live=True,
        bands=Bands.of(service),
        term=term,
    )
    for figure in page.figures.values():
        page.tables[figure.table.slug] = figure.table
    page.tables["decisions"] = decisions_table(page.decisions, "Recent DMT decisions")
    page.tables["capacity-issues"] = issues_table(page.issues, "Capacity issues on the agenda")
    return page


@dataclass(kw_only=True)
class TeamDashboard(QuarterPage):
    team: Team
    at_quarter_end: TeamPosition | None
    now: TeamPosition
    service_now: Decimal | None

    @property
    def people_tables(self) -> list[Table]:
        return self._tables("people-quarter", "people-today")


def summary_table(page: TeamDashboard) -> Table:
    """The team's figures at the quarter's end and today, side by side."""
    term = page.team.service.people_term
    end, now = page.at_quarter_end, page.now
    measures = [
        ("Case-holding FTE", "case_holding_fte", 2),
        ("Cases per FTE", "cases_per_fte", 1),
        (f"{term.capitalize()} per FTE", "people_per_fte", 1),
        ("Weight per FTE", "load_per_fte", 1),
        ("Unallocated cases", "unallocated", 0),
        ("Longest wait (days)", "longest_wait_days", 0),
        ("People over maximum", "over_maximum", 0),
        ("Open escalations", "open_escalations", 0),
        ("Open workload concerns", "open_concerns", 0),
        ("Overdue responses to concerns", "overdue_concerns", 0),
    ]

    def fit(value: Decimal | int | None, places: int) -> Decimal | int | None:
        if isinstance(value, Decimal):
            return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return value

    rows = [
        [label, fit(getattr(end, name), places) if end else None, fit(getattr(now, name), places)]
        for label, name, places in measures
    ]
    rows.append([f"Aspiration ({term} per FTE)", end.aspiration if end else None, now.aspiration])
    rows.append(["DMT decision", end.decision_status if end else "", now.decision_status])
    heading = f"End of {page.quarter_label}" if page.review else "End of quarter"
    return Table(
        "team-summary",
        f"{page.team.name} at the end of the quarter and today",
        [Column("Measure"), Column(heading, "decimal", None), Column("Today", "decimal", None)],
        rows,
    )


def team_dashboard(team: Team, asked: str | None, today: datetime.date) -> TeamDashboard:
    service = team.service
    term = service.people_term
    reviews = dashboards.reviews_of(service)
    review = dashboards.chosen_review(reviews, asked)
    quarter = dashboards.quarter_key(review)
    now_position = dashboards.current_position(service, today, team_ids=[team.pk])
    at_end = None
    if review:
        stored = dashboards.stored_position(review, team_ids=[team.pk]).teams
        at_end = stored[0] if stored else None
    page = TeamDashboard(
        team=team,
        today=today,
        reviews=reviews,
        review=review,
        quarter=quarter,
        at_quarter_end=at_end,
        now=now_position.teams[0],
        service_now=review.people_per_fte if review else None,
    )
    page.tables["team-summary"] = summary_table(page)
    if review:
        page.figures["trend"] = team_trend_figure(
            dashboards.quarter_trend(reviews, review, team_ids=[team.pk]), team, term
        )
        page.tables["people-quarter"] = people_table(
            dashboards.people_on(team, review.quarter_end),
            slug="people-quarter",
            caption=f"People at the end of {page.quarter_label}",
            link_quarter=None,
            term=term,
        )
    page.tables["people-today"] = people_table(
        dashboards.people_today(team, today),
        slug="people-today",
        caption=f"People today, {long_date(today)}",
        link_quarter=quarter,
        term=term,
    )
    page.figures["months"] = month_figure(
        dashboards.month_trend(service, today, now_position, team_ids=[team.pk]), team.name, term
    )
    page.decisions = list(
        team.decisions.select_related("team", "recorded_by").order_by("-meeting_on", "-pk")
    )
    page.issues = list(
        team.capacity_issues.select_related("team", "raised_by")
        .annotate(decided=Exists(DmtDecision.objects.filter(capacity_issue=OuterRef("pk"))))
        .order_by("-raised_on", "-pk")
    )
    for figure in page.figures.values():
        page.tables[figure.table.slug] = figure.table
    page.tables["decisions"] = decisions_table(page.decisions, f"DMT decisions for {team.name}")
    page.tables["capacity-issues"] = issues_table(
        page.issues, f"Capacity issues raised by {team.name}"
    )
    return page


@dataclass
class PersonDashboard:
    person: Person
    team: Team | None
    today: datetime.date
    now: PersonRow | None
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)


def person_dashboard(person: Person, today: datetime.date) -> PersonDashboard:
    if person.service_id is None:
        # An administrator, or someone whose service is not set yet: no
        # scheme, bands or caseload to show, and no tables to download.
        return PersonDashboard(person=person, team=None, today=today, now=None)
    rows = dashboards.people_rows([person], today)
    page = PersonDashboard(person=person, team=None, today=today, now=rows[0] if rows else None)
    trend = dashboards.weekly_trend(person, today, page.now)
    table = Table(
        "person-trend",
        f"{person.full_name}: the last 12 weeks",
        [
            Column("Week ending"),
            Column("Cases", "integer"),
            Column(person.service.people_term.capitalize(), "integer"),
            Column("Weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Capacity %", "decimal"),
            Column("Band"),
        ],
        [
            [
                long_date(day),
                r.case_count,
                r.people_count,
                r.weighted_load,
                r.capacity,
                r.percent_shown,
                Tag(r.band_label, f"app-band app-band--{r.band}" if r.band else "govuk-tag--grey"),
            ]
            for day, r in trend
        ],
        empty="No daily figures stored yet.",
    )
    page.figures["trend"] = Figure(
        line_chart(
            [f"{day:%-d %b}" for day, _ in trend],
            [
                Series(
                    "Weighted load", [r.weighted_load for _, r in trend], "app-chart__line--load"
                ),
                Series("Capacity", [r.capacity for _, r in trend], "app-chart__line--capacity"),
            ],
            title=table.caption,
            description="Weighted load against capacity, a week apart.",
            chart_id="chart-person",
        ),
        table,
        wide=False,
        note=STORED_AND_LIVE,
    )
    page.tables["person-trend"] = table
    page.tables["case-types"] = Table(
        "case-types",
        "Cases held today by type",
        [
            Column("Type"),
            Column("Cases", "integer"),
            Column(person.service.people_term.capitalize(), "integer"),
            Column("Weighted load", "decimal"),
            Column("Not yet rated", "integer"),
        ],
        [
            [r.label, r.cases, r.people, r.weighted_load, r.unrated]
            for r in dashboards.cases_by_type(person, today)
        ],
        empty="No cases held today.",
    )
    return page
