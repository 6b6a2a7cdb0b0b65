"""Celery tasks of weighting: thin, idempotent, and safe to run twice."""

from __future__ import annotations

import datetime

from celery import shared_task

from caseload.tasks import SWEEP
from weighting import reminders


@shared_task(name="weighting.remind_reductions_ending", **SWEEP)
def remind_reductions_ending(day: str | None = None) -> int:
    """Email team managers of protected time ending soon (hourly in working
    hours: a reminder missed while the broker was away goes at the next run)."""
    return reminders.remind_reductions_ending(datetime.date.fromisoformat(day) if day else None)
