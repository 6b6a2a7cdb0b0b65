"""The weighting scheme in force for each team on a day, read for many
services and days at once, and a case's latest rating on a day."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    Max,
    Min,
    OuterRef,
    Q,
)

from weighting.bands import ZERO
from weighting.models import Criterion, Rating, Scheme, SchemeUnit


@dataclass(frozen=True)
class SchemeTerms:
    """What a scheme version means for the numbers."""

    scheme_id: int
    benchmark: Decimal
    middle_total: Decimal  # the weight of an unrated case: each criterion's middle level
    maximum_total: Decimal
    minimum_total: Decimal  # the lowest weight a rating gives: each criterion's lowest level
    # Hours schemes: weights are hours a month, and capacity the hours a
    # person has (see `weighting.numbers.capacity_hours`).
    unit: str = SchemeUnit.POINTS
    non_case_hours: Decimal = ZERO

    @property
    def in_hours(self) -> bool:
        return self.unit == SchemeUnit.HOURS


def latest_rating(day: datetime.date, case_ref: str = "case") -> Rating:
    """The latest rating of OuterRef(case_ref) dated on or before `day`, in
    the same order as `LATEST_RATING` (rated_on, then key), for queries that
    look up one case's rating rather than everyone's held cases."""
    return Rating.objects.filter(case=OuterRef(case_ref), rated_on__lte=day).order_by(
        "-rated_on", "-pk"
    )


# A row per criterion of a scheme version: its id, benchmark, unit, weekly
# allowance for non-case time, and the criterion's lowest and highest level
# (None for a criterion with no levels).
CriterionRange = tuple[int, Decimal, str, Decimal, Decimal | None, Decimal | None]


def terms_of(criteria: Iterable[CriterionRange]) -> dict[int, SchemeTerms]:
    """Each version's terms from its criteria's ranges: the one place the
    middle, maximum and minimum totals are added up."""
    found: dict[int, tuple[Decimal, str, Decimal]] = {}
    middle: dict[int, Decimal] = defaultdict(lambda: ZERO)
    maximum: dict[int, Decimal] = defaultdict(lambda: ZERO)
    minimum: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for scheme_id, benchmark, unit, non_case_hours, low, high in criteria:
        found[scheme_id] = (Decimal(benchmark), unit, Decimal(non_case_hours))
        if low is not None and high is not None:
            middle[scheme_id] += (Decimal(low) + Decimal(high)) / 2
            maximum[scheme_id] += Decimal(high)
            minimum[scheme_id] += Decimal(low)
    return {
        scheme_id: SchemeTerms(
            scheme_id,
            benchmark,
            middle[scheme_id],
            maximum[scheme_id],
            minimum[scheme_id],
            unit,
            non_case_hours,
        )
        for scheme_id, (benchmark, unit, non_case_hours) in found.items()
    }


def scheme_terms(scheme_ids: Iterable[int]) -> dict[int, SchemeTerms]:
    """Benchmark, middle, maximum and minimum totals of each scheme version, in one query."""
    return terms_of(
        Criterion.objects.filter(scheme_id__in=list(scheme_ids))
        .values("scheme_id", "scheme__benchmark", "scheme__unit", "scheme__non_case_hours", "pk")
        .annotate(low=Min("levels__value"), high=Max("levels__value"))
        .values_list(
            "scheme_id",
            "scheme__benchmark",
            "scheme__unit",
            "scheme__non_case_hours",
            "low",
            "high",
        )
    )


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
    criteria: list[CriterionRange] = []
    for row in (
        schemes.values(
            "pk",
            "service_id",
            "team_id",
            "agreed_on",
            "version",
            "benchmark",
            "unit",
            "non_case_hours",
            "criteria__pk",
        )
        .annotate(low=Min("criteria__levels__value"), high=Max("criteria__levels__value"))
        .order_by("agreed_on", "version", "criteria__pk")
    ):
        scheme_id = row["pk"]
        rows.setdefault(
            scheme_id, {name: row[name] for name in ("pk", "service_id", "team_id", "agreed_on")}
        )
        if row["criteria__pk"] is not None:
            criteria.append(
                (
                    scheme_id,
                    row["benchmark"],
                    row["unit"],
                    row["non_case_hours"],
                    row["low"],
                    row["high"],
                )
            )
    terms = terms_of(criteria)
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

    def put_in_force(self, terms: SchemeTerms, teams: Iterable[tuple[int, int]]) -> None:
        """Take `terms` (a draft's) as in force for these (service id, team
        id) pairs: for a what-if, never for live numbers."""
        for key in teams:
            self._for_team[key] = terms

    def for_team(self, service_id: int, team_id: int | None) -> SchemeTerms | None:
        key = (service_id, team_id)
        if key not in self._for_team:
            scheme_id = self.scheme_id_for(service_id, team_id)
            self._for_team[key] = self.terms.get(scheme_id) if scheme_id else None
        return self._for_team[key]
