"""Forecasts: a team's numbers on the weeks ahead, computed on request by the
same set-based computation as every live figure, with future days as input.
Nothing here is stored, and live figures never assume what a forecast does.

What a forecast assumes (and says it assumes): the allocations of today
stay and no case arrives; memberships, experience factors and reductions
already recorded with future dates take effect on them; each anticipated
rating is reached on its due date, unless that date has already come.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from caseload.models import Person
from weighting.bands import is_over_maximum
from weighting.numbers import CaseloadNumbers, team_series
from weighting.schemes_in_force import SchemeTerms

FORECAST_WEEKS = 12
# The weeks a team page shows beside today.
SHOWN_WEEKS = (4, 8, 12)


def forecast_days(today: datetime.date, weeks: int = FORECAST_WEEKS) -> list[datetime.date]:
    """Today and each week after it, `weeks` of them."""
    return [today + datetime.timedelta(weeks=n) for n in range(weeks + 1)]


@dataclass(frozen=True)
class MemberForecast:
    person: Person
    # The person's numbers on each forecast day; None on a day they are not
    # in the team (not started yet, or left).
    points: list[CaseloadNumbers | None]

    def on_week(self, week: int) -> CaseloadNumbers | None:
        return self.points[week]


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
) -> tuple[dict[int, CaseloadNumbers], SchemeTerms | None, TeamForecast]:
    """Today's live numbers of the team's members and the forecast of the
    weeks ahead, in one computation. `members`: today's members and those
    who join within the weeks, each read with `team_start` (None when in the
    team today) and `team_end` (their membership's end, exclusive)."""
    members = list(members)
    days = forecast_days(today, weeks)
    series, terms = team_series(members, days, service_id, team_id, assume_from=today)
    forecast = TeamForecast(
        days=days,
        members=[
            MemberForecast(
                person,
                [
                    point if point.team_id == team_id else None
                    for point in (series[day][person.pk] for day in days)
                ],
            )
            for person in members
        ],
    )
    today_numbers = {
        person.pk: series[today][person.pk] for person in members if person.team_start is None
    }
    return today_numbers, terms, forecast
