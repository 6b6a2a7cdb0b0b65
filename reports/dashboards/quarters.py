"""The quarters a service's dashboards can show: those with a stored review,
and the one a page asks for."""

from __future__ import annotations

import datetime

from caseload.dates import Quarter
from caseload.models import Service
from reports.models import QuarterlyReview


def reviews_of(service: Service) -> list[QuarterlyReview]:
    """The latest version of each quarter's review, newest quarter first."""
    latest: dict[datetime.date, QuarterlyReview] = {}
    for review in QuarterlyReview.objects.filter(service=service).order_by(
        "-quarter_end", "-version"
    ):
        latest.setdefault(review.quarter_end, review)
    return list(latest.values())


def chosen_review(reviews: list[QuarterlyReview], asked: str | None) -> QuarterlyReview | None:
    """The review of the quarter asked for ("2026-07" or "Q2 2026/27"), or the
    latest when none (or one without a review) is asked for."""
    if asked:
        try:
            quarter = Quarter.parse(asked)
        except ValueError:
            quarter = None
        for review in reviews:
            if quarter and review.quarter_start == quarter.start:
                return review
    return reviews[0] if reviews else None


def quarter_of(review: QuarterlyReview) -> Quarter:
    return Quarter(review.quarter_start)


def quarter_asked(asked: str | None) -> str:
    """The quarter a query string asks for, as a key: anything that is not a
    quarter shows the latest review, as no quarter does."""
    try:
        return Quarter.parse(asked).start.isoformat() if asked else "latest"
    except ValueError:
        return "latest"


def quarter_key(review: QuarterlyReview | None) -> str:
    """The query-string value that keeps the chosen quarter across pages."""
    return f"{review.quarter_start:%Y-%m}" if review else ""
