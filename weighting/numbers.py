"""The caseload numbers, defined once (DESIGN.md, "The numbers, defined once").

Every page, export, job and test takes its numbers from `caseload_numbers`,
which computes them for a whole set of people as of one day in a fixed number
of queries, whatever the number of people or cases. The arithmetic is in
Decimal; bands are decided on the exact values, never on rounded ones.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import connection
from django.db.models import (
    CharField,
    FilteredRelation,
    Q,
    Value,
)
from django.utils.functional import cached_property

from caseload.db import among
from caseload.formatting import one_decimal, plain_number
from caseload.models import Allocation, Case, FteChange, Person, Service
from weighting.bands import HUNDRED, ZERO, Band, Bands, is_over_maximum
from weighting.models import (
    CasePause,
    ExperienceFactor,
    NonCaseAllowance,
    Rating,
    Reduction,
    Scheme,
    SchemeUnit,
)
from weighting.schemes_in_force import SchemesInForce, SchemeTerms, load_schemes

FULL_TIME_HOURS = Reduction.FULL_TIME_HOURS
FTE_PLACES = Decimal("0.01")
# A weight times a pause's factor: two places each.
WEIGHT_PLACES = Decimal("0.0001")
# A rating not reviewed for this long is stale (12 weeks: one analysis period).
STALE_RATING_DAYS = 84

# Share of a full caseload when no factor has been recorded (standard 5: an
# ASYE starts at about 80%).
DEFAULT_EXPERIENCE_FACTOR = {
    Person.Role.SOCIAL_WORKER: Decimal("1"),
    Person.Role.ASYE: Decimal("0.8"),
}


def capacity_points(
    *,
    benchmark: Decimal,
    fte: Decimal,
    experience_factor: Decimal,
    reduction_hours: Decimal = ZERO,
    reduction_percentage: Decimal = ZERO,
    full_time_hours: Decimal = FULL_TIME_HOURS,
) -> Decimal:
    """benchmark × FTE × experience factor × (1 − reduced share), never below 0.

    The reduced share is the protected hours over the person's own hours
    (the service's full-time hours, 37 by default, × FTE), plus any
    reductions given as a percentage of their hours.
    """
    if fte <= 0:
        return ZERO
    reduced_share = reduction_hours / (full_time_hours * fte) + reduction_percentage / HUNDRED
    return max(ZERO, benchmark * fte * experience_factor * (1 - reduced_share))


def month_hours(weekly_hours: Decimal) -> Decimal:
    """Hours a month from hours a week: × 52 ÷ 12."""
    return weekly_hours * 52 / 12


def capacity_hours(
    *,
    weekly_hours: Decimal,
    non_case_hours: Decimal,
    experience_factor: Decimal,
    reduction_hours: Decimal = ZERO,
    reduction_percentage: Decimal = ZERO,
) -> Decimal:
    """An hours scheme's capacity, in hours a month: (contracted weekly hours
    − the weekly allowance for non-case time − reductions in hours a week)
    × 52 ÷ 12 × experience factor, never below 0. A reduction given as a
    percentage is that share of the contracted hours."""
    reduced = reduction_hours + weekly_hours * reduction_percentage / HUNDRED
    return max(ZERO, month_hours(weekly_hours - non_case_hours - reduced) * experience_factor)


def full_capacity(terms: SchemeTerms, fte: Decimal, service: Service | None) -> Decimal:
    """A person's capacity before any experience factor or reduction: the
    benchmark × FTE, or for an hours scheme their contracted hours a month
    less the scheme's allowance for non-case time."""
    one = Decimal(1)
    if not terms.in_hours:
        return capacity_points(benchmark=terms.benchmark, fte=fte, experience_factor=one)
    weekly = fte * (service.full_time_hours if service else FULL_TIME_HOURS)
    return capacity_hours(
        weekly_hours=weekly, non_case_hours=terms.non_case_hours, experience_factor=one
    )


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
    # Held cases paused that day, counting at their pause's factor
    # (weighting.CasePause); they count in the case and people counts in full.
    paused_count: int = 0
    # What the team totals need of the person: their contracted FTE and
    # whether they hold cases (social workers and ASYEs).
    fte: Decimal = ZERO
    case_holding: bool = False
    # What the weights measure: the person's team's scheme's unit.
    unit: str = SchemeUnit.POINTS

    @property
    def in_hours(self) -> bool:
        return self.unit == SchemeUnit.HOURS

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
        """ "140.0", or "140.0 hours" for an hours scheme."""
        return one_decimal(self.capacity) + (" hours" if self.in_hours else "")

    @property
    def weighted_load_display(self) -> str:
        return plain_number(self.weighted_load) + (" hours" if self.in_hours else "")

    def with_extra_case(self, weight: Decimal, people: int) -> CaseloadNumbers:
        """These numbers as they would be with one more case (for allocation)."""
        return replace(
            self,
            case_count=self.case_count + 1,
            people_count=self.people_count + people,
            weighted_load=self.weighted_load + weight,
        )


@dataclass
class _Held:
    """What a person holds on a day, before the unrated cases are weighed."""

    cases: int = 0
    people: int = 0
    # Rated cases and their load by the case's service and team and the unit
    # of the scheme they were rated with: [cases, load, counted], where
    # `counted` is the cases each times its pause's factor (1 when not
    # paused), and the load is already multiplied so.
    rated_by_team: dict[tuple[int, int, str], list] = field(
        default_factory=lambda: defaultdict(lambda: [0, ZERO, ZERO])
    )
    # Unrated cases by the case's service and team: [cases, counted].
    unrated_by_team: dict[tuple[int, int], list] = field(
        default_factory=lambda: defaultdict(lambda: [0, ZERO])
    )
    paused: int = 0
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
    fte: Decimal  # Person.fte: their FTE on every day only if they have no dated rows
    service_id: int | None
    bands: Bands
    full_time_hours: Decimal = FULL_TIME_HOURS
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
        .values(
            "pk", "role", "fte", "service_id", "service__full_time_hours", *thresholds, *membership
        )
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
                full_time_hours=row["service__full_time_hours"] or FULL_TIME_HOURS,
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


def rated_weight(
    terms: SchemeTerms | None, unit: str, total: Decimal, counted: Decimal | int = 1
) -> tuple[Decimal, bool]:
    """What rated cases of a team weigh, and whether they count as rated:
    their ratings' total; but rated in another unit than the team's scheme
    now measures (points where it measures hours, or the other way round),
    the scheme's middle for each, unrated until they are rated again.
    `counted`: the cases, each times its pause's factor (1 unless paused)."""
    if terms is None or terms.unit == unit:
        return total, True
    return terms.middle_total * counted, False


def _finish(
    person: _Person,
    day: datetime.date,
    team_id: int | None,
    held: _Held,
    rows: dict[str, list[dict]],
    schemes: SchemesInForce,
) -> CaseloadNumbers:
    """A person's numbers on `day` from what they hold and their dated rows
    (`_capacity_rows`, by kind): the one place where load, capacity and band
    are put together."""
    load = ZERO
    unrated = 0
    for (service_id, case_team_id, unit), (count, rated, counted) in held.rated_by_team.items():
        weight, counts_as_rated = rated_weight(
            schemes.for_team(service_id, case_team_id), unit, rated, counted
        )
        load += weight
        unrated += 0 if counts_as_rated else count
    # An unrated case counts the scheme's middle levels (times its pause's factor).
    for (service_id, case_team_id), (count, counted) in held.unrated_by_team.items():
        terms = schemes.for_team(service_id, case_team_id)
        load += (terms.middle_total if terms else ZERO) * counted
        unrated += count
    terms = schemes.for_team(person.service_id, team_id) if person.service_id else None
    fte = _fte_on(rows["fte"], day, person.fte)
    factor = next(
        (Decimal(row["factor"]) for row in rows["factor"] if _active(row, day)),
        DEFAULT_EXPERIENCE_FACTOR.get(person.role, ZERO),
    )
    active = [row for row in rows["reduction"] if _active(row, day)]
    reduced_hours = sum((Decimal(r["hours_per_week"] or 0) for r in active), ZERO)
    reduced_percentage = sum((Decimal(r["percentage"] or 0) for r in active), ZERO)
    if person.role not in Person.CASE_HOLDING_ROLES or terms is None:
        capacity = ZERO
    elif terms.in_hours:
        own = next((row for row in rows["allowance"] if _active(row, day)), None)
        capacity = capacity_hours(
            weekly_hours=fte * person.full_time_hours,
            non_case_hours=Decimal(own["hours"]) if own else terms.non_case_hours,
            experience_factor=factor,
            reduction_hours=reduced_hours,
            reduction_percentage=reduced_percentage,
        )
    else:
        capacity = capacity_points(
            benchmark=terms.benchmark,
            fte=fte,
            experience_factor=factor,
            reduction_hours=reduced_hours,
            reduction_percentage=reduced_percentage,
            full_time_hours=person.full_time_hours,
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
        paused_count=held.paused,
        fte=fte,
        case_holding=person.role in Person.CASE_HOLDING_ROLES,
        unit=terms.unit if terms else SchemeUnit.POINTS,
    )


def _overlapping(first: datetime.date, last: datetime.date) -> Q:
    """Dated rows (start, end exclusive) that apply on some day from `first`
    to `last`."""
    return Q(start_date__lte=last) & (Q(end_date__isnull=True) | Q(end_date__gt=first))


CAPACITY_ROWS = ("factor", "reduction", "fte", "allowance")


def _capacity_rows(
    person_ids: list[int], first: datetime.date, last: datetime.date
) -> dict[str, dict[int, list[dict]]]:
    """Experience factors, reductions, FTE rows and own allowances for
    non-case time of these people, by kind and person, in date order, in one
    query (a UNION ALL with a column naming each row's kind; a factor's or
    FTE's value is in `factor`, an allowance's in `hours`). Rows that apply
    at some point from `first` to `last`; FTE rows from `first` on,
    including those that start after `last`, since before their first row a
    person's FTE is that row's (`_fte_on`)."""
    overlapping = _overlapping(first, last)
    people = among(person_ids)
    hours = Reduction._meta.get_field("hours_per_week")
    percentage = Reduction._meta.get_field("percentage")
    share = ExperienceFactor._meta.get_field("factor")
    columns = ("person_id", "kind", "factor", "hours", "percentage", "start_date", "end_date")

    def kind(name: str) -> Value:
        return Value(name, output_field=CharField())

    no_hours = {
        "hours": Value(None, output_field=hours),
        "percent": Value(None, output_field=percentage),
    }
    factor_rows = (
        ExperienceFactor.objects.filter(overlapping, person_id__in=people)
        .annotate(kind=kind("factor"), **no_hours)
        .values_list("person_id", "kind", "factor", "hours", "percent", "start_date", "end_date")
        .order_by()
    )
    fte_rows = (
        FteChange.objects.filter(Q(end_date__isnull=True) | Q(end_date__gt=first))
        .filter(person_id__in=people)
        .annotate(kind=kind("fte"), **no_hours)
        .values_list("person_id", "kind", "fte", "hours", "percent", "start_date", "end_date")
        .order_by()
    )
    reduction_rows = (
        Reduction.objects.filter(overlapping, person_id__in=people)
        .annotate(kind=kind("reduction"), no_factor=Value(None, output_field=share))
        .values_list(
            "person_id", "kind", "no_factor", "hours_per_week", "percentage", "start_date",
            "end_date",
        )
        .order_by()
    )  # fmt: skip
    allowance_rows = (
        NonCaseAllowance.objects.filter(overlapping, person_id__in=people)
        .annotate(
            kind=kind("allowance"),
            no_factor=Value(None, output_field=share),
            percent=Value(None, output_field=percentage),
        )
        .values_list(
            "person_id", "kind", "no_factor", "hours_per_week", "percent", "start_date",
            "end_date",
        )
        .order_by()
    )  # fmt: skip
    rows: dict[str, dict[int, list[dict]]] = {name: defaultdict(list) for name in CAPACITY_ROWS}
    # Reductions first: PostgreSQL types each column of a UNION pair by pair,
    # and the factors' and FTEs' empty hours on their own would be text.
    rows_of_all = reduction_rows.union(factor_rows, fte_rows, allowance_rows, all=True)
    for values in rows_of_all.order_by("start_date"):
        row = dict(zip(columns, values, strict=True))
        if row["kind"] == "reduction":
            row["hours_per_week"] = row.pop("hours")
        rows[row["kind"]][row["person_id"]].append(row)
    return rows


def _fte_on(rows: list[dict], day: datetime.date, recorded: Decimal) -> Decimal:
    """A person's contracted FTE on `day` from their FTE rows (in date
    order): the row in force that day; before their first row, the next row
    to start (their FTE was not dated before it); with no rows, the FTE
    recorded on the person. `Person.objects.with_fte_on` is the same rule."""
    in_force = next((row for row in rows if _active(row, day)), None)
    if in_force is None:
        in_force = next((row for row in rows if row["start_date"] > day), None)
    if in_force is None:
        return recorded
    # FTE is kept to two places; SQLite's UNION hands the value back as a
    # 15-digit Decimal, which pages would show as such.
    return Decimal(in_force["factor"]).quantize(FTE_PLACES)


# What each person holds on each of a list of days: one query, summed by the
# database per person, day and the case's team. The latest rating on or before
# the day is found per allocation by the (case, rated_on) index: a LATERAL
# join on PostgreSQL, a correlated subquery for its key on SQLite. A case
# paused that day (`pause_join`) counts its weight times the pause's factor,
# and an unrated one its scheme's middle times it: `counted` sums the
# factors (1 for a case not paused) for that.
HELD_SQL = """
WITH days (n, day, stale_before) AS (VALUES {days})
SELECT a.person_id, days.n, c.service_id, c.team_id, rating_scheme.unit,
       COUNT(*) AS cases,
       SUM(c.people_count) AS people,
       SUM(({load}) * COALESCE(p.factor, 1)) AS rated_load,
       SUM(CASE WHEN r.id IS NULL THEN 1 ELSE 0 END) AS unrated,
       SUM(COALESCE(p.factor, 1)) AS counted,
       SUM(CASE WHEN p.id IS NULL THEN 0 ELSE 1 END) AS paused,
       SUM(CASE WHEN r.status = %s THEN 1 ELSE 0 END) AS provisional,
       SUM(CASE WHEN r.rated_on < days.stale_before THEN 1 ELSE 0 END) AS stale,
       SUM(CASE WHEN r.anticipated_by < days.day THEN 1 ELSE 0 END) AS overdue
FROM days
JOIN {allocation} a
  ON a.kind = %s AND a.start_date <= days.day AND (a.end_date IS NULL OR a.end_date > days.day)
JOIN {case} c ON c.id = a.case_id{planned}
{latest}
LEFT JOIN {scheme} rating_scheme ON rating_scheme.id = r.scheme_id
{pause}
WHERE {people}
GROUP BY a.person_id, days.n, c.service_id, c.team_id, rating_scheme.unit
"""
LATEST_RATING = """
    SELECT latest.{columns} FROM {rating} latest
    WHERE latest.case_id = a.case_id AND latest.rated_on <= {on}
    ORDER BY latest.rated_on DESC, latest.id DESC
    LIMIT 1
"""


def latest_rating_join(join: str, columns: str, on: str) -> str:
    """SQL joining `r`, the latest rating on or before `on` (a column or a
    placeholder) of allocation `a`'s case, with its id, total and `columns`:
    a LATERAL join on PostgreSQL, a correlated subquery for its key on
    SQLite (which has no LATERAL)."""
    rating = Rating._meta.db_table
    if connection.vendor == "postgresql":
        extra = f", latest.{columns}" if columns else ""
        lateral = LATEST_RATING.format(columns=f"id, latest.total{extra}", rating=rating, on=on)
        return f"{join} LATERAL ({lateral}) r ON true"
    key = LATEST_RATING.format(columns="id", rating=rating, on=on)
    return f"{join} {rating} r ON r.id = ({key})"


# The pause in force of case `c` on `{on}`, if any (weighting.CasePause):
# started, not ended, and not yet at the day it counts in full again. One
# row at most, found by the (case, start_date) index: the latest to start.
PAUSE_IN_FORCE = """
LEFT JOIN {pause} p ON p.id = (
    SELECT pause.id FROM {pause} pause
    WHERE pause.case_id = c.id AND pause.start_date <= {on} AND pause.full_from > {on}
      AND (pause.end_date IS NULL OR pause.end_date > {on})
    ORDER BY pause.start_date DESC, pause.id DESC
    LIMIT 1
)"""


def pause_join(on: str = "days.day") -> str:
    """SQL joining `p`, the pause in force of case `c` on `on` (a column or
    a placeholder): its `factor` multiplies the case's weight."""
    return PAUSE_IN_FORCE.format(pause=CasePause._meta.db_table, on=on)


def exact(value: object) -> Decimal:
    """A sum of weights as the database gives it, exactly: SQLite sums a
    product of decimals as a float (its error is far below the hundredths
    of hundredths a factor times a weight can have)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(WEIGHT_PLACES)
    return Decimal(value)


def people_clause(person_ids: list[int]) -> tuple[str, list]:
    """SQL keeping allocation `a` to these people's, and its parameters."""
    if connection.vendor == "postgresql":
        # Joined to the ids rather than compared with an array: for a
        # service's hundreds of people the planner then hashes the ids once
        # (`= ANY` probes the index once per id and memoizes every case's
        # rating, none of them twice: about half the time at 600 people).
        return "a.person_id IN (SELECT unnest(%s::bigint[]))", [list(person_ids)]
    return f"a.person_id IN ({', '.join(['%s'] * len(person_ids))})", list(person_ids)


# A forecast's load: a rating's anticipated total from its due date, when
# that date is after the forecast's first day (a rating already due or
# overdue is not assumed). Never in live numbers.
ASSUMED_LOAD = (
    "CASE WHEN r.anticipated_by > %s AND r.anticipated_by <= days.day "
    "THEN r.anticipated_total ELSE r.total END"
)


@dataclass(frozen=True)
class Draft:
    """A draft scheme's terms, taken as in force for `teams` ((service id,
    team id) pairs) by a what-if: its benchmark sets their people's capacity
    and its middle levels weigh their unrated cases. Rated cases keep their
    rating's total; a what-if weighs them again by its mapping."""

    terms: SchemeTerms
    teams: frozenset[tuple[int, int]]


def _held(
    person_ids: list[int], days: list[datetime.date], assume_from: datetime.date | None = None
) -> dict[int, dict[int, _Held]]:
    """What each person holds on each day: {day index: {person id: _Held}}.
    `assume_from`: for a forecast from that day, each anticipated rating due
    after it counts from its due date, and a case planned to close is not
    held from that date."""
    held: dict[int, dict[int, _Held]] = defaultdict(lambda: defaultdict(_Held))
    if not person_ids or not days:
        return held
    # No rating is dated after today, so a forecast's days share today's
    # latest ratings: one lookup per case rather than per case and day.
    latest = latest_rating_join(
        "LEFT JOIN",
        "status, latest.rated_on, latest.anticipated_by, latest.anticipated_total, "
        "latest.scheme_id",
        on="%s" if assume_from is not None else "days.day",
    )
    people, people_params = people_clause(person_ids)
    sql = HELD_SQL.format(
        load=ASSUMED_LOAD if assume_from is not None else "r.total",
        # A forecast drops a case from its planned closing date.
        planned=(
            " AND (c.planned_close_on IS NULL OR c.planned_close_on > days.day)"
            if assume_from is not None
            else ""
        ),
        days=", ".join(["(%s, %s, %s)"] * len(days)),
        allocation=Allocation._meta.db_table,
        case=Case._meta.db_table,
        latest=latest,
        scheme=Scheme._meta.db_table,
        pause=pause_join(),
        people=people,
    )
    stale = datetime.timedelta(days=STALE_RATING_DAYS)
    params = [value for n, day in enumerate(days) for value in (n, day, day - stale)]
    params += [assume_from] if assume_from is not None else []
    params += [Rating.Status.PROVISIONAL, Allocation.Kind.PRIMARY]
    params += [assume_from] if assume_from is not None else []
    params += people_params
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for (
            person_id,
            n,
            service_id,
            team_id,
            unit,
            cases,
            people_count,
            rated,
            unrated,
            counted,
            paused,
            provisional,
            stale_count,
            overdue_count,
        ) in cursor.fetchall():
            totals = held[n][person_id]
            totals.cases += cases
            totals.people += people_count
            totals.paused += paused
            if unit is None:  # no rating, so no rating's scheme
                unrated_here = totals.unrated_by_team[(service_id, team_id)]
                unrated_here[0] += unrated
                unrated_here[1] += exact(counted)
            else:
                rated_here = totals.rated_by_team[(service_id, team_id, unit)]
                rated_here[0] += cases
                rated_here[1] += exact(rated)
                rated_here[2] += exact(counted)
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
    their teams, schemes with their terms, and experience factors,
    reductions and dated FTEs are read once for the whole period (four
    queries in all)."""
    series, _ = caseload_series_with_schemes(people, days)
    return series


def team_series(
    members: Iterable[Person],
    days: list[datetime.date],
    service_id: int,
    team_id: int,
    *,
    assume_from: datetime.date | None = None,
) -> tuple[dict[datetime.date, dict[int, CaseloadNumbers]], SchemeTerms | None]:
    """The numbers of a team's members (each read with its `service`, for
    its band thresholds) on each of `days` (sorted), and the terms of the
    team's scheme on the first (the weight of its unrated cases), from the
    same read of the schemes; their memberships are not read again. A member
    read with `team_start` / `team_end` (their membership of this team, end
    exclusive) is in the team on those days only; otherwise on every day.
    Each day's FTE is from their dated FTE rows, read with their experience
    factors and reductions. `assume_from`: a forecast's first day."""
    persons = [
        _Person(
            pk=member.pk,
            role=member.role,
            fte=member.fte,
            service_id=member.service_id,
            bands=Bands.of(member.service),
            full_time_hours=member.service.full_time_hours if member.service else FULL_TIME_HOURS,
            memberships=[
                {
                    "team_id": team_id,
                    "start_date": getattr(member, "team_start", None) or days[0],
                    "end_date": getattr(member, "team_end", None),
                }
            ],
        )
        for member in members
    ]
    series, schemes = _series_with_schemes(
        persons, days, service_ids={service_id}, assume_from=assume_from
    )
    return series, schemes[days[0]].for_team(service_id, team_id)


def caseload_series_with_schemes(
    people: Iterable[Person] | Iterable[int],
    days: Iterable[datetime.date],
    service_ids: set[int] | None = None,
    *,
    assume_from: datetime.date | None = None,
) -> tuple[dict[datetime.date, dict[int, CaseloadNumbers]], dict[datetime.date, SchemesInForce]]:
    """`caseload_series`, and the schemes in force on each day for the
    people's services (and `service_ids`), for pages that also show a scheme.
    `assume_from`: a forecast's first day (see `_held`)."""
    days = sorted(set(days))
    person_ids = [p if isinstance(p, int) else p.pk for p in people]
    return _series_with_schemes(
        _people(person_ids, days[0], days[-1]), days, service_ids, assume_from
    )


def _series_with_schemes(
    persons: list[_Person],
    days: list[datetime.date],
    service_ids: set[int] | None,
    assume_from: datetime.date | None = None,
) -> tuple[dict[datetime.date, dict[int, CaseloadNumbers]], dict[datetime.date, SchemesInForce]]:
    """`caseload_series_with_schemes` of people already read, `days` sorted."""
    return _read(persons, days, service_ids, assume_from).series(None)


def agreed_and_draft(
    person_ids: list[int], day: datetime.date, draft: Draft
) -> tuple[dict[int, CaseloadNumbers], dict[int, CaseloadNumbers]]:
    """Each person's numbers on `day`, as agreed and with `draft` in force
    for the teams it covers: what they hold and what reduces their capacity
    are read once for both."""
    read = _read(_people(person_ids, day, day), [day], None)
    return read.series(None)[0][day], read.series(draft)[0][day]


@dataclass
class _Read:
    """What the numbers of some people on some days are computed from."""

    persons: list[_Person]
    days: list[datetime.date]
    held: dict[int, dict[int, _Held]]
    service_ids: set[int]
    scheme_rows: list[dict]
    terms: dict
    # Each kind of dated row (CAPACITY_ROWS), by person.
    capacity_rows: dict[str, dict[int, list[dict]]]

    def series(
        self, draft: Draft | None
    ) -> tuple[
        dict[datetime.date, dict[int, CaseloadNumbers]], dict[datetime.date, SchemesInForce]
    ]:
        series: dict[datetime.date, dict[int, CaseloadNumbers]] = {}
        schemes_by_day: dict[datetime.date, SchemesInForce] = {}
        for n, day in enumerate(self.days):
            schemes = SchemesInForce(self.service_ids, day, rows=self.scheme_rows, terms=self.terms)
            if draft is not None:
                schemes.put_in_force(draft.terms, draft.teams)
            schemes_by_day[day] = schemes
            on_day = self.held.get(n, {})
            series[day] = {
                person.pk: _finish(
                    person,
                    day,
                    person.team_on(day),
                    on_day.get(person.pk) or _Held(),
                    {kind: rows[person.pk] for kind, rows in self.capacity_rows.items()},
                    schemes,
                )
                for person in self.persons
            }
        return series, schemes_by_day


def _read(
    persons: list[_Person],
    days: list[datetime.date],
    service_ids: set[int] | None,
    assume_from: datetime.date | None = None,
) -> _Read:
    person_ids = [person.pk for person in persons]
    held = _held(person_ids, days, assume_from)
    service_ids = set(service_ids or ()) | {p.service_id for p in persons if p.service_id}
    for on_day in held.values():
        for totals in on_day.values():
            service_ids |= {service_id for service_id, _ in totals.unrated_by_team}
    scheme_rows, terms = load_schemes(service_ids)
    capacity_rows = _capacity_rows(person_ids, days[0], days[-1])
    return _Read(persons, days, held, service_ids, scheme_rows, terms, capacity_rows)
