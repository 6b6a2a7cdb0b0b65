"""A case's ratings as its page shows them: latest first, each with its levels,
their descriptors and the scheme version's maximum."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from caseload.formatting import plain_number
from caseload.models import Case
from weighting.models import Rating, RatingLevel
from weighting.schemes_in_force import scheme_terms


@dataclass(frozen=True)
class RatingView:
    rating: Rating
    levels: list[RatingLevel]
    maximum: Decimal

    @property
    def set_directly(self) -> bool:
        """The hours given for the case, not levels (hours schemes)."""
        return self.rating.scheme.in_hours and not self.levels

    @property
    def total_display(self) -> str:
        if self.set_directly:
            return f"{plain_number(self.rating.total)} hours a month"
        unit = " hours a month" if self.rating.scheme.in_hours else ""
        return f"{plain_number(self.rating.total)} of {plain_number(self.maximum)}{unit}"

    @property
    def anticipated_display(self) -> str:
        if self.rating.anticipated_total is None:
            return ""
        return f"{plain_number(self.rating.anticipated_total)} of {plain_number(self.maximum)}"


def rating_history(case: Case) -> list[RatingView]:
    return ratings_of([case.pk])


def ratings_of(case_ids: list[int], day: datetime.date | None = None) -> list[RatingView]:
    """The ratings of these cases (dated on or before `day`), latest first, in
    a fixed number of queries."""
    ratings = Rating.objects.filter(case_id__in=case_ids)
    if day is not None:
        ratings = ratings.filter(rated_on__lte=day)
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
    terms = scheme_terms({rating.scheme_id for rating in ratings})
    return [
        RatingView(rating, list(rating.levels.all()), terms[rating.scheme_id].maximum_total)
        for rating in ratings
    ]
