"""The day's jobs, in order, and the sweep that finds a day whose jobs were
missed."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from caseload import leavers, resubmission, retention
from caseload.dates import Quarter
from caseload.models import Service
from reports.models import DailyRun
from reports.services.analyses import analyse, analyses_due
from reports.services.escalations import escalate
from reports.services.reviews import quarterly_review, reviews_missing
from reports.services.snapshots import catch_up_snapshots, recompute_stale
from weighting.reminders import remind_pauses_at_maximum


def _analyse_teams(due: dict[int, list[int]], day: datetime.date) -> None:
    for person_ids in due.values():
        analyse(person_ids, day)


def _review(service: Service, quarter: Quarter) -> None:
    quarterly_review(service, quarter)


def daily_jobs(
    day: datetime.date,
    *,
    analyse_teams: Callable[[dict[int, list[int]], datetime.date], None] = _analyse_teams,
    review: Callable[[Service, Quarter], None] = _review,
) -> dict[str, int]:
    """The day's jobs in order: leavers' cases back to their queues (and
    their managers told a week ahead), snapshots (filling any day missing from the
    month before), the recompute of back-dated changes, escalations, the
    managers told of paused cases that count in full again, the
    analyses due, any quarterly review due, and what is past its retention
    (docs/data-protection.md); each run is recorded as a
    `DailyRun`. The Celery task passes functions that fan the analyses and
    reviews out to workers; commands run them here."""
    DailyRun.objects.update_or_create(
        day=day, defaults={"started_at": timezone.now(), "finished_at": None}
    )
    # Leavers' cases return to their teams' queues first, so that the day's
    # snapshots already show them waiting.
    returned = leavers.return_cases(day)
    told = leavers.tell_managers(day)
    written = catch_up_snapshots(day)
    recomputed = recompute_stale()
    escalated = escalate(day)
    # Paused cases that count in full again from today: their managers are told.
    paused = remind_pauses_at_maximum(day)
    due = analyses_due(day)
    analyse_teams(due, day)
    quarter, services = reviews_missing(day)
    for service in services:
        review(service, quarter)
    resubmission.forget_old()
    kept = retention.apply_retention()
    DailyRun.objects.filter(day=day).update(finished_at=timezone.now())
    return {
        "snapshots": written,
        "recomputed": recomputed,
        "escalations": escalated,
        "analyses": sum(len(ids) for ids in due.values()),
        "reviews": len(services),
        "returned": returned,
        "leaving_emails": told,
        "past_retention": sum(kept.values()),
        "pause_emails": paused,
    }


def day_due(now: datetime.datetime) -> datetime.date:
    """The last day whose jobs were due by `now` (at DAILY_JOBS_AT each day)."""
    local = timezone.localtime(now)
    if local.time() >= settings.DAILY_JOBS_AT:
        return local.date()
    return local.date() - datetime.timedelta(days=1)


def day_missed(now: datetime.datetime, *, running_for: datetime.timedelta) -> datetime.date | None:
    """The day whose jobs were due by `now` if they have not been done and are
    not being done: never begun, or begun more than `running_for` ago (the
    longest they may run) and not ended (their worker died). The day is
    marked as begun now, so that it is handed out once."""
    day = day_due(now)
    with transaction.atomic():
        run = DailyRun.objects.select_for_update().filter(day=day).first()
        if run is not None and (run.finished_at or run.started_at > now - running_for):
            return None
        DailyRun.objects.update_or_create(day=day, defaults={"started_at": now})
    return day
