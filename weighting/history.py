"""A case's ratings as its page shows them: latest first, each with its levels,
their descriptors and the scheme version's maximum."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Subquery

from caseload.formatting import plain_number
from caseload.models import Case
from weighting.models import Rating, RatingLevel
from weighting.numbers import SchemeTerms, latest_rating, scheme_terms


@dataclass(frozen=True)
class RatingView:
    rating: Rating
    levels: list[RatingLevel]
    maximum: Decimal

    @property
    def total_display(self) -> str:
        return f"{plain_number(self.rating.total)} of {plain_number(self.maximum)}"

    @property
    def anticipated_display(self) -> str:
        if self.rating.anticipated_total is None:
            return ""
        return f"{plain_number(self.rating.anticipated_total)} of {plain_number(self.maximum)}"


def rating_history(case: Case) -> list[RatingView]:
    return ratings_of([case.pk])


def ratings_of(
    case_ids: list[int],
    day: datetime.date | None = None,
    terms: Mapping[int, SchemeTerms] | None = None,
    *,
    latest_only: bool = False,
) -> list[RatingView]:
    """The ratings of these cases (dated on or before `day`), latest first, in
    a fixed number of queries; with `latest_only`, each case's latest rating
    only (on `day`, which it then needs). `terms`, schemes' terms the caller
    has already read, spare reading them again."""
    ratings = Rating.objects.filter(case_id__in=case_ids)
    if day is not None:
        ratings = ratings.filter(rated_on__lte=day)
    if latest_only:
        ratings = ratings.filter(pk=Subquery(latest_rating(day, "case_id").values("pk")[:1]))
    ratings = list(
        ratings.select_related("rated_by", "agreed_with", "scheme")
        .prefetch_related(
            Prefetch(
                "levels",
                queryset=RatingLevel.objects.select_related(
                    "criterion", "level", "anticipated_level"
                ).order_by("criterion__position"),
            )
        )
        .order_by("-rated_on", "-pk")
    )
    terms = dict(terms or {})
    missing = {rating.scheme_id for rating in ratings} - terms.keys()
    if missing:
        terms |= scheme_terms(missing)
    return [
        RatingView(rating, list(rating.levels.all()), terms[rating.scheme_id].maximum_total)
        for rating in ratings
    ]
