"""The rules a reason on a service's list sets for protected time: the size
taken when none is given, the most it may take, and how long it may last.

These read no table: the write functions (`weighting.services`) and the
import (a whole file at once) both call them, so every path keeps the same
rules and words."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Person
from caseload.services import RuleBroken
from weighting.models import Reduction, ReductionReason

HUNDRED = Decimal(100)
HUNDREDTH = Decimal("0.01")


class ReductionTerms(NamedTuple):
    """A reduction as it is recorded once its reason's rules are applied."""

    hours_per_week: Decimal | None
    percentage: Decimal | None
    end_date: datetime.date | None
    # True when no end date was given and the reason's longest length set it.
    ends_by_rule: bool


def as_text(reason: ReductionReason) -> str:
    """The reason's name inside a sentence: "training", but "ASYE time"."""
    name = reason.name
    first = name.split()[0] if name.split() else name
    return name if first.isupper() else name[:1].lower() + name[1:]


def as_time(reason: ReductionReason) -> str:
    """The time a reason protects: "training time", "other protected time"."""
    text = as_text(reason)
    return text if text.lower().endswith("time") else f"{text} time"


def full_time_hours(person: Person) -> Decimal:
    return person.service.full_time_hours if person.service else Reduction.FULL_TIME_HOURS


def check_reason_offered(person: Person, reason: ReductionReason) -> None:
    """A new reduction's reason comes from the person's service's list, and
    is still offered."""
    if person.service_id is None:
        raise RuleBroken(
            f"{person} has no service, whose list of reasons applies: record their service first."
        )
    if reason.service_id != person.service_id:
        raise RuleBroken(
            f"{reason.name} is a reason of {reason.service}; {person} is in {person.service}."
        )
    if not reason.active:
        raise RuleBroken(f"{reason.name} is no longer offered: choose another reason.")


def reduction_terms(
    *,
    person: Person,
    reason: ReductionReason,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    hours_per_week: Decimal | None = None,
    percentage: Decimal | None = None,
) -> ReductionTerms:
    """The reduction to record, or RuleBroken: the reason's default size when
    none is given, its maximum size, and its longest length (the end date
    when none is given)."""
    if hours_per_week is None and percentage is None:
        hours_per_week, percentage = reason.default_hours_per_week, reason.default_percentage
        if hours_per_week is None and percentage is None:
            raise RuleBroken("Give the protected time in hours a week or as a percentage.")
    if hours_per_week is not None and percentage is not None:
        raise RuleBroken("Give the protected time in hours a week or as a percentage, not both.")
    full_time = full_time_hours(person)
    if hours_per_week is not None and not Decimal(0) < hours_per_week <= full_time:
        raise RuleBroken(
            f"Hours a week must be more than 0 and no more than {plain_number(full_time)}, "
            "a full-time week here."
        )
    if percentage is not None and not Decimal(0) < percentage <= HUNDRED:
        raise RuleBroken("The percentage must be more than 0 and no more than 100.")
    _check_size(person, reason, hours_per_week, percentage, full_time)
    if end_date is not None and end_date < start_date:
        raise RuleBroken("The reduction cannot end before it starts.")
    ends_by_rule = False
    if reason.maximum_weeks:
        latest = start_date + datetime.timedelta(weeks=reason.maximum_weeks)
        if end_date is None:
            end_date, ends_by_rule = latest, True
        elif end_date > latest:
            raise RuleBroken(
                f"{reason.name}: at most {_weeks(reason.maximum_weeks)}. "
                f"From {long_date(start_date)} it ends by {long_date(latest)} at the latest."
            )
    return ReductionTerms(hours_per_week, percentage, end_date, ends_by_rule)


def _check_size(
    person: Person,
    reason: ReductionReason,
    hours: Decimal | None,
    percentage: Decimal | None,
    full_time: Decimal,
) -> None:
    """The reason's maximum, in hours or as a share of the person's hours,
    compared exactly (a percentage of their hours is hours, and back)."""
    own_hours = person.fte * full_time
    ceiling_hours, ceiling_percentage = reason.maximum_hours_per_week, reason.maximum_percentage
    if ceiling_hours is not None:
        taken = hours if hours is not None else percentage * own_hours / HUNDRED
        if taken > ceiling_hours:
            said = (
                f"{plain_number(hours)} hours a week asked"
                if hours is not None
                else f"{plain_number(percentage)}% of {person}'s {plain_number(own_hours)} hours "
                f"is {_round(taken)}"
            )
            raise RuleBroken(
                f"{reason.name}: at most {plain_number(ceiling_hours)} hours a week; {said}."
            )
    if ceiling_percentage is not None:
        if percentage is not None:
            over, said = percentage > ceiling_percentage, f"{plain_number(percentage)}% asked"
        else:
            over = hours * HUNDRED > ceiling_percentage * own_hours
            share = hours * HUNDRED / own_hours
            said = (
                f"{plain_number(hours)} hours a week is {_round(share)}% of {person}'s "
                f"{plain_number(own_hours)}"
            )
        if over:
            raise RuleBroken(
                f"{reason.name}: at most {plain_number(ceiling_percentage)}% of someone's hours; "
                f"{said}."
            )


def _round(value: Decimal) -> str:
    return plain_number(value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP))


def _weeks(weeks: int) -> str:
    return "1 week" if weeks == 1 else f"{weeks} weeks"


def ends_by_rule_text(reason: ReductionReason, end_date: datetime.date) -> str:
    """What a page says when the reason's longest length set the end date."""
    return (
        f"With no end date given, it ends on {long_date(end_date)}: "
        f"{as_text(reason)} lasts at most {_weeks(reason.maximum_weeks or 0)}."
    )
