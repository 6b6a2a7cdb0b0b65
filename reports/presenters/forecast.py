"""The forecast page of a team: its weighted load and capacity week by week
for the next 12 weeks, and each case-holding member's capacity used."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from caseload.charts.lines import Series, line_chart
from caseload.dates import long_date
from caseload.formatting import ONE_DECIMAL, plain_number
from caseload.models import Person, Service, Team, Vacancy
from caseload.tables import Column, Link, Table, Tag
from reports.presenters.figures import Figure
from weighting.bands import HUNDRED, ZERO, Bands, is_over_maximum
from weighting.forecast import (
    ASSUMES,
    ASSUMES_VACANCIES,
    SHOWN_WEEKS,
    MemberForecast,
    TeamForecast,
    forecast_days,
    forecast_members,
    next_quarter_end,
    service_forecast,
    team_forecast,
    vacancy_capacity,
    weekly_demand,
)
from weighting.numbers import CaseloadNumbers
from weighting.schemes_in_force import SchemeTerms


@dataclass
class ForecastPage:
    team: Team
    today: datetime.date
    forecast: TeamForecast
    figure: Figure
    people: Table
    vacancies: list[Vacancy]
    chosen: Table | None = None


def _tag(bands: Bands, load: Decimal, capacity: Decimal) -> Tag:
    band = bands.band(load, capacity)
    return (
        Tag(bands.label(band), f"app-band app-band--{band.value}")
        if band
        else Tag("No capacity", "govuk-tag--grey")
    )


def team_forecast_page(
    team: Team, today: datetime.date, chosen: datetime.date | None = None
) -> ForecastPage:
    """The team's next 12 weeks (and a `chosen` day), from one computation
    of the numbers."""
    until = max(forecast_days(today)[-1], chosen or today)
    _numbers, terms, forecast = team_forecast(
        forecast_members(team, today, until), today, team.service_id, team.pk, chosen=chosen
    )
    last = until
    vacancies = list(
        Vacancy.objects.filter(team=team, start_date__lte=last).exclude(end_date__lte=today)
    )
    counted = vacancies if team.forecast_counts_vacancies else []
    bands = Bands.of(team.service)
    holders = [m for m in forecast.members if m.person.role in Person.CASE_HOLDING_ROLES]
    demand = weekly_demand(team, today, terms.middle_total) if terms else ZERO
    weeks = []
    for n, day in enumerate(forecast.days):
        points = [m.points[n] for m in holders if m.points[n] is not None]
        load = sum((p.weighted_load for p in points), ZERO)
        capacity = sum((p.capacity for p in points), ZERO) + vacancy_capacity(
            counted, terms, day, team.service
        )
        percent = load * HUNDRED / capacity if capacity > 0 else None
        over = sum(1 for p in points if p.has_capacity and is_over_maximum(p.band))
        weeks.append((day, len(points), load, capacity, percent, over))
    table = Table(
        "team-forecast",
        f"{team.name}: the next 12 weeks",
        [
            Column("Week of"),
            Column("Case-holding people", "integer"),
            Column("Weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Capacity used"),
            Column("Band"),
            Column("Over the maximum", "integer"),
            Column("Weighted load with new work as lately", "decimal"),
        ],
        [
            [
                "Today" if n == 0 else long_date(day),
                people,
                load,
                capacity,
                bands.percent_display(percent),
                _tag(bands, load, capacity),
                over,
                load + demand * n,
            ]
            for n, (day, people, load, capacity, percent, over) in enumerate(weeks)
        ],
    )
    figure = Figure(
        line_chart(
            [f"{day:%-d %b}" for day, *_ in weeks],
            [
                Series("Weighted load", [w[2] for w in weeks], "app-chart__line--load"),
                Series("Capacity", [w[3] for w in weeks], "app-chart__line--capacity"),
                Series(
                    "Weighted load with new work as lately",
                    [w[2] + demand * n for n, w in enumerate(weeks)],
                ),
            ],
            title=table.caption,
            description="The team's forecast weighted load against its capacity, a week apart.",
            chart_id="chart-team-forecast",
        ),
        table,
        wide=False,
        note=f"{ASSUMES} {ASSUMES_VACANCIES} The third line assumes new work keeps arriving "
        f"as in the last 12 weeks: {plain_number(demand.quantize(ONE_DECIMAL))} weighted "
        "points a week.",
    )
    people = Table(
        "people-forecast",
        "Each person's capacity used, week by week",
        [
            Column("Name"),
            *(
                Column("Today" if n == 0 else f"{day:%-d %b}")
                for n, day in enumerate(forecast.days)
            ),
        ],
        [
            [
                m.person.full_name,
                *(p.percent_display if p is not None else "–" for p in m.points),
            ]
            for m in holders
        ],
        empty="Nobody in this team holds cases.",
    )
    page = ForecastPage(team, today, forecast, figure, people, vacancies)
    if chosen:
        page.chosen = _chosen_table(team, chosen, holders, counted, terms, bands)
    return page


def _chosen_table(
    team: Team,
    chosen: datetime.date,
    holders: list[MemberForecast],
    counted: list[Vacancy],
    terms: SchemeTerms | None,
    bands: Bands,
) -> Table:
    """Each case-holding person on the chosen day, and the team."""

    def row(person: Person, point: CaseloadNumbers | None) -> list:
        if point is None:
            return [person.full_name, None, None, "Not in the team", ""]
        load, capacity = point.weighted_load, point.capacity
        return [
            person.full_name,
            load,
            capacity,
            point.percent_display,
            _tag(bands, load, capacity),
        ]

    present = [m.chosen for m in holders if m.chosen is not None]
    load = sum((p.weighted_load for p in present), ZERO)
    capacity = sum((p.capacity for p in present), ZERO) + vacancy_capacity(
        counted, terms, chosen, team.service
    )
    percent = load * HUNDRED / capacity if capacity > 0 else None
    return Table(
        "chosen-day",
        f"{team.name} on {long_date(chosen)}",
        [
            Column("Name"),
            Column("Weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Capacity used"),
            Column("Band"),
        ],
        [row(m.person, m.chosen) for m in holders],
        ["Team", load, capacity, bands.percent_display(percent), _tag(bands, load, capacity)],
        empty="Nobody in this team holds cases.",
    )


@dataclass
class ServiceForecastPage:
    service: Service
    today: datetime.date
    quarter_end: datetime.date
    table: Table
    above: list[tuple[Team, Decimal]]  # teams above their aspiration at the quarter's end


def service_forecast_page(service: Service, today: datetime.date) -> ServiceForecastPage:
    """Each team's capacity used today and in 4, 8 and 12 weeks, and its
    children (or adults) per FTE at the end of next quarter against its
    aspiration: one computation of the numbers for the whole service."""
    quarter_end = next_quarter_end(today)
    shown = [today + datetime.timedelta(weeks=w) for w in (0, *SHOWN_WEEKS)]
    days = sorted({*shown, quarter_end})
    rows = service_forecast(service, today, days)
    bands = Bands.of(service)
    term = service.people_term
    at_end = days.index(quarter_end)
    above = [
        (row.team, row.totals[at_end].people_per_fte)
        for row in rows
        if row.totals[at_end].above_aspiration(row.team.aspiration)
    ]
    table = Table(
        "teams-forecast",
        f"{service.name}: each team's next 12 weeks",
        [
            Column("Team"),
            *(Column("Today" if n == 0 else f"{day:%-d %b}") for n, day in enumerate(shown)),
            Column(f"{term.capitalize()} per FTE on {quarter_end:%-d %b %Y}", "decimal"),
            Column("Aspiration", "decimal"),
            Column("Forecast"),
        ],
        [
            [
                Link(row.team.name, reverse("team_forecast", args=[row.team.pk])),
                *(bands.percent_display(row.percent(days.index(day))) for day in shown),
                row.totals[at_end].people_per_fte,
                row.team.aspiration,
                Tag("Above the aspiration", "govuk-tag--orange")
                if row.totals[at_end].above_aspiration(row.team.aspiration)
                else Tag("Within the aspiration", "govuk-tag--grey"),
            ]
            for row in rows
        ],
        empty="This service has no teams yet.",
    )
    return ServiceForecastPage(service, today, quarter_end, table, above)


def teams_above_next_quarter(
    service: Service, today: datetime.date
) -> tuple[datetime.date, list[tuple[Team, Decimal]]]:
    """The service overview's line: the teams forecast above their aspiration
    at the end of next quarter, from the numbers of today and of that day."""
    quarter_end = next_quarter_end(today)
    rows = service_forecast(service, today, [quarter_end])
    return quarter_end, [
        (row.team, row.totals[0].people_per_fte)
        for row in rows
        if row.totals[0].above_aspiration(row.team.aspiration)
    ]
