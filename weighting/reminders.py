"""Reminders that protected time is ending: the team managers of the person's
team are emailed once, as many days before the end as the reason says, so
that time which should go on is recorded again before capacity changes.
And that a paused case counts in full again: its team's managers are told
once, when the pause reaches its reason's longest length."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Case, Person, TeamMembership
from caseload.notifications import managers_by_team, notify_many
from weighting.models import CasePause, PauseReminder, Reduction, ReductionReminder
from weighting.reasons import as_time

# The most days ahead a reason may remind (ReductionReason.reminder_days).
FURTHEST = datetime.timedelta(days=365)


def reminders_due(day: datetime.date) -> list[Reduction]:
    """Reductions whose reminder falls due by `day` and that have not ended,
    not yet reminded of for their end date; in a transaction, locked (and
    those another run has locked are left to it)."""
    reminded = ReductionReminder.objects.filter(
        reduction=OuterRef("pk"), ends_on=OuterRef("end_date")
    )
    candidates = (
        Reduction.objects.filter(end_date__gt=day, end_date__lte=day + FURTHEST)
        .exclude(Exists(reminded))
        .select_related("reason", "person")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("end_date", "pk")
    )
    return [
        reduction
        for reduction in candidates
        if reduction.end_date - datetime.timedelta(days=reduction.reason.reminder_days) <= day
    ]


def _managers_on(person_ids: list[int], day: datetime.date) -> dict[int, list[Person]]:
    """The managers of each person's team on `day`, with their log-ins."""
    team_of = dict(
        TeamMembership.objects.active_on(day)
        .filter(person_id__in=person_ids)
        .values_list("person_id", "team_id")
    )
    managers = managers_by_team(team_of.values())
    return {person_id: managers[team_id] for person_id, team_id in team_of.items()}


def _message(reduction: Reduction) -> tuple[str, str]:
    person, ends = reduction.person, long_date(reduction.end_date)
    size = (
        f"{plain_number(reduction.hours_per_week)} hours a week"
        if reduction.hours_per_week is not None
        else f"{plain_number(reduction.percentage)}% of their hours"
    )
    subject = f"{person}'s {as_time(reduction.reason)} ends on {ends}"
    plans = f"{settings.SITE_URL}{reverse('person_plan', args=[person.pk])}"
    body = (
        f"{person}'s {as_time(reduction.reason)} ({size}, since "
        f"{long_date(reduction.start_date)}) ends on {ends}: from that day it no longer "
        "reduces their capacity.\n\n"
        f"If it should go on, record it again from {ends} on their plans page: {plans}\n"
    )
    return subject, body


def remind_reductions_ending(day: datetime.date | None = None) -> int:
    """Email the team managers of each reduction whose reminder is due by
    `day` (today by default); returns how many emails were queued.

    Each reminder is a row, unique for the reduction and its end date,
    written in the same transaction as its emails: a rerun, or a task
    delivered twice, finds the row and sends nothing (and a run racing
    another fails on that key, writes nothing, and is retried). A reduction
    whose person is in no team, or whose team has no manager, waits for one.
    The same statements for one reminder or a hundred."""
    day = day or timezone.localdate()
    with transaction.atomic():
        due = reminders_due(day)
        managers = _managers_on([reduction.person_id for reduction in due], day)
        sending = [reduction for reduction in due if managers.get(reduction.person_id)]
        ReductionReminder.objects.bulk_create(
            ReductionReminder(
                reduction=reduction,
                ends_on=reduction.end_date,
                emails=len(managers[reduction.person_id]),
            )
            for reduction in sending
        )
        return notify_many(
            [
                (manager, *_message(reduction))
                for reduction in sending
                for manager in managers[reduction.person_id]
            ]
        )


def pauses_at_maximum(day: datetime.date) -> list[CasePause]:
    """Pauses of open cases, not ended, that reached their longest length by
    `day` and whose managers have not been told; in a transaction, locked
    (and those another run has locked are left to it)."""
    return list(
        CasePause.objects.open()
        .filter(full_from__lte=day, case__status=Case.Status.OPEN)
        .exclude(Exists(PauseReminder.objects.filter(pause=OuterRef("pk"))))
        .select_related("case", "reason")
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("full_from", "pk")
    )


def _pause_message(pause: CasePause) -> tuple[str, str]:
    case, full = pause.case, long_date(pause.full_from)
    subject = f"Case {case.reference} counts in full again from {full}"
    link = f"{settings.SITE_URL}{reverse('case_detail', args=[case.pk])}"
    body = (
        f"Case {case.reference} was paused on {long_date(pause.start_date)} "
        f"({pause.reason.name}, counting at ×{plain_number(pause.factor)} of its weight). "
        f"The pause reached its longest length, so from {full} the case counts in full in its "
        "worker's caseload.\n\n"
        f"End the pause or close the case when the time comes: {link}\n"
    )
    return subject, body


def remind_pauses_at_maximum(day: datetime.date | None = None) -> int:
    """Email the managers of each paused case's team once its pause reaches
    its longest length (by `day`, today by default); returns how many emails
    were queued.

    Each is a row (one per pause: a unique key) written in the same
    transaction as its emails: a rerun, or a task delivered twice, finds it
    and sends nothing. A case whose team has no manager waits for one. The
    same statements for one pause or a hundred."""
    day = day or timezone.localdate()
    with transaction.atomic():
        due = pauses_at_maximum(day)
        managers = managers_by_team({pause.case.team_id for pause in due})
        sending = [pause for pause in due if managers.get(pause.case.team_id)]
        PauseReminder.objects.bulk_create(
            PauseReminder(pause=pause, emails=len(managers[pause.case.team_id]))
            for pause in sending
        )
        return notify_many(
            [
                (manager, *_pause_message(pause))
                for pause in sending
                for manager in managers[pause.case.team_id]
            ]
        )
