"""Team and service totals: people's numbers added up per team (each person
in the team they were in that day) and per service, and the per-FTE figures."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    Max,
    Q,
    QuerySet,
    Sum,
)

from caseload.formatting import one_decimal
from weighting.bands import HUNDRED, ZERO, Band, is_over_maximum, per_fte
from weighting.models import SchemeUnit
from weighting.numbers import CaseloadNumbers

MIXED = "mixed"


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
    # What weighted_load and capacity measure (the scheme's unit): points
    # and hours a month are never added together, so totals across both are
    # MIXED and have no weight per FTE or capacity used.
    unit: str = SchemeUnit.POINTS

    @property
    def cases_per_fte(self) -> Decimal | None:
        return per_fte(self.cases, self.case_holding_fte)

    @property
    def people_per_fte(self) -> Decimal | None:
        return per_fte(self.people, self.case_holding_fte)

    @property
    def load_per_fte(self) -> Decimal | None:
        """Weight per FTE, in the totals' unit; none across units."""
        if self.unit == MIXED:
            return None
        return per_fte(self.weighted_load, self.case_holding_fte)

    @property
    def percent(self) -> Decimal | None:
        """The team's capacity used: its weighted load over its capacity,
        exactly; none when it has no capacity, or across units."""
        if self.unit == MIXED or self.capacity <= 0:
            return None
        return self.weighted_load * HUNDRED / self.capacity

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
    units = {part.unit for part in parts}
    return TeamTotals(
        unit=units.pop() if len(units) == 1 else (MIXED if units else SchemeUnit.POINTS),
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
                unit=n.unit,
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
            # A team's people share its scheme's unit on a day.
            unit=Max("unit"),
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
            unit=row["unit"],
        )
        for row in rows
    }


def service_totals(teams: Iterable[TeamTotals]) -> TeamTotals:
    """A service's totals: its teams' totals added up. The service average
    is its totals per its total case-holding FTE (not a mean of the teams')."""
    return _summed(teams)


def weight_per_fte(teams: Iterable[TeamTotals], unit: str) -> Decimal | None:
    """The weight per FTE of the teams whose schemes measure in `unit`: the
    service's points per FTE and its hours per FTE, each over its own teams."""
    same_unit = [t for t in teams if t.unit == unit]
    return service_totals(same_unit).load_per_fte if same_unit else None
