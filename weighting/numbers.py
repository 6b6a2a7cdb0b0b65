"""The caseload numbers, defined once (DESIGN.md, "The numbers, defined once").

Every page, export, job and test takes its numbers from `caseload_numbers`,
which computes them for a whole set of people as of one day in a fixed number
of queries, whatever the number of people or cases. The arithmetic is in
Decimal; bands are decided on the exact values, never on rounded ones.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from django.db.models import Count, IntegerField, Max, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from caseload.formatting import ONE_DECIMAL, one_decimal, plain_number
from caseload.models import Allocation, Case, Person, Service, TeamMembership
from weighting.models import Criterion, ExperienceFactor, Rating, Reduction, Scheme

ZERO = Decimal("0")
HUNDRED = Decimal("100")
FULL_TIME_HOURS = Reduction.FULL_TIME_HOURS

# Share of a full caseload when no factor has been recorded (standard 5: an
# ASYE starts at about 80%).
DEFAULT_EXPERIENCE_FACTOR = {
    Person.Role.SOCIAL_WORKER: Decimal("1"),
    Person.Role.ASYE: Decimal("0.8"),
}


class Band(Enum):
    BLUE = "blue"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


@dataclass(frozen=True)
class Bands:
    """A service's band thresholds, in % of capacity."""

    green_from: Decimal = Decimal("95")
    amber_above: Decimal = Decimal("100")
    red_from: Decimal = Decimal("110")

    @classmethod
    def of(cls, service: Service | None) -> Bands:
        if service is None:
            return cls()
        return cls(service.band_green_from, service.band_amber_above, service.band_red_from)

    def band(self, load: Decimal, capacity: Decimal) -> Band | None:
        """The band of `load` against `capacity`, compared exactly: load × 100
        against capacity × threshold, with no division and no rounding."""
        if capacity <= 0:
            return None
        scaled = load * HUNDRED
        if scaled < capacity * self.green_from:
            return Band.BLUE
        if scaled <= capacity * self.amber_above:
            return Band.GREEN
        if scaled < capacity * self.red_from:
            return Band.AMBER
        return Band.RED

    def label(self, band: Band) -> str:
        return {
            Band.BLUE: f"Under {plain_number(self.green_from)}%",
            Band.GREEN: f"{plain_number(self.green_from)}–{plain_number(self.amber_above)}%",
            Band.AMBER: f"Over {plain_number(self.amber_above)}%",
            Band.RED: f"{plain_number(self.red_from)}% or more",
        }[band]

    def displayed_percent(self, exact: Decimal) -> Decimal:
        """`exact` to one decimal place, moved by a tenth where plain rounding
        would cross into the next band (100.04% shows as 100.1%, since it is
        over 100%), so that a number and its band never disagree."""
        shown = exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        exact_band = self.band(exact, HUNDRED)
        if self.band(shown, HUNDRED) == exact_band:
            return shown
        step = ONE_DECIMAL if shown < exact else -ONE_DECIMAL
        return shown + step


def capacity_points(
    *,
    benchmark: Decimal,
    fte: Decimal,
    experience_factor: Decimal,
    reduction_hours: Decimal = ZERO,
    reduction_percentage: Decimal = ZERO,
) -> Decimal:
    """benchmark × FTE × experience factor × (1 − reduced share), never below 0.

    The reduced share is the protected hours over the person's own hours
    (37 × FTE), plus any reductions given as a percentage of their hours.
    """
    if fte <= 0:
        return ZERO
    reduced_share = reduction_hours / (FULL_TIME_HOURS * fte) + reduction_percentage / HUNDRED
    return max(ZERO, benchmark * fte * experience_factor * (1 - reduced_share))


@dataclass(frozen=True)
class SchemeTerms:
    """What a scheme version means for the numbers."""

    scheme_id: int
    benchmark: Decimal
    middle_total: Decimal  # the weight of an unrated case: each criterion's middle level
    maximum_total: Decimal


@dataclass(frozen=True)
class CaseloadNumbers:
    person_id: int
    day: datetime.date
    case_count: int
    people_count: int
    weighted_load: Decimal
    capacity: Decimal
    unrated_count: int
    provisional_count: int
    bands: Bands = field(default_factory=Bands)
    has_scheme: bool = True
    team_id: int | None = None  # the team they were in that day

    @property
    def has_capacity(self) -> bool:
        return self.capacity > 0

    @property
    def percent(self) -> Decimal | None:
        """Capacity % exactly (for sorting and charts); None with no capacity."""
        if not self.has_capacity:
            return None
        return self.weighted_load * HUNDRED / self.capacity

    @property
    def band(self) -> Band | None:
        return self.bands.band(self.weighted_load, self.capacity)

    @property
    def band_label(self) -> str:
        return self.bands.label(self.band) if self.band else "No capacity"

    @property
    def percent_display(self) -> str:
        if self.percent is None:
            return "No capacity"
        return f"{self.bands.displayed_percent(self.percent)}%"

    @property
    def headroom(self) -> Decimal:
        return self.capacity - self.weighted_load

    @property
    def capacity_display(self) -> str:
        return one_decimal(self.capacity)

    @property
    def weighted_load_display(self) -> str:
        return plain_number(self.weighted_load)

    def with_extra_case(self, weight: Decimal, people: int) -> CaseloadNumbers:
        """These numbers as they would be with one more case (for allocation)."""
        return CaseloadNumbers(
            person_id=self.person_id,
            day=self.day,
            case_count=self.case_count + 1,
            people_count=self.people_count + people,
            weighted_load=self.weighted_load + weight,
            capacity=self.capacity,
            unrated_count=self.unrated_count,
            provisional_count=self.provisional_count,
            bands=self.bands,
            has_scheme=self.has_scheme,
            team_id=self.team_id,
        )


@dataclass(frozen=True)
class TeamTotals:
    """A team's totals and averages per case-holding FTE on a day.

    Case-holding practitioners are social workers and ASYEs; the team FTE is
    their contracted FTE (not reduced by the experience factor)."""

    case_holding_fte: Decimal
    cases: int
    people: int
    weighted_load: Decimal
    capacity: Decimal

    def _per_fte(self, amount: Decimal | int) -> Decimal | None:
        return Decimal(amount) / self.case_holding_fte if self.case_holding_fte else None

    @property
    def cases_per_fte(self) -> Decimal | None:
        return self._per_fte(self.cases)

    @property
    def people_per_fte(self) -> Decimal | None:
        return self._per_fte(self.people)

    @property
    def load_per_fte(self) -> Decimal | None:
        return self._per_fte(self.weighted_load)

    @property
    def cases_per_fte_display(self) -> str:
        return one_decimal(self.cases_per_fte)

    @property
    def people_per_fte_display(self) -> str:
        return one_decimal(self.people_per_fte)

    @property
    def load_per_fte_display(self) -> str:
        return one_decimal(self.load_per_fte)


def team_totals(numbers: Iterable[CaseloadNumbers], people: Mapping[int, Person]) -> TeamTotals:
    """Totals over the case-holding practitioners among `numbers`."""
    holding = [n for n in numbers if people[n.person_id].role in Person.CASE_HOLDING_ROLES]
    return TeamTotals(
        case_holding_fte=sum((people[n.person_id].fte for n in holding), ZERO),
        cases=sum(n.case_count for n in holding),
        people=sum(n.people_count for n in holding),
        weighted_load=sum((n.weighted_load for n in holding), ZERO),
        capacity=sum((n.capacity for n in holding), ZERO),
    )


def latest_rating(day: datetime.date, case_ref: str = "case") -> Rating:
    """The latest rating of OuterRef(case_ref) dated on or before `day`."""
    return Rating.objects.filter(case=OuterRef(case_ref), rated_on__lte=day).order_by(
        "-rated_on", "-pk"
    )


def scheme_terms(scheme_ids: Iterable[int]) -> dict[int, SchemeTerms]:
    """Benchmark, middle and maximum totals of each scheme version, in one query."""
    criteria = (
        Criterion.objects.filter(scheme_id__in=list(scheme_ids))
        .values("scheme_id", "scheme__benchmark", "pk")
        .annotate(low=Min("levels__value"), high=Max("levels__value"))
    )
    benchmark: dict[int, Decimal] = {}
    middle: dict[int, Decimal] = defaultdict(lambda: ZERO)
    maximum: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in criteria:
        scheme_id = row["scheme_id"]
        benchmark[scheme_id] = Decimal(row["scheme__benchmark"])
        if row["low"] is not None:
            middle[scheme_id] += (Decimal(row["low"]) + Decimal(row["high"])) / 2
            maximum[scheme_id] += Decimal(row["high"])
    return {
        scheme_id: SchemeTerms(
            scheme_id, benchmark[scheme_id], middle[scheme_id], maximum[scheme_id]
        )
        for scheme_id in benchmark
    }


def load_scheme_rows(
    service_ids: Iterable[int], team_ids: Iterable[int] | None = None
) -> list[dict]:
    """Every agreed (or since retired) scheme version of these services."""
    schemes = Scheme.objects.in_use().filter(service_id__in=set(service_ids))
    if team_ids is not None:
        schemes = schemes.filter(Q(team_id__in=list(team_ids)) | Q(team__isnull=True))
    return list(
        schemes.values("pk", "service_id", "team_id", "agreed_on").order_by("agreed_on", "version")
    )


class SchemesInForce:
    """Which scheme version applies to each team on a day.

    A team's own version in force that day (the latest agreed on or before
    it), else the service-wide one. Before any version was agreed, the first
    agreed version applies (the team's own, else the service's), so that
    history is never left without a scheme.
    """

    def __init__(
        self,
        service_ids: Iterable[int],
        day: datetime.date,
        team_ids: Iterable[int] | None = None,
        *,
        rows: list[dict] | None = None,
        terms: dict[int, SchemeTerms] | None = None,
    ) -> None:
        self.day = day
        if rows is None:
            rows = load_scheme_rows(service_ids, team_ids)
        self._in_force: dict[tuple[int, int | None], int] = {}
        self._first: dict[tuple[int, int | None], int] = {}
        for scheme in rows:
            owner = (scheme["service_id"], scheme["team_id"])
            self._first.setdefault(owner, scheme["pk"])
            if scheme["agreed_on"] <= day:
                self._in_force[owner] = scheme["pk"]
        self._terms = terms

    def scheme_id_for(self, service_id: int, team_id: int | None) -> int | None:
        team, service = (service_id, team_id), (service_id, None)
        return (
            self._in_force.get(team)
            or self._in_force.get(service)
            or self._first.get(team)
            or self._first.get(service)
        )

    def for_team(self, service_id: int, team_id: int | None) -> SchemeTerms | None:
        if self._terms is None:
            self._terms = scheme_terms({*self._in_force.values(), *self._first.values()})
        scheme_id = self.scheme_id_for(service_id, team_id)
        return self._terms.get(scheme_id) if scheme_id else None


@dataclass
class _Held:
    """What a person holds on a day, before the unrated cases are weighed."""

    cases: int = 0
    people: int = 0
    rated_load: Decimal = ZERO
    unrated_by_team: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    provisional: int = 0


def _active(row: dict, day: datetime.date) -> bool:
    return row["start_date"] <= day and (row["end_date"] is None or row["end_date"] > day)


def _finish(
    person: Person,
    day: datetime.date,
    team_id: int | None,
    held: _Held,
    factor_rows: list[dict],
    reduction_rows: list[dict],
    schemes: SchemesInForce,
) -> CaseloadNumbers:
    """A person's numbers on `day` from what they hold and what reduces their
    capacity: the one place where load, capacity and band are put together."""
    load = held.rated_load
    unrated = 0
    for (service_id, case_team_id), count in held.unrated_by_team.items():
        terms = schemes.for_team(service_id, case_team_id)
        load += (terms.middle_total if terms else ZERO) * count
        unrated += count
    terms = schemes.for_team(person.service_id, team_id) if person.service_id else None
    factor = next(
        (Decimal(row["factor"]) for row in factor_rows if _active(row, day)),
        DEFAULT_EXPERIENCE_FACTOR.get(person.role, ZERO),
    )
    if person.role not in Person.CASE_HOLDING_ROLES or terms is None:
        capacity = ZERO
    else:
        active = [row for row in reduction_rows if _active(row, day)]
        capacity = capacity_points(
            benchmark=terms.benchmark,
            fte=person.fte,
            experience_factor=factor,
            reduction_hours=sum((Decimal(r["hours_per_week"] or 0) for r in active), ZERO),
            reduction_percentage=sum((Decimal(r["percentage"] or 0) for r in active), ZERO),
        )
    return CaseloadNumbers(
        person_id=person.pk,
        day=day,
        case_count=held.cases,
        people_count=held.people,
        weighted_load=load,
        capacity=capacity,
        unrated_count=unrated,
        provisional_count=held.provisional,
        bands=Bands.of(person.service),
        has_scheme=terms is not None,
        team_id=team_id,
    )


def _capacity_rows(
    person_ids: list[int], first: datetime.date, last: datetime.date
) -> tuple[dict[int, list[dict]], dict[int, list[dict]]]:
    """Experience factors and reductions of these people that apply at some
    point from `first` to `last`, by person."""
    overlapping = Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=first))
    factors: dict[int, list[dict]] = defaultdict(list)
    for row in ExperienceFactor.objects.filter(overlapping, person_id__in=person_ids).values(
        "person_id", "factor", "start_date", "end_date"
    ):
        factors[row["person_id"]].append(row)
    reductions: dict[int, list[dict]] = defaultdict(list)
    for row in Reduction.objects.filter(overlapping, person_id__in=person_ids).values(
        "person_id", "hours_per_week", "percentage", "start_date", "end_date"
    ):
        reductions[row["person_id"]].append(row)
    return factors, reductions


def caseload_numbers(
    people: Iterable[Person] | Iterable[int], day: datetime.date
) -> dict[int, CaseloadNumbers]:
    """Each person's caseload numbers on `day`, keyed by person id.

    Holds a case: a primary allocation with start ≤ day < end. Weight: the
    total of the case's latest rating dated on or before `day`; an unrated
    case counts the middle level of each criterion and is flagged. The held
    cases are summed by the database, per person, in one query.
    """
    person_ids = [p if isinstance(p, int) else p.pk for p in people]
    team_that_day = TeamMembership.objects.active_on(day).filter(person=OuterRef("pk"))
    persons = list(
        Person.objects.filter(pk__in=person_ids)
        .select_related("service")
        .annotate(team_that_day=Subquery(team_that_day.values("team_id")[:1]))
    )
    held_rows = list(
        Allocation.objects.primary()
        .active_on(day)
        .filter(person_id__in=person_ids)
        .annotate(
            rating_total=Subquery(latest_rating(day).values("total")[:1]),
            rating_status=Subquery(latest_rating(day).values("status")[:1]),
        )
        .values("person_id", "case__service_id", "case__team_id")
        .annotate(
            cases=Count("pk"),
            people=Coalesce(Sum("case__people_count"), 0, output_field=IntegerField()),
            rated_load=Sum("rating_total"),
            unrated=Count("pk", filter=Q(rating_total__isnull=True)),
            provisional_count=Count("pk", filter=Q(rating_status=Rating.Status.PROVISIONAL)),
        )
    )
    service_ids = {p.service_id for p in persons if p.service_id}
    service_ids |= {row["case__service_id"] for row in held_rows}
    schemes = SchemesInForce(service_ids, day)
    factors, reductions = _capacity_rows(person_ids, day, day)

    held: dict[int, _Held] = defaultdict(_Held)
    for row in held_rows:
        totals = held[row["person_id"]]
        totals.cases += row["cases"]
        totals.people += row["people"]
        totals.rated_load += Decimal(row["rated_load"] or 0)
        totals.unrated_by_team[(row["case__service_id"], row["case__team_id"])] += row["unrated"]
        totals.provisional += row["provisional_count"]
    return {
        person.pk: _finish(
            person,
            day,
            person.team_that_day,
            held[person.pk],
            factors[person.pk],
            reductions[person.pk],
            schemes,
        )
        for person in persons
    }


def caseload_series(
    people: Iterable[Person] | Iterable[int], days: Iterable[datetime.date]
) -> dict[datetime.date, dict[int, CaseloadNumbers]]:
    """The same numbers as `caseload_numbers`, for many days at once, in a
    fixed number of queries: the dated records of the whole period are read
    once and each day is worked out from them."""
    days = sorted(set(days))
    person_ids = [p if isinstance(p, int) else p.pk for p in people]
    first, last = days[0], days[-1]
    overlapping = Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=first))
    persons = list(Person.objects.filter(pk__in=person_ids).select_related("service"))
    memberships: dict[int, list[dict]] = defaultdict(list)
    for row in TeamMembership.objects.filter(overlapping, person_id__in=person_ids).values(
        "person_id", "team_id", "start_date", "end_date"
    ):
        memberships[row["person_id"]].append(row)
    allocations = list(
        Allocation.objects.primary()
        .filter(overlapping, person_id__in=person_ids)
        .values(
            "person_id",
            "case_id",
            "start_date",
            "end_date",
            "case__service_id",
            "case__team_id",
            "case__people_count",
        )
    )
    ratings: dict[int, list[tuple]] = defaultdict(list)
    for case_id, rated_on, pk, total, status in Rating.objects.filter(
        case_id__in={a["case_id"] for a in allocations}, rated_on__lte=last
    ).values_list("case_id", "rated_on", "pk", "total", "status"):
        ratings[case_id].append((rated_on, pk, total, status))
    for case_ratings in ratings.values():
        case_ratings.sort()
    service_ids = {p.service_id for p in persons if p.service_id}
    service_ids |= {a["case__service_id"] for a in allocations}
    scheme_rows = load_scheme_rows(service_ids)
    terms = scheme_terms({row["pk"] for row in scheme_rows})
    factors, reductions = _capacity_rows(person_ids, first, last)

    series: dict[datetime.date, dict[int, CaseloadNumbers]] = {}
    for day in days:
        schemes = SchemesInForce(service_ids, day, rows=scheme_rows, terms=terms)
        held: dict[int, _Held] = defaultdict(_Held)
        for allocation in allocations:
            if not _active(allocation, day):
                continue
            totals = held[allocation["person_id"]]
            totals.cases += 1
            totals.people += allocation["case__people_count"]
            latest = None
            for rated_on, _, total, status in ratings.get(allocation["case_id"], ()):
                if rated_on > day:
                    break
                latest = (total, status)
            if latest is None:
                owner = (allocation["case__service_id"], allocation["case__team_id"])
                totals.unrated_by_team[owner] += 1
            else:
                totals.rated_load += Decimal(latest[0])
                totals.provisional += latest[1] == Rating.Status.PROVISIONAL
        series[day] = {
            person.pk: _finish(
                person,
                day,
                next((m["team_id"] for m in memberships[person.pk] if _active(m, day)), None),
                held[person.pk],
                factors[person.pk],
                reductions[person.pk],
                schemes,
            )
            for person in persons
        }
    return series


def case_weight(case: Case, day: datetime.date) -> tuple[Decimal, bool]:
    """A case's weight on `day` and whether it is rated: its latest rating on or
    before `day`, else the middle of its team's scheme."""
    total = (
        Rating.objects.filter(case=case, rated_on__lte=day)
        .order_by("-rated_on", "-pk")
        .values_list("total", flat=True)
        .first()
    )
    if total is not None:
        return Decimal(total), True
    terms = SchemesInForce([case.service_id], day).for_team(case.service_id, case.team_id)
    return (terms.middle_total if terms else ZERO), False


@dataclass(frozen=True)
class Projection:
    """A worker's numbers before and after taking one more case."""

    before: CaseloadNumbers
    after: CaseloadNumbers

    @property
    def goes_over_maximum(self) -> bool:
        """Over the maximum (100% of capacity by default) once the case is added,
        or any case at all for someone with no capacity."""
        return not self.after.has_capacity or self.after.band in (Band.AMBER, Band.RED)


def project_allocation(
    case: Case, people: Iterable[Person], day: datetime.date, weight: Decimal | None = None
) -> dict[int, Projection]:
    """Each person's numbers now and with `case` added (at `weight`, else the
    case's own weight on `day`)."""
    if weight is None:
        weight, _ = case_weight(case, day)
    numbers = caseload_numbers(people, day)
    return {
        person_id: Projection(now, now.with_extra_case(weight, case.people_count))
        for person_id, now in numbers.items()
    }
