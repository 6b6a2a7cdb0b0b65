"""Forecasts: a team's numbers on the weeks ahead, computed on request by the
same set-based computation as every live figure, with future days as input.
Nothing here is stored, and live figures never assume what a forecast does.

What a forecast assumes (and says it assumes): the allocations of today
stay and no case arrives; memberships, FTE changes, experience factors and
reductions already recorded with future dates take effect on them; each
anticipated rating is reached on its due date, unless that date has already
come.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Exists, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from caseload.dates import Quarter
from caseload.models import Allocation, Person, Service, Team, TeamMembership, Vacancy
from weighting.bands import HUNDRED, ZERO, is_over_maximum
from weighting.numbers import (
    CaseloadNumbers,
    caseload_series_with_schemes,
    full_capacity,
    team_series,
)
from weighting.schemes_in_force import SchemeTerms, latest_rating
from weighting.totals import TeamTotals, team_totals

FORECAST_WEEKS = 12
# Said beside every forecast figure (the module's docstring, for its reader).
ASSUMES = (
    "A forecast, not a record. It assumes today's allocations stay and no case "
    "arrives; planned starters, leavers, closings, FTE changes, experience factors "
    "and reductions take effect on their dates; and each anticipated rating is "
    "reached on its due date."
)
# Said where a forecast's capacity includes the vacancies teams count.
ASSUMES_VACANCIES = "Vacancies count where their team says so."
# The weeks a team page shows beside today.
SHOWN_WEEKS = (4, 8, 12)


def forecast_days(today: datetime.date, weeks: int = FORECAST_WEEKS) -> list[datetime.date]:
    """Today and each week after it, `weeks` of them."""
    return [today + datetime.timedelta(weeks=n) for n in range(weeks + 1)]


def membership_in(
    team: Team | int, today: datetime.date, until: datetime.date | None = None
) -> tuple[dict, Q]:
    """Annotations of a person's membership of `team` for a forecast from
    `today` (whether they are in it today, the end of that membership, and
    the day they join when they join within the forecast), and the filter of
    the people a forecast counts: members today and those who join."""
    current = TeamMembership.objects.active_on(today).filter(team=team, person=OuterRef("pk"))
    joining = TeamMembership.objects.filter(
        team=team,
        person=OuterRef("pk"),
        start_date__gt=today,
        start_date__lte=until or forecast_days(today)[-1],
    ).order_by("start_date")
    annotations = {
        "is_member": Exists(current),
        "team_end": Subquery(current.values("end_date")[:1]),
        "joins_on": Subquery(joining.values("start_date")[:1]),
    }
    return annotations, Q(is_member=True) | Q(joins_on__isnull=False)


def with_team_dates(people: Iterable[Person]) -> list[Person]:
    """People read with `membership_in`'s annotations, each given the
    `team_start` (None when a member today) and `team_end` a forecast reads."""
    found = []
    for person in people:
        if person.is_member:
            person.team_start = None
        elif person.joins_on:
            person.team_start, person.team_end = person.joins_on, None
        else:
            continue
        found.append(person)
    return found


def forecast_members(
    team: Team, today: datetime.date, until: datetime.date | None = None
) -> list[Person]:
    """The people of a team's forecast (to `until`, by default its last
    week), in one query."""
    annotations, counted = membership_in(team, today, until)
    return with_team_dates(
        Person.objects.annotate(**annotations)
        .filter(counted)
        .select_related("service")
        .order_by("full_name", "pk")
    )


@dataclass(frozen=True)
class MemberForecast:
    person: Person
    # The person's numbers on each forecast day; None on a day they are not
    # in the team (not started yet, or left).
    points: list[CaseloadNumbers | None]
    # Their numbers on a chosen day, when one was asked for.
    chosen: CaseloadNumbers | None = None


@dataclass(frozen=True)
class TeamForecast:
    days: list[datetime.date]
    members: list[MemberForecast]

    @property
    def first_over(self) -> tuple[int, list[Person]] | None:
        """The first week ahead in which anyone not over the maximum today
        is over it, and who."""
        for week in range(1, len(self.days)):
            crossing = [
                m.person
                for m in self.members
                if (point := m.points[week]) is not None
                and point.has_capacity
                and is_over_maximum(point.band)
                and not (m.points[0] is not None and is_over_maximum(m.points[0].band))
            ]
            if crossing:
                return week, crossing
        return None

    @property
    def overdue_anticipated(self) -> int:
        """Anticipated ratings already due today: a forecast does not assume them."""
        return sum(m.points[0].overdue_count for m in self.members if m.points[0] is not None)


def team_forecast(
    members: Iterable[Person],
    today: datetime.date,
    service_id: int,
    team_id: int,
    weeks: int = FORECAST_WEEKS,
    chosen: datetime.date | None = None,
) -> tuple[dict[int, CaseloadNumbers], SchemeTerms | None, TeamForecast]:
    """Today's live numbers of the team's members and the forecast of the
    weeks ahead (and of a `chosen` day), in one computation. `members`:
    today's members and those who join within it, each read with
    `team_start` (None when in the team today) and `team_end` (their
    membership's end, exclusive)."""
    members = list(members)
    days = forecast_days(today, weeks)
    asked = sorted({*days, chosen}) if chosen else days
    series, terms = team_series(members, asked, service_id, team_id, assume_from=today)

    def in_team(point: CaseloadNumbers) -> CaseloadNumbers | None:
        return point if point.team_id == team_id else None

    forecast = TeamForecast(
        days=days,
        members=[
            MemberForecast(
                person,
                [in_team(series[day][person.pk]) for day in days],
                in_team(series[chosen][person.pk]) if chosen else None,
            )
            for person in members
        ],
    )
    today_numbers = {
        person.pk: series[today][person.pk] for person in members if person.team_start is None
    }
    return today_numbers, terms, forecast


# A service's forecast -------------------------------------------------------------


def next_quarter_end(today: datetime.date) -> datetime.date:
    """The last day of the quarter after today's: DMT's next quarterly review."""
    return Quarter.containing(today).next.end


@dataclass(frozen=True)
class TeamAhead:
    """A team's totals on each day of a service's forecast, with the
    capacity of the vacancies it counts (none where it does not)."""

    team: Team
    totals: list[TeamTotals]
    vacancy_capacity: list[Decimal]

    def percent(self, n: int) -> Decimal | None:
        capacity = self.totals[n].capacity + self.vacancy_capacity[n]
        return self.totals[n].weighted_load * HUNDRED / capacity if capacity > 0 else None


def service_forecast(
    service: Service, today: datetime.date, days: list[datetime.date]
) -> list[TeamAhead]:
    """Each team of the service on each of `days` (sorted, after or on
    `today`), in one computation of the numbers for everyone in its teams
    from today to the last day."""
    last = days[-1]
    teams = list(service.teams.order_by("name"))
    in_period = TeamMembership.objects.filter(team__service=service, start_date__lte=last).exclude(
        end_date__lte=today
    )
    person_ids = list(in_period.values_list("person_id", flat=True).distinct())
    series, schemes = caseload_series_with_schemes(
        person_ids, days, service_ids={service.pk}, assume_from=today
    )
    totals = {day: team_totals(series[day].values()) for day in days}
    # Read only where a team counts its vacancies (most teams do not).
    counting = [team.pk for team in teams if team.forecast_counts_vacancies]
    vacancies = (
        list(
            Vacancy.objects.filter(team_id__in=counting, start_date__lte=last).exclude(
                end_date__lte=today
            )
        )
        if counting
        else []
    )

    return [
        TeamAhead(
            team,
            [totals[day].get(team.pk, TeamTotals()) for day in days],
            [
                vacancy_capacity(
                    [v for v in vacancies if v.team_id == team.pk],
                    schemes[day].for_team(service.pk, team.pk),
                    day,
                    service,
                )
                for day in days
            ],
        )
        for team in teams
    ]


def vacancy_capacity(
    vacancies: Iterable[Vacancy], terms: SchemeTerms | None, day: datetime.date, service: Service
) -> Decimal:
    """The capacity the vacancies a team counts bring on `day`: a full
    capacity (`full_capacity`: the benchmark, or a month's hours for cases)
    for each one's FTE, from the day it starts to the day it is filled
    (exclusive)."""
    if terms is None:
        return ZERO
    return sum(
        (
            full_capacity(terms, v.fte, service)
            for v in vacancies
            if v.start_date <= day and (v.end_date is None or v.end_date > day)
        ),
        ZERO,
    )


# Demand: new work as it came in the last 12 weeks -------------------------------------


def weekly_demand(
    team: Team, today: datetime.date, unrated_weight: Decimal, weeks: int = FORECAST_WEEKS
) -> Decimal:
    """The weight of new work the team took on in an average week of the last
    `weeks`: each case allocated to a primary worker in the period, not as a
    transfer from another worker, at its weight today (an unrated case at
    `unrated_weight`). An assumption a forecast may show, never a figure."""
    start = today - datetime.timedelta(weeks=weeks)
    transfer = Allocation.objects.primary().filter(
        case=OuterRef("case"), end_date=OuterRef("start_date")
    )
    weight = Subquery(latest_rating(today).values("total")[:1])
    total = (
        Allocation.objects.primary()
        .filter(case__team=team, start_date__gt=start, start_date__lte=today)
        .exclude(Exists(transfer))
        .annotate(weight=Coalesce(weight, Value(unrated_weight), output_field=DecimalField()))
        .aggregate(total=Sum("weight"))["total"]
    )
    return Decimal(total or 0) / weeks
