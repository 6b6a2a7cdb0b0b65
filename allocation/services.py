"""Allocation writes: the rules a new allocation must keep, the over-maximum
record it needs when it takes a worker over the maximum, transfers and the
reviews of over-maximum allocations. Every path that allocates (pages,
admin, demo) comes through these functions.

Each function checks its rules inside a transaction that holds row locks on
the case and the worker, so two managers acting at once cannot both
succeed; the database constraints are the last guard.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from caseload import audit
from caseload.dates import add_months, long_date
from caseload.models import (
    Allocation,
    Case,
    OverMaximum,
    OverMaximumReview,
    Person,
    Team,
    TeamMembership,
)
from caseload.notifications import case_url, notify
from caseload.services import RuleBroken, allocation_end, lock_case
from caseload.signals import numbers_changed_on
from weighting.models import Criterion, Rating
from weighting.projection import Projection, project_allocation
from weighting.services import rating_create


def _is_member_on(person: Person, team: Team, day: datetime.date) -> bool:
    return TeamMembership.objects.active_on(day).filter(person=person, team=team).exists()


def _in_a_transaction() -> AbstractContextManager:
    """The caller's transaction, if there is one (the row locks taken in it
    hold until it ends), else a new one. No savepoint: the rules are checked
    before anything is written, so a refusal leaves nothing to undo, and
    the writes themselves go in `transaction.atomic(savepoint=False)`."""
    if transaction.get_connection().in_atomic_block:
        return nullcontext()
    return transaction.atomic()


def lock_worker(person_pk: int, team: Team, day: datetime.date) -> Person:
    """The worker, locked until the transaction ends (one worker's numbers
    change one allocation at a time: read them after this), with `in_team`:
    whether they are in `team` on `day`."""
    in_team = TeamMembership.objects.active_on(day).filter(person=OuterRef("pk"), team=team)
    return (
        Person.objects.select_for_update()
        .select_related("user")
        .annotate(in_team=Exists(in_team))
        .get(pk=person_pk)
    )


def _check_may_be_allocated(
    person: Person, kind: str, case: Case, start_date: datetime.date, in_team: bool | None
) -> None:
    if kind == Allocation.Kind.PRIMARY and person.role not in Person.CASE_HOLDING_ROLES:
        if person.role == Person.Role.STUDENT:
            raise RuleBroken(
                f"{person} is a student: students are recorded as involved workers, "
                "and the case is allocated to their supervisor."
            )
        raise RuleBroken(f"{person} is a {person.get_role_display().lower()} and carries no cases.")
    if kind == Allocation.Kind.INVOLVED and person.role not in Person.INVOLVED_ROLES:
        raise RuleBroken(f"{person} is a {person.get_role_display().lower()} and carries no cases.")
    if in_team is None:
        in_team = _is_member_on(person, case.team, start_date)
    if not in_team:
        raise RuleBroken(f"{person} is not in {case.team} on {long_date(start_date)}.")


def check_allocation(
    *,
    case: Case,
    person: Person,
    start_date: datetime.date,
    kind: str = Allocation.Kind.PRIMARY,
    review_by: datetime.date | None = None,
    in_team: bool | None = None,
) -> None:
    """Raise RuleBroken if `person` may not be allocated to `case` from
    `start_date`. `in_team`: whether they are in the case's team that day,
    when read already."""
    if kind not in Allocation.Kind.values:
        raise RuleBroken("Choose primary or involved.")
    if not case.is_open:
        raise RuleBroken(f"Case {case} is closed.")
    if start_date < case.opened_on:
        raise RuleBroken(f"Case {case} was opened on {long_date(case.opened_on)}.")
    if start_date > timezone.localdate():
        raise RuleBroken("An allocation cannot start in the future.")
    if review_by is not None and review_by < start_date:
        raise RuleBroken("The review date cannot be before the allocation starts.")
    _check_may_be_allocated(person, kind, case, start_date, in_team)

    # The case's allocations that overlap the new one, read once for both rules.
    existing = list(
        case.allocations.filter(Q(end_date__isnull=True) | Q(end_date__gt=start_date))
        .select_related("person")
        .order_by("case", "start_date", "pk")
    )
    if kind == Allocation.Kind.PRIMARY:
        current = next((a for a in existing if a.kind == Allocation.Kind.PRIMARY), None)
        if current is not None:
            if current.end_date is None:
                raise RuleBroken(
                    f"Case {case} is already allocated to {current.person}. "
                    "Transfer it instead, or refresh the page to see who holds it now."
                )
            raise RuleBroken(
                f"Case {case} was allocated to {current.person} until "
                f"{long_date(current.end_date)}; the new allocation cannot start before then."
            )
    if any(a.person_id == person.pk for a in existing):
        raise RuleBroken(f"{person} is already allocated to case {case}.")


@dataclass(frozen=True)
class OverMaximumPlan:
    """What a manager records when an allocation takes a worker over the maximum."""

    reason: str
    reprioritisation: str
    review_by: datetime.date


def check_over_maximum_plan(
    plan: OverMaximumPlan | None, *, person: Person, start_date: datetime.date, after: str
) -> OverMaximumPlan:
    """The plan an over-maximum allocation needs (responsibilities 2 and 3)."""
    if plan is None or not plan.reason.strip() or not plan.reprioritisation.strip():
        raise RuleBroken(
            f"This takes {person} to {after}, over the maximum. Give the reason for "
            "allocating, how the rest of their work will be reprioritised, and a review date."
        )
    latest = add_months(start_date, 3)
    if plan.review_by <= start_date:
        raise RuleBroken("The review date must be after the allocation starts.")
    if plan.review_by > latest:
        raise RuleBroken(
            f"An over-maximum allocation is reviewed within three months: by {long_date(latest)}."
        )
    return plan


def allocation_create(
    *,
    case: Case,
    person: Person,
    start_date: datetime.date,
    allocated_by: Person | None,
    kind: str = Allocation.Kind.PRIMARY,
    reason: str = "",
    review_by: datetime.date | None = None,
    over_maximum: OverMaximumPlan | None = None,
    projection: Projection | None = None,
) -> Allocation:
    """Allocate `person` to `case` from `start_date`.

    A primary allocation keeps the worker's capacity used before and after it
    (the record that their caseload was reviewed), needs an over-maximum plan
    when it takes them over the maximum, and tells them by email.

    `projection`: the worker's numbers, when the caller has read them in this
    transaction after locking `case` (select_for_update) and the worker
    (`lock_worker`, which gives the `person` to pass); otherwise both are
    locked and the numbers read here. Either way the over-the-maximum
    decision is made on numbers read under the locks.
    """
    with _in_a_transaction():
        if projection is None:
            case = lock_case(case)
            if kind == Allocation.Kind.PRIMARY:
                person = lock_worker(person.pk, case.team, start_date)
        check_allocation(
            case=case,
            person=person,
            start_date=start_date,
            kind=kind,
            review_by=review_by,
            in_team=getattr(person, "in_team", None),
        )
        if kind == Allocation.Kind.PRIMARY:
            if projection is None:
                projection = project_allocation(case, [person], start_date)[person.pk]
            if projection.goes_over_maximum:
                over_maximum = check_over_maximum_plan(
                    over_maximum,
                    person=person,
                    start_date=start_date,
                    after=projection.after.percent_display,
                )
            else:
                over_maximum = None
        else:
            projection = None
        allocation = Allocation(
            case=case,
            person=person,
            kind=kind,
            start_date=start_date,
            allocated_by=allocated_by,
            reason=reason.strip(),
            review_by=review_by,
            percent_before=projection.before.percent if projection else None,
            percent_after=projection.after.percent if projection else None,
        )
        # No savepoint: whatever fails here rolls back the caller's block.
        with transaction.atomic(savepoint=False):
            try:
                allocation.save()
            except IntegrityError:
                # The row lock makes this rare; the constraint is the last guard.
                raise RuleBroken(
                    f"Case {case} was allocated by someone else just now. "
                    "Refresh the page to see who holds it."
                ) from None
            if kind == Allocation.Kind.PRIMARY:
                numbers_changed_on([person.pk], start_date)
            audit.record(allocated_by, audit.Action.CREATE, allocation)
            if over_maximum is not None:
                OverMaximum.objects.create(
                    allocation=allocation,
                    person=person,
                    reason=over_maximum.reason.strip(),
                    reprioritisation=over_maximum.reprioritisation.strip(),
                    review_by=over_maximum.review_by,
                    created_by=allocated_by,
                )
            if kind == Allocation.Kind.PRIMARY:
                by = f" by {allocated_by}" if allocated_by else ""
                notify(
                    recipient=person,
                    subject=f"Case {case.reference} has been allocated to you",
                    body=(
                        f"Case {case.reference} was allocated to you{by} from "
                        f"{long_date(start_date)}.\n\nSee it in Caseload: {case_url(case.pk)}\n"
                    ),
                )
    return allocation


def case_allocate(
    *,
    case: Case,
    worker: Person,
    on: datetime.date,
    by: Person | None,
    reason: str,
    projection: Projection,
    over_maximum: OverMaximumPlan | None = None,
    criteria: list[Criterion] | None = None,
    levels: dict[int, Decimal] | None = None,
    rating_holders: Iterable[int] | None = None,
    student: Person | None = None,
) -> Allocation:
    """Allocate `case` to `worker` from the allocate page, with what the
    manager gave beside: the provisional rating (`levels` of `criteria`)
    of a case not rated yet, and a student of the worker involved too.
    All or nothing. `case` and `worker` are locked and `projection` read
    under the locks, as `allocation_create` needs; `rating_holders`: the
    primary workers of the case on or after `on`, when read already."""
    with transaction.atomic():
        if criteria:
            rating_create(
                case=case,
                levels=levels or {},
                rated_on=on,
                rated_by=by,
                status=Rating.Status.PROVISIONAL,
                criteria=criteria,
                holders=rating_holders,
            )
        allocation = allocation_create(
            case=case,
            person=worker,
            start_date=on,
            allocated_by=by,
            reason=reason,
            over_maximum=over_maximum,
            projection=projection,
        )
        if student is not None:
            allocation_create(
                case=case,
                person=student,
                kind=Allocation.Kind.INVOLVED,
                start_date=on,
                allocated_by=by,
                reason=f"Student of {worker}",
            )
    return allocation


def case_reallocate(
    *,
    case: Case,
    to_person: Person,
    on: datetime.date,
    by: Person | None,
    reason: str,
    over_maximum: OverMaximumPlan | None = None,
) -> Allocation:
    """Move a case to another primary worker: end one allocation, start another."""
    if not reason.strip():
        raise RuleBroken("Give the reason for the transfer.")
    with transaction.atomic():
        case = lock_case(case)
        current = case.allocations.primary().open().first()
        if current is not None:
            if current.person_id == to_person.pk:
                raise RuleBroken(f"{to_person} already holds case {case}.")
            allocation_end(allocation=current, end_date=on, ended_by=by, reason=reason)
        return allocation_create(
            case=case,
            person=to_person,
            start_date=on,
            allocated_by=by,
            reason=reason,
            over_maximum=over_maximum,
        )


def over_maximum_review(
    *,
    record: OverMaximum,
    reviewed_on: datetime.date,
    outcome: str,
    note: str,
    by: Person | None,
    new_review_by: datetime.date | None = None,
) -> OverMaximumReview:
    """Review an over-maximum allocation: extend it to a new date with a reason,
    or record it resolved. The record's earlier dates stay in its reviews."""
    if not note.strip():
        raise RuleBroken("Say what was reviewed and why.")
    with transaction.atomic():
        record = OverMaximum.objects.select_for_update().get(pk=record.pk)
        if not record.is_open:
            raise RuleBroken("This over-maximum allocation is already resolved.")
        if reviewed_on > timezone.localdate():
            raise RuleBroken("A review cannot be dated in the future.")
        if outcome == OverMaximumReview.Outcome.EXTENDED:
            latest = add_months(reviewed_on, 3)
            if new_review_by is None or new_review_by <= reviewed_on:
                raise RuleBroken("Give the new review date, after today.")
            if new_review_by > latest:
                raise RuleBroken(
                    f"The next review must be within three months: by {long_date(latest)}."
                )
            record.review_by = new_review_by
            record.save(update_fields=["review_by"])
        elif outcome == OverMaximumReview.Outcome.RESOLVED:
            new_review_by = None
            record.status = OverMaximum.Status.RESOLVED
            record.resolved_on = reviewed_on
            record.save(update_fields=["status", "resolved_on"])
        else:
            raise RuleBroken("Choose whether to extend or resolve.")
        return OverMaximumReview.objects.create(
            record=record,
            reviewed_on=reviewed_on,
            outcome=outcome,
            note=note.strip(),
            new_review_by=new_review_by,
            reviewed_by=by,
        )
