"""A service's teams on one day, as the DMT dashboards show them: at a
quarter's end (from its stored review) and today (from the same numbers the
team pages use).

Every read is set-based: the queries a dashboard makes do not grow with the
number of teams, people or cases.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import SimpleNamespace

from django.db.models import Count, IntegerField, Min, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from caseload.dates import long_date
from caseload.formatting import one_decimal
from caseload.models import Case, Person, Service, Team, TeamMembership
from reports.models import DmtDecision, Escalation, QuarterlyReview, QuarterlyTeamRow
from supervision.models import SupervisionRecord, WorkloadConcern
from weighting.bands import Band
from weighting.models import SchemeUnit
from weighting.numbers import caseload_numbers
from weighting.totals import (
    TeamTotals,
    above_aspiration,
    service_totals,
    team_totals,
    weight_per_fte,
)

BANDS = tuple(band.value for band in Band)


@dataclass
class TeamPosition:
    """A team's numbers on one day: at a quarter's end or today."""

    team_id: int
    team_name: str
    aspiration: Decimal
    # The case-holding practitioners' totals (weighting.totals.team_totals,
    # or as the stored review holds them).
    totals: TeamTotals = field(default_factory=TeamTotals)
    mean_people_per_fte: Decimal | None = None
    unallocated: int = 0
    longest_wait_days: int | None = None
    open_escalations: int = 0
    open_concerns: int = 0
    overdue_concerns: int = 0
    supervision_overdue: int | None = None
    agreement: DmtDecision | None = None
    # Stored reviews keep their own per-FTE figures; live ones are computed.
    stored_per_fte: tuple[Decimal | None, Decimal | None, Decimal | None] | None = None

    @property
    def case_holding_fte(self) -> Decimal:
        return self.totals.case_holding_fte

    @property
    def cases(self) -> int:
        return self.totals.cases

    @property
    def people(self) -> int:
        return self.totals.people

    @property
    def weighted_load(self) -> Decimal:
        return self.totals.weighted_load

    @property
    def over_maximum(self) -> int:
        return self.totals.over_maximum

    @property
    def bands(self) -> dict[str, int]:
        """People in each band, by the band's value."""
        return {band.value: self.totals.in_band(band) for band in Band}

    @property
    def band_counts(self) -> list[int]:
        """People in each band, in the bands' order (BANDS)."""
        return [self.totals.in_band(band) for band in Band]

    @property
    def cases_per_fte(self) -> Decimal | None:
        if self.stored_per_fte:
            return self.stored_per_fte[0]
        return self.totals.cases_per_fte

    @property
    def people_per_fte(self) -> Decimal | None:
        if self.stored_per_fte:
            return self.stored_per_fte[1]
        return self.totals.people_per_fte

    @property
    def load_per_fte(self) -> Decimal | None:
        if self.stored_per_fte:
            return self.stored_per_fte[2]
        return self.totals.load_per_fte

    @property
    def unit(self) -> str:
        return self.totals.unit

    def weight_per_fte(self, unit: str) -> Decimal | None:
        """Weight per FTE in `unit` (points, or hours a month), if the
        team's scheme measures in it."""
        return self.load_per_fte if self.unit == unit else None

    @property
    def above_aspiration(self) -> bool:
        """Above the team's aspiration: needs DMT agreement (standard 7)."""
        return above_aspiration(self.people_per_fte, self.aspiration)

    @property
    def needs_agreement(self) -> bool:
        """Above the aspiration with no agreed deviation covering the day."""
        return self.above_aspiration and self.agreement is None

    @property
    def decision_status(self) -> str:
        if self.people_per_fte is None:
            return "No case-holding staff"
        if not self.above_aspiration:
            return "Within aspiration"
        if self.agreement is not None:
            return f"Agreed until {long_date(self.agreement.review_by)}"
        return "Needs DMT agreement"

    @property
    def band_people(self) -> int:
        return sum(self.totals.bands.values())


@dataclass
class ServicePosition:
    """A service's teams on one day, with the service's own averages."""

    day: datetime.date
    teams: list[TeamPosition]
    review: QuarterlyReview | None = None

    @cached_property
    def totals(self) -> TeamTotals:
        """The teams' totals added up (weighting.totals.service_totals), once
        for the position: its tables and charts ask for them many times."""
        return service_totals(t.totals for t in self.teams)

    @property
    def case_holding_fte(self) -> Decimal:
        if self.review:
            return self.review.case_holding_fte
        return self.totals.case_holding_fte

    @property
    def cases_per_fte(self) -> Decimal | None:
        if self.review:
            return self.review.cases_per_fte
        return self.totals.cases_per_fte

    @property
    def people_per_fte(self) -> Decimal | None:
        if self.review:
            return self.review.people_per_fte
        return self.totals.people_per_fte

    @property
    def load_per_fte(self) -> Decimal | None:
        if self.review:
            return self.review.load_per_fte
        return self.totals.load_per_fte

    @property
    def has_hours(self) -> bool:
        """Whether any team's scheme measures in hours a month."""
        return any(t.unit == SchemeUnit.HOURS for t in self.teams)

    def weight_per_fte(self, unit: str) -> Decimal | None:
        """The service's weight per FTE over its teams measuring in `unit`."""
        return weight_per_fte([t.totals for t in self.teams], unit)

    @property
    def unallocated(self) -> int:
        return sum(t.unallocated for t in self.teams)

    @property
    def longest_wait_days(self) -> int | None:
        return max((t.longest_wait_days for t in self.teams if t.longest_wait_days is not None),
                   default=None)  # fmt: skip

    @property
    def over_maximum(self) -> int:
        return self.totals.over_maximum

    @property
    def open_escalations(self) -> int:
        return sum(t.open_escalations for t in self.teams)

    @property
    def open_concerns(self) -> int:
        return sum(t.open_concerns for t in self.teams)

    @property
    def needing_agreement(self) -> list[TeamPosition]:
        return [t for t in self.teams if t.needs_agreement]

    @property
    def aspirations(self) -> str:
        """The aspiration, or the range of them when teams differ."""
        values = sorted({t.aspiration for t in self.teams})
        if not values:
            return ""
        if len(values) == 1:
            return one_decimal(values[0]).removesuffix(".0")
        low, high = (one_decimal(v).removesuffix(".0") for v in (values[0], values[-1]))
        return f"{low}–{high}"


def agreements_on(
    service_id: int, *days: datetime.date
) -> dict[datetime.date, dict[int, DmtDecision]]:
    """The agreed deviation in force on each of `days` for each team (the
    latest), from one query."""
    found: dict[datetime.date, dict[int, DmtDecision]] = {day: {} for day in days}
    decisions = DmtDecision.objects.filter(
        service_id=service_id,
        kind=DmtDecision.Kind.AGREED,
        quarter_start__lte=max(days),
        review_by__gte=min(days),
    ).order_by("-review_by", "-pk")
    for decision in decisions:
        for day in days:  # as DmtDecisionQuerySet.agreements_covering(day)
            if decision.quarter_start <= day <= decision.review_by:
                found[day].setdefault(decision.team_id, decision)
    return found


def team_rows(reviews: list[QuarterlyReview], team_ids: list[int] | None = None) -> QuerySet:
    """The stored reviews' rows for each team, by team name."""
    rows = QuarterlyTeamRow.objects.filter(review__in=[r.pk for r in reviews]).select_related(
        "team"
    )
    if team_ids is not None:
        rows = rows.filter(team_id__in=team_ids)
    return rows.order_by("team__name", "review__quarter_end")


def stored_position(
    review: QuarterlyReview,
    team_ids: list[int] | None = None,
    *,
    rows: list[QuarterlyTeamRow] | None = None,
    agreements: dict[int, DmtDecision] | None = None,
) -> ServicePosition:
    """The teams as the stored review holds them, with the agreements in force
    on its last day. `rows` and `agreements`, when given, are the review's
    rows and those agreements, already read with other figures of the page."""
    if rows is None:
        rows = list(team_rows([review], team_ids))
    if agreements is None:
        agreements = agreements_on(review.service_id, review.quarter_end)[review.quarter_end]
    return ServicePosition(
        day=review.quarter_end,
        review=review,
        teams=[
            _from_row(row, agreements.get(row.team_id))
            for row in rows
            if row.review_id == review.pk and (team_ids is None or row.team_id in team_ids)
        ],
    )


def _from_row(row: QuarterlyTeamRow, agreement: DmtDecision | None) -> TeamPosition:
    return TeamPosition(
        team_id=row.team_id,
        team_name=row.team.name,
        aspiration=row.aspiration,
        totals=TeamTotals(
            case_holding_fte=row.case_holding_fte,
            cases=row.cases,
            people=row.people,
            weighted_load=row.weighted_load,
            unit=row.unit,
            bands={
                Band.BLUE: row.band_blue,
                Band.GREEN: row.band_green,
                Band.AMBER: row.band_amber,
                Band.RED: row.band_red,
            },
        ),
        mean_people_per_fte=row.mean_people_per_fte,
        unallocated=row.unallocated,
        longest_wait_days=row.longest_wait_days,
        open_escalations=row.open_escalations,
        open_concerns=row.open_concerns,
        overdue_concerns=row.overdue_concerns,
        agreement=agreement,
        stored_per_fte=(row.cases_per_fte, row.people_per_fte, row.load_per_fte),
    )


# Today ---------------------------------------------------------------------------


def _count(queryset: QuerySet, by: str) -> Coalesce:
    """The rows of `queryset`, filtered on OuterRef("pk") by `by`, counted in a
    subquery: 0 when there are none."""
    counted = queryset.order_by().values(by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


# The service's teams by name, each with its unallocated cases grouped and
# joined ({waiting}: one anti-join for the whole service, rather than one per
# team in a subquery of each).
TEAMS_WAITING_SQL = """
SELECT t.*, COALESCE(w.unallocated, 0) AS unallocated, w.waiting_since
FROM {team} t LEFT JOIN ({waiting}) w ON w.team_id = t.id
WHERE t.service_id = %s {chosen}
ORDER BY t.name
"""


def _teams_with_waiting(service: Service, team_ids: list[int] | None) -> list[Team]:
    """The service's teams (or these of them) by name, each with `unallocated`,
    its unallocated cases, and `waiting_since`, when the longest waiting of
    them started to wait (None when none is waiting), in one query."""
    waiting = Case.objects.unallocated().filter(team__service=service)
    chosen, chosen_params = "", []
    if team_ids is not None:
        if not team_ids:
            return []
        waiting = waiting.filter(team_id__in=team_ids)
        chosen, chosen_params = f"AND t.id IN ({', '.join(['%s'] * len(team_ids))})", team_ids
    waiting_sql, params = (
        waiting.with_waiting_since()
        .values("team_id")
        .annotate(unallocated=Count("pk"), waiting_since=Min("waiting_since"))
        .order_by()
        .query.sql_with_params()
    )
    sql = TEAMS_WAITING_SQL.format(team=Team._meta.db_table, waiting=waiting_sql, chosen=chosen)
    teams = list(Team.objects.raw(sql, [*params, service.pk, *chosen_params]))
    day = Case._meta.get_field("opened_on")
    for team in teams:  # a column the model does not know: SQLite gives it as text
        team.waiting_since = day.to_python(team.waiting_since)
    return teams


PERSON_FIELDS = (
    "pk",
    "role",
    "next_supervision",
    "open_escalations",
    "open_concerns",
    "overdue_concerns",
)


def current_position(
    service: Service,
    day: datetime.date,
    team_ids: list[int] | None = None,
    *,
    agreements: dict[int, DmtDecision] | None = None,
) -> ServicePosition:
    """The teams today, from the one computation of caseload numbers.

    Each count beside the numbers is a grouped join of the teams' query or a
    subquery of the people's, so the queries do not grow with the teams or
    people."""
    positions = {
        t.pk: TeamPosition(
            team_id=t.pk,
            team_name=t.name,
            aspiration=t.aspiration,
            supervision_overdue=0,
            unallocated=t.unallocated,
            longest_wait_days=(
                max((day - t.waiting_since).days, 0) if t.waiting_since is not None else None
            ),
        )
        for t in _teams_with_waiting(service, team_ids)
    }
    memberships = TeamMembership.objects.active_on(day).filter(team_id__in=list(positions))
    latest = SupervisionRecord.objects.held_for(OuterRef("pk"))
    concerns = WorkloadConcern.objects.open().filter(person=OuterRef("pk"))
    people = {
        p["pk"]: SimpleNamespace(**p)
        for p in Person.objects.filter(pk__in=memberships.values("person_id"))
        .annotate(
            next_supervision=Subquery(latest.values("next_supervision")[:1]),
            open_escalations=_count(
                Escalation.objects.open().filter(person=OuterRef("pk")), "person"
            ),
            open_concerns=_count(concerns, "person"),
            overdue_concerns=_count(concerns.filter(respond_by__lt=day), "person"),
        )
        .values(*PERSON_FIELDS)
    }
    numbers = caseload_numbers(list(people), day)
    for team_id, totals in team_totals(numbers.values()).items():
        if team_id in positions:
            positions[team_id].totals = totals
    for pk, n in numbers.items():
        person, team = people[pk], positions.get(n.team_id)
        if team is None:
            continue
        if person.role in Person.INVOLVED_ROLES and (person.next_supervision or day) < day:
            team.supervision_overdue += 1
        team.open_escalations += person.open_escalations
        team.open_concerns += person.open_concerns
        team.overdue_concerns += person.overdue_concerns

    if agreements is None:
        agreements = agreements_on(service.pk, day)[day]
    for team_id, team in positions.items():
        team.agreement = agreements.get(team_id)
    return ServicePosition(day=day, teams=list(positions.values()))
