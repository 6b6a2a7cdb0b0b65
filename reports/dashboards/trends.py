"""The DMT dashboards' trends: children per FTE over the last eight quarters
(from the stored reviews) and weighted load per FTE over the last twelve
months (from the stored daily totals, ending on today's live figures)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from caseload.dates import Quarter, add_months
from caseload.models import Service
from reports.dashboards.positions import ServicePosition, team_rows
from reports.dashboards.quarters import quarter_of
from reports.models import QuarterlyReview, QuarterlyTeamRow, TeamDay
from weighting.bands import per_fte

ZERO = Decimal(0)
TREND_QUARTERS = 8
TREND_MONTHS = 12


@dataclass
class QuarterTrend:
    """Children per FTE for each team over the quarters up to the chosen one."""

    quarters: list[Quarter]
    service: list[Decimal | None]
    teams: list[tuple[int, str, Decimal, list[Decimal | None]]]  # id, name, aspiration, values


def trend_window(reviews: list[QuarterlyReview], chosen: QuarterlyReview) -> list[QuarterlyReview]:
    """The last eight quarters' stored reviews up to the chosen one, oldest first."""
    window = [r for r in reviews if r.quarter_end <= chosen.quarter_end][:TREND_QUARTERS]
    window.reverse()
    return window


def quarter_trend(
    reviews: list[QuarterlyReview],
    chosen: QuarterlyReview,
    team_ids: list[int] | None = None,
    *,
    rows: list[QuarterlyTeamRow] | None = None,
) -> QuarterTrend:
    """The last eight quarters' stored reviews, oldest first. `rows`, when
    given, are team_rows() of the window, read once for the page."""
    window = trend_window(reviews, chosen)
    index = {r.pk: n for n, r in enumerate(window)}
    if rows is None:
        rows = list(team_rows(window, team_ids))
    by_team: dict[int, tuple[str, Decimal, list]] = {}
    for row in rows:
        if row.review_id not in index or (team_ids is not None and row.team_id not in team_ids):
            continue
        entry = by_team.setdefault(
            row.team_id, (row.team.name, row.aspiration, [None] * len(window))
        )
        entry[2][index[row.review_id]] = row.people_per_fte
    return QuarterTrend(
        quarters=[quarter_of(r) for r in window],
        service=[r.people_per_fte for r in window],
        teams=[
            (pk, name, aspiration, values) for pk, (name, aspiration, values) in by_team.items()
        ],
    )


@dataclass
class MonthPoint:
    month: datetime.date  # its first day
    load_per_fte: Decimal | None
    people_per_fte: Decimal | None
    days: int


def month_trend(
    service: Service,
    day: datetime.date,
    today: ServicePosition,
    team_ids: list[int] | None = None,
) -> list[MonthPoint]:
    """The daily mean of weighted load and children per case-holding FTE, for
    each of the last twelve months (the current month so far): the days
    before `day` from the stored daily totals of each team (the sums of its
    snapshots), and `day` itself from `today`, the teams' live position, so
    that the trend ends on the figures the page shows for today."""
    first = add_months(day.replace(day=1), -(TREND_MONTHS - 1))
    team_days = TeamDay.objects.filter(team__service=service, day__gte=first, day__lt=day)
    if team_ids is not None:
        team_days = team_days.filter(team_id__in=team_ids)
    daily = team_days.values("day").annotate(
        fte=Sum("case_holding_fte"), load=Sum("weighted_load"), people=Sum("people")
    )
    months: dict[datetime.date, list[tuple[Decimal | None, Decimal | None]]] = defaultdict(list)
    for row in daily.order_by("day"):
        months[row["day"].replace(day=1)].append(
            (per_fte(row["load"], row["fte"]), per_fte(row["people"], row["fte"]))
        )
    live = [t for t in today.teams if team_ids is None or t.team_id in team_ids]
    fte = sum((t.case_holding_fte for t in live), ZERO)
    if fte:  # as a stored day: a team-day only where someone holds cases
        load = sum((t.weighted_load for t in live), ZERO)
        people = sum(t.people for t in live)
        months[day.replace(day=1)].append((per_fte(load, fte), per_fte(people, fte)))
    points = []
    for n in range(TREND_MONTHS):
        month = add_months(first, n)
        values = months.get(month, [])
        loads = [load for load, _ in values if load is not None]
        people = [p for _, p in values if p is not None]
        points.append(
            MonthPoint(
                month=month,
                load_per_fte=sum(loads, ZERO) / len(loads) if loads else None,
                people_per_fte=sum(people, ZERO) / len(people) if people else None,
                days=len(values),
            )
        )
    return points
