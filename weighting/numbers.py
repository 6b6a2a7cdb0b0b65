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
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache

from django.db import connection
from django.db.models import (
    Count,
    FilteredRelation,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils.functional import cached_property

from caseload.db import among
from caseload.formatting import ONE_DECIMAL, one_decimal, plain_number
from caseload.models import Allocation, Case, Person, Service
from weighting.models import Criterion, ExperienceFactor, Rating, Reduction, Scheme

ZERO = Decimal("0")
HUNDRED = Decimal("100")
FULL_TIME_HOURS = Reduction.FULL_TIME_HOURS
# A rating not reviewed for this long is stale (12 weeks: one analysis period).
STALE_RATING_DAYS = 84

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


def is_over_maximum(band: Band | str | None) -> bool:
    """Over the maximum: capacity % above the top of the green band (100% by
    default), that is amber or red. A stored band is given as its value; no
    band (no capacity) is never over."""
    return bool(band) and Band(band) in (Band.AMBER, Band.RED)


# The stored band values that are over the maximum, to filter snapshots by.
OVER_MAXIMUM_BANDS = [band.value for band in Band if is_over_maximum(band)]


def per_fte(amount: Decimal | int, fte: Decimal) -> Decimal | None:
    """An amount per case-holding FTE, exactly; none when there is no FTE."""
    return Decimal(amount) / fte if fte else None


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
        return _band_labels(self)[band]

    @property
    def headings(self) -> tuple[str, ...]:
        """The bands' names in order (blue to red), for table headings and
        chart keys: from this service's thresholds, never fixed text."""
        labels = _band_labels(self)
        return tuple(labels[band] for band in Band)

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

    def percent_display(self, exact: Decimal | None) -> str:
        """A capacity % as pages show it ("108.3%"), or "No capacity"."""
        if exact is None:
            return "No capacity"
        return f"{self.displayed_percent(exact)}%"


@lru_cache(maxsize=256)
def _band_labels(bands: Bands) -> dict[Band, str]:
    """A service's band names (computed once per set of thresholds: an
    analysis names the band of every point of every person)."""
    return {
        Band.BLUE: f"Under {plain_number(bands.green_from)}%",
        Band.GREEN: f"{plain_number(bands.green_from)}–{plain_number(bands.amber_above)}%",
        Band.AMBER: f"Over {plain_number(bands.amber_above)}%",
        Band.RED: f"{plain_number(bands.red_from)}% or more",
    }


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
    # Held cases whose latest rating is older than STALE_RATING_DAYS, and
    # whose anticipated rating was due before the day.
    stale_count: int = 0
    overdue_count: int = 0
    # What the team totals need of the person: their contracted FTE and
    # whether they hold cases (social workers and ASYEs).
    fte: Decimal = ZERO
    case_holding: bool = False

    @property
    def has_capacity(self) -> bool:
        return self.capacity > 0

    # Computed once per instance: a 12-week analysis asks each point for
    # them several times. (The instance is frozen; cached_property writes to
    # its __dict__ directly. Django's, as functools' takes a lock on each
    # first use in Python 3.11: 430,000 points nationally.)
    @cached_property
    def percent(self) -> Decimal | None:
        """Capacity % exactly (for sorting and charts); None with no capacity."""
        if not self.has_capacity:
            return None
        return self.weighted_load * HUNDRED / self.capacity

    @cached_property
    def band(self) -> Band | None:
        return self.bands.band(self.weighted_load, self.capacity)

    @property
    def over_maximum(self) -> bool:
        return is_over_maximum(self.band)

    @property
    def band_label(self) -> str:
        return self.bands.label(self.band) if self.band else "No capacity"

    @property
    def percent_display(self) -> str:
        return self.bands.percent_display(self.percent)

    @property
    def percent_shown(self) -> Decimal | None:
        """Capacity % to one decimal, never contradicting the band."""
        return None if self.percent is None else self.bands.displayed_percent(self.percent)

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
        return replace(
            self,
            case_count=self.case_count + 1,
            people_count=self.people_count + people,
            weighted_load=self.weighted_load + weight,
        )


def above_aspiration(people_per_fte: Decimal | None, aspiration: Decimal) -> bool:
    """People per case-holding FTE above the team's aspiration: the team needs
    DMT agreement (standard 7)."""
    return people_per_fte is not None and people_per_fte > aspiration


@dataclass(frozen=True)
class TeamTotals:
    """A team's (or a service's) totals and averages per case-holding FTE on
    a day (DESIGN.md, "Team averages").

    Case-holding practitioners are social workers and ASYEs; the team FTE is
    their contracted FTE (not reduced by the experience factor). `bands`
    counts them by band; the rest of the team is not counted at all."""

    case_holding_fte: Decimal = ZERO
    cases: int = 0
    people: int = 0
    weighted_load: Decimal = ZERO
    capacity: Decimal = ZERO
    bands: Mapping[Band, int] = field(default_factory=dict)

    @property
    def cases_per_fte(self) -> Decimal | None:
        return per_fte(self.cases, self.case_holding_fte)

    @property
    def people_per_fte(self) -> Decimal | None:
        return per_fte(self.people, self.case_holding_fte)

    @property
    def load_per_fte(self) -> Decimal | None:
        return per_fte(self.weighted_load, self.case_holding_fte)

    @property
    def over_maximum(self) -> int:
        """How many case-holding practitioners are over the maximum."""
        return sum(count for band, count in self.bands.items() if is_over_maximum(band))

    def in_band(self, band: Band) -> int:
        return self.bands.get(band, 0)

    def above_aspiration(self, aspiration: Decimal) -> bool:
        return above_aspiration(self.people_per_fte, aspiration)

    @property
    def cases_per_fte_display(self) -> str:
        return one_decimal(self.cases_per_fte)

    @property
    def people_per_fte_display(self) -> str:
        return one_decimal(self.people_per_fte)

    @property
    def load_per_fte_display(self) -> str:
        return one_decimal(self.load_per_fte)


def _summed(parts: Iterable[TeamTotals]) -> TeamTotals:
    parts = list(parts)
    bands: dict[Band, int] = defaultdict(int)
    for part in parts:
        for band, count in part.bands.items():
            bands[band] += count
    return TeamTotals(
        case_holding_fte=sum((p.case_holding_fte for p in parts), ZERO),
        cases=sum(p.cases for p in parts),
        people=sum(p.people for p in parts),
        weighted_load=sum((p.weighted_load for p in parts), ZERO),
        capacity=sum((p.capacity for p in parts), ZERO),
        bands=dict(bands),
    )


def team_totals(numbers: Iterable[CaseloadNumbers]) -> dict[int, TeamTotals]:
    """Each team's totals from its people's numbers on one day (from
    `caseload_numbers`), keyed by team id: each person counts in the team
    they were in that day, and only case-holding practitioners count."""
    by_team: dict[int, list[TeamTotals]] = defaultdict(list)
    for n in numbers:
        if n.team_id is None or not n.case_holding:
            continue
        by_team[n.team_id].append(
            TeamTotals(
                case_holding_fte=n.fte,
                cases=n.case_count,
                people=n.people_count,
                weighted_load=n.weighted_load,
                capacity=n.capacity,
                bands={n.band: 1} if n.band else {},
            )
        )
    return {team_id: _summed(parts) for team_id, parts in by_team.items()}


def stored_team_totals(person_days: QuerySet, *by: str) -> dict[tuple, TeamTotals]:
    """Teams' totals summed by the database from stored person-day numbers
    (the daily snapshots: a row per person and day, in the team they were in
    that day, with `case_holding`, `fte` and the person's numbers), keyed by
    (team id, *by), e.g. `stored_team_totals(snapshots, "day")`. The same
    totals as `team_totals`, for days already recorded."""
    band_counts = {f"in_{band.value}": Count("pk", filter=Q(band=band.value)) for band in Band}
    rows = (
        person_days.filter(case_holding=True)
        .exclude(team_id=None)
        .values("team_id", *by)
        .annotate(
            sum_fte=Sum("fte"),
            sum_cases=Sum("case_count"),
            sum_people=Sum("people_count"),
            sum_load=Sum("weighted_load"),
            sum_capacity=Sum("capacity"),
            **band_counts,
        )
        .order_by()
    )
    return {
        (row["team_id"], *(row[name] for name in by)): TeamTotals(
            case_holding_fte=row["sum_fte"],
            cases=row["sum_cases"],
            people=row["sum_people"],
            weighted_load=row["sum_load"],
            capacity=row["sum_capacity"],
            bands={band: row[f"in_{band.value}"] for band in Band if row[f"in_{band.value}"]},
        )
        for row in rows
    }


def service_totals(teams: Iterable[TeamTotals]) -> TeamTotals:
    """A service's totals: its teams' totals added up. The service average
    is its totals per its total case-holding FTE (not a mean of the teams')."""
    return _summed(teams)


def latest_rating(day: datetime.date, case_ref: str = "case") -> Rating:
    """The latest rating of OuterRef(case_ref) dated on or before `day`, in
    the same order as `LATEST_RATING` (rated_on, then key), for queries that
    look up one case's rating rather than everyone's held cases."""
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


def load_schemes(
    service_ids: Iterable[int], team_ids: Iterable[int] | None = None
) -> tuple[list[dict], dict[int, SchemeTerms]]:
    """`load_scheme_rows` and `scheme_terms` of those versions, in one query:
    a row per version and criterion, with the criterion's lowest and highest
    level (a version with no criteria has no terms, as in `scheme_terms`)."""
    schemes = Scheme.objects.in_use().filter(service_id__in=set(service_ids))
    if team_ids is not None:
        schemes = schemes.filter(Q(team_id__in=list(team_ids)) | Q(team__isnull=True))
    rows: dict[int, dict] = {}
    benchmark: dict[int, Decimal] = {}
    middle: dict[int, Decimal] = defaultdict(lambda: ZERO)
    maximum: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        schemes.values(
            "pk", "service_id", "team_id", "agreed_on", "version", "benchmark", "criteria__pk"
        )
        .annotate(low=Min("criteria__levels__value"), high=Max("criteria__levels__value"))
        .order_by("agreed_on", "version", "criteria__pk")
    ):
        scheme_id = row["pk"]
        rows.setdefault(
            scheme_id, {name: row[name] for name in ("pk", "service_id", "team_id", "agreed_on")}
        )
        if row["criteria__pk"] is None:
            continue
        benchmark[scheme_id] = Decimal(row["benchmark"])
        if row["low"] is not None:
            middle[scheme_id] += (Decimal(row["low"]) + Decimal(row["high"])) / 2
            maximum[scheme_id] += Decimal(row["high"])
    terms = {
        scheme_id: SchemeTerms(
            scheme_id, benchmark[scheme_id], middle[scheme_id], maximum[scheme_id]
        )
        for scheme_id in benchmark
    }
    return list(rows.values()), terms


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
        # Each team's terms, once: an analysis of the country asks 860,000 times.
        self._for_team: dict[tuple[int, int | None], SchemeTerms | None] = {}

    @property
    def terms(self) -> dict[int, SchemeTerms]:
        """The terms of the versions read (those given, else those in force)."""
        if self._terms is None:
            self._terms = scheme_terms({*self._in_force.values(), *self._first.values()})
        return self._terms

    def scheme_id_for(self, service_id: int, team_id: int | None) -> int | None:
        team, service = (service_id, team_id), (service_id, None)
        return (
            self._in_force.get(team)
            or self._in_force.get(service)
            or self._first.get(team)
            or self._first.get(service)
        )

    def for_team(self, service_id: int, team_id: int | None) -> SchemeTerms | None:
        key = (service_id, team_id)
        if key not in self._for_team:
            scheme_id = self.scheme_id_for(service_id, team_id)
            self._for_team[key] = self.terms.get(scheme_id) if scheme_id else None
        return self._for_team[key]


@dataclass
class _Held:
    """What a person holds on a day, before the unrated cases are weighed."""

    cases: int = 0
    people: int = 0
    rated_load: Decimal = ZERO
    unrated_by_team: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    provisional: int = 0
    stale: int = 0
    overdue: int = 0


def _active(row: dict, day: datetime.date) -> bool:
    return row["start_date"] <= day and (row["end_date"] is None or row["end_date"] > day)


@dataclass(frozen=True)
class _Person:
    """What the numbers need of a person (read as values: quicker than models)."""

    pk: int
    role: str
    fte: Decimal
    service_id: int | None
    bands: Bands
    # Their team memberships over the period, in date order.
    memberships: list[dict] = field(default_factory=list)

    def team_on(self, day: datetime.date) -> int | None:
        return next((m["team_id"] for m in self.memberships if _active(m, day)), None)


def _people(person_ids: list[int], first: datetime.date, last: datetime.date) -> list[_Person]:
    """These people, each with their team memberships from `first` to `last`,
    in one query: a row per person and membership (none when they had none)."""
    thresholds = ("service__band_green_from", "service__band_amber_above", "service__band_red_from")
    membership = ("membership__team_id", "membership__start_date", "membership__end_date")
    in_period = Q(memberships__start_date__lte=last) & (
        Q(memberships__end_date__isnull=True) | Q(memberships__end_date__gt=first)
    )
    people: dict[int, _Person] = {}
    for row in (
        Person.objects.filter(pk__in=among(person_ids))
        .annotate(membership=FilteredRelation("memberships", condition=in_period))
        .values("pk", "role", "fte", "service_id", *thresholds, *membership)
        .order_by("full_name", "pk", "membership__start_date")
    ):
        person = people.get(row["pk"])
        if person is None:
            person = people[row["pk"]] = _Person(
                pk=row["pk"],
                role=row["role"],
                fte=row["fte"],
                service_id=row["service_id"],
                bands=Bands(*(row[t] for t in thresholds)) if row["service_id"] else Bands(),
            )
        if row["membership__team_id"] is not None:
            person.memberships.append(
                {
                    "team_id": row["membership__team_id"],
                    "start_date": row["membership__start_date"],
                    "end_date": row["membership__end_date"],
                }
            )
    return list(people.values())


def _finish(
    person: _Person,
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
        bands=person.bands,
        has_scheme=terms is not None,
        team_id=team_id,
        stale_count=held.stale,
        overdue_count=held.overdue,
        fte=person.fte,
        case_holding=person.role in Person.CASE_HOLDING_ROLES,
    )


def _overlapping(first: datetime.date, last: datetime.date) -> Q:
    """Dated rows (start, end exclusive) that apply on some day from `first`
    to `last`."""
    return Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=first))


def _capacity_rows(
    person_ids: list[int], first: datetime.date, last: datetime.date
) -> tuple[dict[int, list[dict]], dict[int, list[dict]]]:
    """Experience factors and reductions of these people that apply at some
    point from `first` to `last`, by person, in date order, in one query (a
    UNION ALL: a factor's row has no hours or percentage, a reduction's no
    factor)."""
    overlapping = _overlapping(first, last)
    people = among(person_ids)
    hours = Reduction._meta.get_field("hours_per_week")
    percentage = Reduction._meta.get_field("percentage")
    columns = ("person_id", "factor", "hours", "percentage", "start_date", "end_date")
    factor_rows = (
        ExperienceFactor.objects.filter(overlapping, person_id__in=people)
        .annotate(
            hours=Value(None, output_field=hours), percent=Value(None, output_field=percentage)
        )
        .values_list("person_id", "factor", "hours", "percent", "start_date", "end_date")
        .order_by()
    )
    reduction_rows = (
        Reduction.objects.filter(overlapping, person_id__in=people)
        .annotate(no_factor=Value(None, output_field=ExperienceFactor._meta.get_field("factor")))
        .values_list(
            "person_id", "no_factor", "hours_per_week", "percentage", "start_date", "end_date"
        )
        .order_by()
    )
    factors: dict[int, list[dict]] = defaultdict(list)
    reductions: dict[int, list[dict]] = defaultdict(list)
    for values in factor_rows.union(reduction_rows, all=True).order_by("start_date"):
        row = dict(zip(columns, values, strict=True))
        if row["factor"] is not None:
            factors[row["person_id"]].append(row)
        else:
            row["hours_per_week"] = row.pop("hours")
            reductions[row["person_id"]].append(row)
    return factors, reductions


# What each person holds on each of a list of days: one query, summed by the
# database per person, day and the case's team. The latest rating on or before
# the day is found per allocation by the (case, rated_on) index: a LATERAL
# join on PostgreSQL, a correlated subquery for its key on SQLite.
HELD_SQL = """
WITH days (n, day, stale_before) AS (VALUES {days})
SELECT a.person_id, days.n, c.service_id, c.team_id,
       COUNT(*) AS cases,
       SUM(c.people_count) AS people,
       SUM(r.total) AS rated_load,
       SUM(CASE WHEN r.id IS NULL THEN 1 ELSE 0 END) AS unrated,
       SUM(CASE WHEN r.status = %s THEN 1 ELSE 0 END) AS provisional,
       SUM(CASE WHEN r.rated_on < days.stale_before THEN 1 ELSE 0 END) AS stale,
       SUM(CASE WHEN r.anticipated_by < days.day THEN 1 ELSE 0 END) AS overdue
FROM days
JOIN {allocation} a
  ON a.kind = %s AND a.start_date <= days.day AND (a.end_date IS NULL OR a.end_date > days.day)
JOIN {case} c ON c.id = a.case_id
{latest}
WHERE {people}
GROUP BY a.person_id, days.n, c.service_id, c.team_id
"""
LATEST_RATING = """
    SELECT latest.{columns} FROM {rating} latest
    WHERE latest.case_id = a.case_id AND latest.rated_on <= days.day
    ORDER BY latest.rated_on DESC, latest.id DESC
    LIMIT 1
"""


def _held(person_ids: list[int], days: list[datetime.date]) -> dict[int, dict[int, _Held]]:
    """What each person holds on each day: {day index: {person id: _Held}}."""
    held: dict[int, dict[int, _Held]] = defaultdict(lambda: defaultdict(_Held))
    if not person_ids or not days:
        return held
    rating = Rating._meta.db_table
    if connection.vendor == "postgresql":
        # Joined to the ids rather than compared with an array: for a
        # service's hundreds of people the planner then hashes the ids once
        # (`= ANY` probes the index once per id and memoizes every case's
        # rating, none of them twice: about half the time at 600 people).
        people = "a.person_id IN (SELECT unnest(%s::bigint[]))"
        people_params = [list(person_ids)]
        columns = "id, latest.total, latest.status, latest.rated_on, latest.anticipated_by"
        latest = (
            f"LEFT JOIN LATERAL ({LATEST_RATING.format(columns=columns, rating=rating)}) r ON true"
        )
    else:
        people = f"a.person_id IN ({', '.join(['%s'] * len(person_ids))})"
        people_params = list(person_ids)
        latest = (
            f"LEFT JOIN {rating} r ON r.id = ({LATEST_RATING.format(columns='id', rating=rating)})"
        )
    sql = HELD_SQL.format(
        days=", ".join(["(%s, %s, %s)"] * len(days)),
        allocation=Allocation._meta.db_table,
        case=Case._meta.db_table,
        latest=latest,
        people=people,
    )
    stale = datetime.timedelta(days=STALE_RATING_DAYS)
    params = [value for n, day in enumerate(days) for value in (n, day, day - stale)]
    params += [Rating.Status.PROVISIONAL, Allocation.Kind.PRIMARY, *people_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for (
            person_id,
            n,
            service_id,
            team_id,
            cases,
            people_count,
            rated,
            unrated,
            provisional,
            stale_count,
            overdue_count,
        ) in cursor.fetchall():
            totals = held[n][person_id]
            totals.cases += cases
            totals.people += people_count
            totals.rated_load += Decimal(rated or 0)
            totals.unrated_by_team[(service_id, team_id)] += unrated
            totals.provisional += provisional
            totals.stale += stale_count
            totals.overdue += overdue_count
    return held


def caseload_numbers(
    people: Iterable[Person] | Iterable[int], day: datetime.date
) -> dict[int, CaseloadNumbers]:
    """Each person's caseload numbers on `day`, keyed by person id.

    Holds a case: a primary allocation with start ≤ day < end. Weight: the
    total of the case's latest rating dated on or before `day`; an unrated
    case counts the middle level of each criterion and is flagged. The held
    cases are summed by the database, per person, in one query.
    """
    return caseload_series(people, [day])[day]


def caseload_series(
    people: Iterable[Person] | Iterable[int], days: Iterable[datetime.date]
) -> dict[datetime.date, dict[int, CaseloadNumbers]]:
    """Each person's caseload numbers on each of `days`, in a fixed number of
    queries whatever the number of people, cases or days: what they hold is
    summed by the database for every day at once (`HELD_SQL`); people with
    their teams, schemes with their terms, and experience factors with
    reductions are read once for the whole period (four queries in all)."""
    series, _ = caseload_series_with_schemes(people, days)
    return series


def team_numbers(
    members: Iterable[Person], day: datetime.date, service_id: int, team_id: int
) -> tuple[dict[int, CaseloadNumbers], SchemeTerms | None]:
    """`caseload_numbers` on `day` of the team's members that day (each read
    with its `service`, for its band thresholds), and the terms of the scheme
    in force for the team that day (the weight of its unrated cases), from
    the same read of the schemes. Their team that day is this one: their
    memberships are not read again."""
    in_team = [{"team_id": team_id, "start_date": day, "end_date": None}]
    persons = [
        _Person(
            pk=member.pk,
            role=member.role,
            fte=member.fte,
            service_id=member.service_id,
            bands=Bands.of(member.service),
            memberships=in_team,
        )
        for member in members
    ]
    series, schemes = _series_with_schemes(persons, [day], service_ids={service_id})
    return series[day], schemes[day].for_team(service_id, team_id)


def caseload_series_with_schemes(
    people: Iterable[Person] | Iterable[int],
    days: Iterable[datetime.date],
    service_ids: set[int] | None = None,
) -> tuple[dict[datetime.date, dict[int, CaseloadNumbers]], dict[datetime.date, SchemesInForce]]:
    """`caseload_series`, and the schemes in force on each day for the
    people's services (and `service_ids`), for pages that also show a scheme."""
    days = sorted(set(days))
    person_ids = [p if isinstance(p, int) else p.pk for p in people]
    return _series_with_schemes(_people(person_ids, days[0], days[-1]), days, service_ids)


def _series_with_schemes(
    persons: list[_Person], days: list[datetime.date], service_ids: set[int] | None
) -> tuple[dict[datetime.date, dict[int, CaseloadNumbers]], dict[datetime.date, SchemesInForce]]:
    """`caseload_series_with_schemes` of people already read, `days` sorted."""
    person_ids = [person.pk for person in persons]
    first, last = days[0], days[-1]
    held = _held(person_ids, days)
    service_ids = set(service_ids or ()) | {p.service_id for p in persons if p.service_id}
    for on_day in held.values():
        for totals in on_day.values():
            service_ids |= {service_id for service_id, _ in totals.unrated_by_team}
    scheme_rows, terms = load_schemes(service_ids)
    factors, reductions = _capacity_rows(person_ids, first, last)

    series: dict[datetime.date, dict[int, CaseloadNumbers]] = {}
    schemes_by_day: dict[datetime.date, SchemesInForce] = {}
    for n, day in enumerate(days):
        schemes = SchemesInForce(service_ids, day, rows=scheme_rows, terms=terms)
        schemes_by_day[day] = schemes
        on_day = held.get(n, {})
        series[day] = {
            person.pk: _finish(
                person,
                day,
                person.team_on(day),
                on_day.get(person.pk) or _Held(),
                factors[person.pk],
                reductions[person.pk],
                schemes,
            )
            for person in persons
        }
    return series, schemes_by_day


def case_weight(
    case: Case, day: datetime.date, schemes: SchemesInForce | None = None
) -> tuple[Decimal, bool]:
    """A case's weight on `day` and whether it is rated: its latest rating on or
    before `day`, else the middle of its team's scheme (from `schemes`, the
    versions in force that day, when read already)."""
    total = (
        Rating.objects.filter(case=case, rated_on__lte=day)
        .order_by("-rated_on", "-pk")
        .values_list("total", flat=True)
        .first()
    )
    if total is not None:
        return Decimal(total), True
    return unrated_weight(case, schemes or SchemesInForce([case.service_id], day)), False


def unrated_weight(case: Case, schemes: SchemesInForce) -> Decimal:
    """The weight of a case with no rating yet: the middle of its team's scheme."""
    terms = schemes.for_team(case.service_id, case.team_id)
    return terms.middle_total if terms else ZERO


@dataclass(frozen=True)
class Projection:
    """A worker's numbers before and after taking one more case."""

    before: CaseloadNumbers
    after: CaseloadNumbers

    @property
    def goes_over_maximum(self) -> bool:
        """Over the maximum (100% of capacity by default) once the case is added,
        or any case at all for someone with no capacity."""
        return not self.after.has_capacity or self.after.over_maximum


def allocation_numbers(
    case: Case, people: Iterable[Person], day: datetime.date
) -> tuple[dict[int, CaseloadNumbers], SchemesInForce]:
    """Each person's numbers on `day`, and the schemes in force that day for
    them and for `case` (its weight when unrated, its criteria), in one read."""
    series, schemes = caseload_series_with_schemes(people, [day], service_ids={case.service_id})
    return series[day], schemes[day]


def projections(
    case: Case, numbers: Mapping[int, CaseloadNumbers], weight: Decimal
) -> dict[int, Projection]:
    """Each person's numbers now and with `case` added at `weight`."""
    return {
        person_id: Projection(now, now.with_extra_case(weight, case.people_count))
        for person_id, now in numbers.items()
    }


def project_allocation(
    case: Case, people: Iterable[Person], day: datetime.date, weight: Decimal | None = None
) -> dict[int, Projection]:
    """Each person's numbers now and with `case` added (at `weight`, else the
    case's own weight on `day`)."""
    numbers, schemes = allocation_numbers(case, people, day)
    if weight is None:
        weight, _ = case_weight(case, day, schemes)
    return projections(case, numbers, weight)
