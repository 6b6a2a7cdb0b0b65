"""What-if of a draft: a draft weighting scheme, or draft band thresholds,
applied to today's real caseload beside the agreed ones.

Computed on request by the same set-based computation as every live figure;
nothing is written, and live numbers never see a draft. A case's rating
under the draft comes from its latest rating, mapped criterion by criterion:
each draft criterion takes its level from one old criterion (by name), and
each old level maps to a level of the draft criterion. A rating with no
mapped level for a draft criterion counts that criterion's middle level,
and the case is listed.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.db import connection

from caseload.formatting import plain_number
from caseload.models import Allocation, Case
from weighting.bands import ZERO, Bands
from weighting.models import Criterion, Level, RatingLevel, Scheme
from weighting.numbers import (
    CaseloadNumbers,
    Draft,
    agreed_and_draft,
    caseload_series_with_schemes,
    exact,
    latest_rating_join,
    pause_join,
    people_clause,
    rated_weight,
)
from weighting.schemes_in_force import SchemeTerms, terms_of


@dataclass(frozen=True)
class DraftCriterion:
    """A criterion of the draft scheme and its levels' values, lowest first."""

    pk: int
    name: str
    levels: tuple[Decimal, ...]

    @property
    def levels_display(self) -> str:
        """Its levels as the page lists them: "1, 2, 3, 4"."""
        return ", ".join(plain_number(value) for value in self.levels)

    @property
    def middle(self) -> Decimal:
        return (self.levels[0] + self.levels[-1]) / 2 if self.levels else ZERO


def draft_criteria(scheme: Scheme) -> list[DraftCriterion]:
    """The draft's criteria with their levels, in one query."""
    levels: dict[int, list[Decimal]] = defaultdict(list)
    names: dict[int, str] = {}
    for row in (
        Criterion.objects.filter(scheme=scheme)
        .values("pk", "name", "levels__value")
        .order_by("position", "levels__value")
    ):
        names[row["pk"]] = row["name"]
        if row["levels__value"] is not None:
            levels[row["pk"]].append(row["levels__value"])
    return [DraftCriterion(pk, name, tuple(levels[pk])) for pk, name in names.items()]


@dataclass(frozen=True)
class Mapping:
    """Where each draft criterion (by key) takes its level from: an old
    criterion's name (None: every case counts the middle level), and each
    old level's value mapped to a draft level's value (a value missing:
    the middle level)."""

    source: dict[int, str | None]
    levels: dict[int, dict[Decimal, Decimal]]

    def level(self, criterion: DraftCriterion, old: dict[str, Decimal]) -> Decimal | None:
        """The draft level a case's old levels (by criterion name) map to on
        `criterion`; None when unmapped."""
        name = self.source.get(criterion.pk)
        if name is None or name not in old:
            return None
        return self.levels.get(criterion.pk, {}).get(old[name])


@dataclass(frozen=True)
class HeldRating:
    """A case of a covered team held today, with its latest rating's levels."""

    person_id: int
    case_id: int
    reference: str
    total: Decimal
    unit: str  # of the scheme it was rated with
    levels: dict[str, Decimal] = field(default_factory=dict)
    # Its pause's factor on the day (weighting.CasePause); 1 when not paused.
    factor: Decimal = Decimal(1)


HELD_LEVELS_SQL = """
SELECT a.person_id, c.id, c.reference, r.total, rating_scheme.unit, criterion.name, level.value,
       p.factor
FROM {allocation} a
JOIN {case} c ON c.id = a.case_id
{latest}
{pause}
JOIN {scheme} rating_scheme ON rating_scheme.id = r.scheme_id
JOIN {rating_level} rating_level ON rating_level.rating_id = r.id
JOIN {criterion} criterion ON criterion.id = rating_level.criterion_id
JOIN {level} level ON level.id = rating_level.level_id
WHERE a.kind = %s AND a.start_date <= %s AND (a.end_date IS NULL OR a.end_date > %s)
  AND c.team_id IN ({teams}) AND {people}
ORDER BY c.reference, c.id
"""


def held_ratings(
    person_ids: list[int], day: datetime.date, team_ids: list[int]
) -> list[HeldRating]:
    """The rated cases of these teams that these people hold on `day`, each
    with its latest rating's total and levels by criterion name: one query
    (a row per case and criterion), whatever the number of cases."""
    if not person_ids or not team_ids:
        return []
    people, people_params = people_clause(person_ids)
    sql = HELD_LEVELS_SQL.format(
        allocation=Allocation._meta.db_table,
        case=Case._meta.db_table,
        latest=latest_rating_join("JOIN", "scheme_id", on="%s"),
        pause=pause_join("%s"),
        scheme=Scheme._meta.db_table,
        rating_level=RatingLevel._meta.db_table,
        criterion=Criterion._meta.db_table,
        level=Level._meta.db_table,
        teams=", ".join(["%s"] * len(team_ids)),
        people=people,
    )
    params = [day, day, day, day, Allocation.Kind.PRIMARY, day, day, *team_ids, *people_params]
    held: dict[int, HeldRating] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for person_id, case_id, reference, total, unit, name, value, factor in cursor.fetchall():
            rating = held.get(case_id)
            if rating is None:
                rating = held[case_id] = HeldRating(
                    person_id,
                    case_id,
                    reference,
                    Decimal(total),
                    unit,
                    factor=Decimal(1) if factor is None else exact(factor),
                )
            rating.levels[name] = Decimal(value)
    return list(held.values())


def levels_in_use(held: list[HeldRating]) -> dict[str, list[Decimal]]:
    """The old criteria's names in these ratings, each with the values its
    levels take, lowest first: the rows of the mapping table."""
    values: dict[str, set[Decimal]] = defaultdict(set)
    for rating in held:
        for name, value in rating.levels.items():
            values[name].add(value)
    return {name: sorted(found) for name, found in sorted(values.items())}


@dataclass(frozen=True)
class Unmapped:
    """A case counted at the draft's middle level on some criteria."""

    person_id: int
    reference: str
    criteria: tuple[str, ...]


@dataclass(frozen=True)
class WhatIf:
    """Each person's numbers today under the agreed scheme and thresholds,
    and under the draft; the cases the mapping left unmapped."""

    agreed: dict[int, CaseloadNumbers]
    draft: dict[int, CaseloadNumbers]
    unmapped: list[Unmapped]


def draft_weights(
    held: list[HeldRating], criteria: list[DraftCriterion], mapping: Mapping, terms: SchemeTerms
) -> tuple[dict[int, Decimal], list[Unmapped]]:
    """What the mapping adds to each person's load under the draft `terms`:
    each rated case's mapped weight less what the draft's numbers counted
    for it (its rating's total, or the draft's middle for a rating in
    another unit), and the cases with a criterion counted at the middle."""
    change: dict[int, Decimal] = defaultdict(lambda: ZERO)
    unmapped = []
    for rating in held:
        weight = ZERO
        missing = []
        for criterion in criteria:
            level = mapping.level(criterion, rating.levels)
            if level is None:
                missing.append(criterion.name)
                level = criterion.middle
            weight += level
        counted, _ = rated_weight(terms, rating.unit, rating.total)
        # A paused case counts both at its pause's factor.
        change[rating.person_id] += (weight - counted) * rating.factor
        if missing:
            unmapped.append(Unmapped(rating.person_id, rating.reference, tuple(missing)))
    return change, unmapped


def draft_terms(scheme: Scheme, criteria: list[DraftCriterion]) -> SchemeTerms:
    """The terms of the draft, from its criteria as read (as `scheme_terms`
    computes an agreed version's)."""
    ranges = [(c.levels[0], c.levels[-1]) if c.levels else (None, None) for c in criteria]
    return terms_of(
        (scheme.pk, scheme.benchmark, scheme.unit, scheme.non_case_hours, low, high)
        for low, high in ranges or [(None, None)]
    )[scheme.pk]


@dataclass(frozen=True)
class DraftScheme:
    """A draft scheme as a what-if applies it: its criteria, the mapping of
    today's ratings to them, and the covered cases' ratings (`held_ratings`)."""

    scheme: Scheme
    criteria: list[DraftCriterion]
    mapping: Mapping
    held: list[HeldRating]


def what_if(
    person_ids: list[int],
    day: datetime.date,
    *,
    teams: list[tuple[int, int]],
    draft: DraftScheme | None = None,
    bands: Bands | None = None,
) -> WhatIf:
    """These people's numbers on `day`, agreed and under the draft: the
    `draft` scheme in force for `teams` ((service id, team id) pairs), and
    draft band thresholds `bands`. With no draft scheme, the agreed schemes
    stand and only the thresholds change."""
    unmapped: list[Unmapped] = []
    if draft is None:
        agreed = caseload_series_with_schemes(person_ids, [day])[0][day]
        draft_numbers = agreed
    else:
        terms = draft_terms(draft.scheme, draft.criteria)
        agreed, draft_numbers = agreed_and_draft(person_ids, day, Draft(terms, frozenset(teams)))
        change, unmapped = draft_weights(draft.held, draft.criteria, draft.mapping, terms)
        draft_numbers = {
            pk: replace(n, weighted_load=n.weighted_load + change.get(pk, ZERO))
            for pk, n in draft_numbers.items()
        }
    if bands is not None:
        draft_numbers = {pk: replace(n, bands=bands) for pk, n in draft_numbers.items()}
    return WhatIf(agreed, draft_numbers, unmapped)
