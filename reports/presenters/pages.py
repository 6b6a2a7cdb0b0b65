"""The DMT pages: the service overview, a team's dashboard and a person's,
each with its tables and charts built once for the page, its downloads and
the DMT pack, so the three never disagree."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef

from caseload.charts.lines import Series, line_chart
from caseload.dates import long_date
from caseload.models import Person, Service, Team
from caseload.tables import Column, Table, Tag
from reports.dashboards.people import (
    PersonRow,
    cases_by_type,
    people_on,
    people_rows,
    people_today,
    weekly_trend,
)
from reports.dashboards.positions import (
    ServicePosition,
    TeamPosition,
    agreements_on,
    current_position,
    stored_position,
    team_rows,
)
from reports.dashboards.quarters import chosen_review, quarter_key, quarter_of, reviews_of
from reports.dashboards.trends import month_trend, quarter_trend, trend_window
from reports.models import CapacityIssue, DmtDecision, QuarterlyReview
from reports.presenters.figures import (
    STORED_AND_LIVE,
    Figure,
    bands_figure,
    children_figure,
    month_figure,
    team_trend_figure,
    trend_figure,
)
from reports.presenters.tables import (
    HOURS_PER_FTE,
    decisions_table,
    issues_table,
    people_table,
    team_links,
    teams_table,
)
from weighting.bands import Bands
from weighting.models import SchemeUnit


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
        return quarter_of(self.review).label if self.review else ""

    @property
    def quarter_choices(self) -> list[tuple[str, str, bool]]:
        return [(quarter_key(r), quarter_of(r).label, r == self.review) for r in self.reviews]

    def _tables(self, *slugs: str) -> list[Table]:
        return [self.tables[slug] for slug in slugs if slug in self.tables]


@dataclass(kw_only=True)
class Overview(QuarterPage):
    service: Service
    at_quarter_end: ServicePosition | None
    now: ServicePosition

    @property
    def team_tables(self) -> list[tuple[Table, Table]]:
        """Each team table as a summary that fits the page, and whole."""
        return [
            (table.only(self.summary_headings), table)
            for table in self._tables("teams-quarter", "teams-today")
        ]

    @property
    def summary_headings(self) -> list[str]:
        term = self.service.people_term.capitalize()
        return [
            "Team",
            "Case-holding FTE",
            "Cases per FTE",
            f"{term} per FTE",
            "Weight per FTE",
            HOURS_PER_FTE,
            "Aspiration",
            "DMT decision",
            "Over maximum",
            "Unallocated",
        ]


def overview(service: Service, asked: str | None, today: datetime.date) -> Overview:
    """The service overview: the chosen quarter's stored review beside today.
    The page, its downloads and the DMT pack all show what this returns."""
    term = service.people_term
    reviews = reviews_of(service)
    review = chosen_review(reviews, asked)
    quarter = quarter_key(review)
    # The stored rows of the trend's quarters include the chosen quarter's,
    # and the agreements of its last day and of today come from one query.
    window = trend_window(reviews, review) if review else []
    rows = list(team_rows(window)) if review else []
    days = (review.quarter_end, today) if review else (today,)
    agreements = agreements_on(service.pk, *days)
    at_quarter_end = (
        stored_position(review, rows=rows, agreements=agreements[review.quarter_end])
        if review
        else None
    )
    now = current_position(service, today, agreements=agreements[today])
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
        label = quarter_of(review).label
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
            quarter_trend(reviews, review, rows=rows), links=links, term=term
        )
        page.figures["bands"] = bands_figure(
            at_quarter_end, f"at the end of {label}", Bands.of(service)
        )
    # Its point for today is today's live position: never part of the past.
    page.figures["months"] = month_figure(month_trend(service, today, now), service.name, term)
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
    in_hours = now.unit == SchemeUnit.HOURS
    measures = [
        ("Case-holding FTE", "case_holding_fte", 2),
        ("Cases per FTE", "cases_per_fte", 1),
        (f"{term.capitalize()} per FTE", "people_per_fte", 1),
        (HOURS_PER_FTE if in_hours else "Weight per FTE", "load_per_fte", 1),
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
    reviews = reviews_of(service)
    review = chosen_review(reviews, asked)
    quarter = quarter_key(review)
    now_position = current_position(service, today, team_ids=[team.pk])
    at_end = None
    if review:
        stored = stored_position(review, team_ids=[team.pk]).teams
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
            quarter_trend(reviews, review, team_ids=[team.pk]), team, term
        )
        page.tables["people-quarter"] = people_table(
            people_on(team, review.quarter_end),
            slug="people-quarter",
            caption=f"People at the end of {page.quarter_label}",
            link_quarter=None,
            term=term,
        )
    page.tables["people-today"] = people_table(
        people_today(team, today),
        slug="people-today",
        caption=f"People today, {long_date(today)}",
        link_quarter=quarter,
        term=term,
    )
    page.figures["months"] = month_figure(
        month_trend(service, today, now_position, team_ids=[team.pk]), team.name, term
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
    rows = people_rows([person], today)
    page = PersonDashboard(person=person, team=None, today=today, now=rows[0] if rows else None)
    trend = weekly_trend(person, today, page.now)
    # An hours scheme's load and capacity are hours a month: the headings say so.
    hours = " (hours a month)" if page.now and page.now.unit == SchemeUnit.HOURS else ""
    table = Table(
        "person-trend",
        f"{person.full_name}: the last 12 weeks",
        [
            Column("Week ending"),
            Column("Cases", "integer"),
            Column(person.service.people_term.capitalize(), "integer"),
            Column(f"Weighted load{hours}", "decimal"),
            Column(f"Capacity{hours}", "decimal"),
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
            Column(f"Weighted load{hours}", "decimal"),
            Column("Not yet rated", "integer"),
        ],
        [
            [r.label, r.cases, r.people, r.weighted_load, r.unrated]
            for r in cases_by_type(person, today)
        ],
        empty="No cases held today.",
    )
    return page
