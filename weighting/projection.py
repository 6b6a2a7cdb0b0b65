"""A worker's numbers before and after taking one more case: what the
allocation journey ranks workers by, and decides "over the maximum" on."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from caseload.models import Case, Person
from weighting.bands import ZERO
from weighting.models import CasePause, Rating
from weighting.numbers import CaseloadNumbers, caseload_series_with_schemes, rated_weight
from weighting.schemes_in_force import SchemesInForce


def case_weight(
    case: Case, day: datetime.date, schemes: SchemesInForce | None = None
) -> tuple[Decimal, bool]:
    """A case's weight on `day` and whether it is rated: its latest rating on or
    before `day`, else the middle of its team's scheme (from `schemes`, the
    versions in force that day, when read already). A rating in another unit
    than the team's scheme (points where it now measures hours) counts as
    unrated, as in `weighting.numbers`. A case paused that day weighs that
    times its pause's factor."""
    latest = (
        Rating.objects.filter(case=case, rated_on__lte=day)
        .order_by("-rated_on", "-pk")
        .values_list("total", "scheme__unit")
        .first()
    )
    schemes = schemes or SchemesInForce([case.service_id], day)
    factor = pause_factor(case, day)
    if latest is None:
        return unrated_weight(case, schemes) * factor, False
    terms = schemes.for_team(case.service_id, case.team_id)
    weight, rated = rated_weight(terms, latest[1], Decimal(latest[0]))
    return weight * factor, rated


def pause_factor(case: Case, day: datetime.date) -> Decimal:
    """What a case's weight is multiplied by on `day`: its pause's factor
    while it counts at it, else 1. Read with the case when it was annotated
    with `pause_factor` (`weighting.models.pause_annotations`)."""
    if hasattr(case, "pause_factor"):
        factor = case.pause_factor
    else:
        factor = (
            CasePause.objects.counting_on(day).filter(case=case).values_list("factor", flat=True)
        ).first()
    return Decimal(1) if factor is None else Decimal(factor)


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
