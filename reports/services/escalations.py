"""Escalations: a worker over the maximum for more than three months is
escalated to the service's senior managers, who record what they did."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from caseload.dates import add_months, long_date
from caseload.models import Person, TeamMembership
from caseload.notifications import notify
from reports.models import CaseloadSnapshot, Escalation
from reports.services.snapshots import days_between, write_snapshots
from weighting.bands import OVER_MAXIMUM_BANDS


def run_must_start_by(day: datetime.date) -> datetime.date:
    """The latest start day S of a run over the maximum that, still going on
    `day`, makes it "more than three months": `day` is after S + 3 months."""
    start = add_months(day, -3)
    while add_months(start, 3) >= day:
        start -= datetime.timedelta(days=1)
    return start


def _run_starts(person_ids: set[int], day: datetime.date) -> dict[int, datetime.date]:
    """For each person, the first day of their run over the maximum up to
    `day`, by the stored snapshots: the day after the last one not over, or
    the first one stored."""
    stored = CaseloadSnapshot.objects.filter(person_id__in=person_ids, day__lte=day)
    last_not_over = dict(
        stored.exclude(band__in=OVER_MAXIMUM_BANDS)
        .values("person_id")
        .annotate(last=Max("day"))
        .values_list("person_id", "last")
    )
    first_stored = dict(
        stored.values("person_id").annotate(first=Min("day")).values_list("person_id", "first")
    )
    return {
        person_id: (
            last_not_over[person_id] + datetime.timedelta(days=1)
            if person_id in last_not_over
            else first_stored[person_id]
        )
        for person_id in person_ids
    }


def over_maximum_too_long(day: datetime.date) -> dict[int, datetime.date]:
    """Case-holding workers over the maximum (capacity % > 100) on every day
    from a start day S to `day`, where `day` is after S plus three calendar
    months (DESIGN.md), with the first day of their run. Any snapshot missing
    from the days that decide it is computed first, so the answer never
    depends on the scheduler having run every day."""
    workers = list(
        Person.objects.filter(
            role__in=Person.CASE_HOLDING_ROLES,
            pk__in=TeamMembership.objects.active_on(day).values("person_id"),
        ).values_list("pk", flat=True)
    )
    if CaseloadSnapshot.objects.filter(person_id__in=workers, day=day).count() < len(workers):
        write_snapshots(workers, [day])
    candidates = set(
        CaseloadSnapshot.objects.filter(
            person_id__in=workers, day=day, band__in=OVER_MAXIMUM_BANDS
        ).values_list("person_id", flat=True)
    )
    if not candidates:
        return {}
    window = days_between(run_must_start_by(day), day)
    stored: dict[int, int] = defaultdict(int)
    for person_id in CaseloadSnapshot.objects.filter(
        person_id__in=candidates, day__gte=window[0], day__lte=day
    ).values_list("person_id", flat=True):
        stored[person_id] += 1
    missing = [pk for pk in candidates if stored[pk] < len(window)]
    if missing:
        write_snapshots(missing, window)
    not_over = set(
        CaseloadSnapshot.objects.filter(person_id__in=candidates, day__gte=window[0], day__lte=day)
        .exclude(band__in=OVER_MAXIMUM_BANDS)
        .values_list("person_id", flat=True)
    )
    return _run_starts(candidates - not_over, day)


def escalate(day: datetime.date) -> int:
    """Escalate to the service's senior managers (and tell the supervisor)
    everyone over the maximum for more than three months on `day`. Each run
    over the maximum is escalated once, and a person has at most one open
    escalation. Returns how many were escalated."""
    due = over_maximum_too_long(day)
    if not due:
        return 0
    known = set(
        Escalation.objects.filter(person_id__in=due)
        .filter(Q(status=Escalation.Status.OPEN) | Q(over_since__in=set(due.values())))
        .values_list("person_id", "over_since", "status")
    )
    open_for = {person_id for person_id, _, status in known if status == "open"}
    recorded = {(person_id, since) for person_id, since, _ in known}
    people = Person.objects.filter(pk__in=due).select_related("service", "supervisor__user")
    senior: dict[int, list[Person]] = defaultdict(list)
    for manager in Person.objects.filter(
        role=Person.Role.SENIOR_MANAGER, service_id__in={p.service_id for p in people}
    ).select_related("user"):
        senior[manager.service_id].append(manager)
    created = 0
    for person in people:
        since = due[person.pk]
        if person.pk in open_for or (person.pk, since) in recorded:
            continue
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    person=person, service=person.service, over_since=since, escalated_on=day
                )
                _notify_escalation(person, since, senior[person.service_id])
        except IntegrityError:
            continue  # a concurrent run escalated them just now
        created += 1
    return created


def _notify_escalation(person: Person, since: datetime.date, senior: list[Person]) -> None:
    for recipient in {*senior, person.supervisor} - {None}:
        notify(
            recipient=recipient,
            subject=f"{person} has been over the maximum for more than three months",
            body=(
                f"{person} has been over the maximum workload every day since "
                f"{long_date(since)}. The policy asks senior managers to be told and "
                "to try to put it right. See the escalations in Caseload.\n"
            ),
        )


def escalation_assess(
    *, escalation: Escalation, work_ongoing: bool, assessment: str, by: Person
) -> Escalation:
    """The manager's (and worker's) assessment of whether the work will be ongoing."""
    if not assessment.strip():
        from caseload.services import RuleBroken

        raise RuleBroken("Say what you and the worker assessed.")
    escalation.work_ongoing = work_ongoing
    escalation.assessment = assessment.strip()
    escalation.assessed_by = by
    escalation.save(update_fields=["work_ongoing", "assessment", "assessed_by"])
    return escalation


def escalation_resolve(*, escalation: Escalation, outcome: str, by: Person) -> Escalation:
    """Senior managers record what they did; the escalation is resolved."""
    from caseload.services import RuleBroken

    if not outcome.strip():
        raise RuleBroken("Say what the senior managers did.")
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.status != Escalation.Status.OPEN:
            raise RuleBroken("This escalation is already resolved.")
        escalation.status = Escalation.Status.RESOLVED
        escalation.outcome = outcome.strip()
        escalation.resolved_by = by
        escalation.resolved_on = timezone.localdate()
        escalation.save(update_fields=["status", "outcome", "resolved_by", "resolved_on"])
    return escalation
