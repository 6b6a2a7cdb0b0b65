"""The scheduled analyses as Celery tasks.

Every task is a thin call into a job of `reports.services`, idempotent (each
output has a unique key), acknowledged only when done (`acks_late`, and
rejected back to the queue if its worker dies), bounded by time limits, and
retried with backoff on database or broker errors. Dates travel as ISO strings.
"""

from __future__ import annotations

import datetime

from celery import group, shared_task
from django.db import DatabaseError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from caseload.dates import Quarter
from caseload.models import Service
from reports.services import analyses, reviews, snapshots
from reports.services.daily import daily_jobs, day_missed

RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError, BrokerError),
    "retry_backoff": True,
    # A retry waits in its worker, unacknowledged: well within the broker's
    # visibility timeout (settings), or Redis would hand it out twice.
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 5,
}
# Each task takes seconds at a council's scale (docs/benchmarks.md, a large
# council: the day's snapshots 0.16 s, a month of back-fill 3 s, a quarterly
# review 0.13 s); five minutes is ample, and keeps a dead worker's task
# waiting for another at most ten minutes (settings, the visibility timeout).
LIMITS = {"time_limit": 5 * 60, "soft_time_limit": 4 * 60}


def _day(value: str | None) -> datetime.date:
    return datetime.date.fromisoformat(value) if value else timezone.localdate()


@shared_task(name="reports.daily", **RELIABLE, **LIMITS)
def daily(day: str | None = None) -> dict[str, int]:
    """The day's jobs (see `daily_jobs`), with the analyses fanned out per
    team and each quarterly review its own task."""
    on = _day(day)
    return daily_jobs(on, analyse_teams=_fan_out_analyses, review=_queue_review)


@shared_task(name="reports.run_missed_day", **RELIABLE, **LIMITS)
def run_missed_day() -> str | None:
    """The sweep of the day's jobs (every ten minutes): if the jobs of the day
    now due were never sent (beat could not reach Redis at 03:15) or their
    worker died, send them now. Returns the day sent, if any."""
    running_for = datetime.timedelta(seconds=daily.time_limit or 0)
    day = day_missed(timezone.now(), running_for=running_for)
    if day is None:
        return None
    daily.delay(day.isoformat())
    return day.isoformat()


def _fan_out_analyses(due: dict[int, list[int]], day: datetime.date) -> None:
    if due:
        group(analyse_team.s(ids, day.isoformat()) for ids in due.values()).apply_async()


def _queue_review(service: Service, quarter: Quarter) -> None:
    quarterly_review.delay(service.pk, quarter.start.isoformat())


@shared_task(name="reports.recompute_stale_snapshots", **RELIABLE, **LIMITS)
def recompute_stale_snapshots() -> int:
    """Bring snapshots up to date after back-dated changes (every few minutes)."""
    return snapshots.recompute_stale()


@shared_task(name="reports.analyse_team", **RELIABLE, **LIMITS)
def analyse_team(person_ids: list[int], day: str) -> int:
    return analyses.analyse(person_ids, _day(day))


@shared_task(name="reports.quarterly_review", **RELIABLE, **LIMITS)
def quarterly_review(service_id: int, quarter_start: str, rerun: bool = False) -> int:
    review = reviews.quarterly_review(
        Service.objects.get(pk=service_id),
        Quarter.containing(_day(quarter_start)),
        rerun=rerun,
    )
    return review.pk


@shared_task(name="reports.backfill_snapshots", **RELIABLE, **LIMITS)
def backfill_snapshots(first: str, last: str, service_ids: list[int] | None = None) -> int:
    """Fan a back-fill out in month-long chunks; each chunk is its own task,
    so a worker lost mid-way costs one chunk, done again on redelivery or,
    if the broker lost it, by the sweep below."""
    snapshots.backfill_record(_day(first), _day(last), service_ids)
    chunks = snapshots.chunks(_day(first), _day(last))
    group(snapshot_chunk.s(a.isoformat(), b.isoformat(), service_ids) for a, b in chunks)()
    return len(chunks)


@shared_task(name="reports.snapshot_chunk", **RELIABLE, **LIMITS)
def snapshot_chunk(first: str, last: str, service_ids: list[int] | None = None) -> int:
    return snapshots.backfill_snapshots(_day(first), _day(last), service_ids=service_ids)


@shared_task(name="reports.finish_backfills", **RELIABLE, **LIMITS)
def finish_backfills() -> int:
    """Fill what each back-fill still lacks a few minutes after it was asked
    for (every minute): its chunks lost with a worker never wait for the
    broker's visibility timeout, nor are lost with it."""
    return snapshots.finish_backfills()
