"""The scheduled analyses as Celery tasks: in-process without a broker, end to
end on a real Redis and worker, and through a worker killed in the middle of
a back-fill (Redis stopped or hung: tests/test_broker_faults.py)."""

import datetime
import time

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone

from caseload.models import Notification, Person, TeamMembership
from config.celery import app
from reports import tasks
from reports.models import (
    CaseloadAnalysis,
    CaseloadSnapshot,
    Escalation,
    QuarterlyReview,
    SnapshotBackfill,
)
from reports.services.snapshots import BACKFILL_GRACE, backfill_record
from tests import settings_fault_worker as fault_worker_settings
from tests.brokers import (
    own_redis,
    publishing_to,
    result_of,
    wait_for,
    worker_process,
)
from tests.factories import member
from tests.scenarios import END, START, build_small_team, date, rate


@pytest.fixture
def small_team(service, default_scheme, team, other_team, team_manager, dmt_member):
    return build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )


def stored() -> dict[str, int]:
    return {
        "snapshots": CaseloadSnapshot.objects.count(),
        "analyses": CaseloadAnalysis.objects.count(),
        "escalations": Escalation.objects.count(),
        "reviews": QuarterlyReview.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def in_process():
    """Tasks run in this process, as on the embedded first run."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def test_the_days_jobs_run_in_process_and_twice_store_nothing_new(small_team, in_process):
    day = date(2026, 7, 1)  # Ben has been over since 16 March; a quarter has just ended
    done = tasks.daily.delay(day.isoformat()).get()
    assert done == {
        "snapshots": 4 * 32,  # the day and the 31 before it (none was stored)
        # The scenario's back-dated records marked Asha, Ben and Cara: their stored days.
        "recomputed": 3 * 32,
        "escalations": 1,
        "analyses": 3,
        "reviews": 1,
        "returned": 0,  # no one has left
        "leaving_emails": 0,
        "past_retention": 0,
        "pause_emails": 0,  # no case is paused
    }
    first = stored()
    assert first["analyses"] == 3
    assert first["reviews"] == 1
    tasks.daily.delay(day.isoformat()).get()
    assert stored() == first


# On a real Redis with a real worker --------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_each_task_runs_end_to_end_on_a_real_worker(small_team, default_scheme):
    service = small_team["asha"].service
    expected_snapshots = 4 * ((END - START).days + 1)
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert result_of(tasks.backfill_snapshots, START.isoformat(), END.isoformat()) == 3
        wait_for(
            lambda: CaseloadSnapshot.objects.count() == expected_snapshots, 60, "the back-fill"
        )
        rate(small_team["c1"], default_scheme, (1, 1, 1), END)  # back-dated: 9 becomes 3
        assert result_of(tasks.recompute_stale_snapshots) > 0
        assert CaseloadSnapshot.objects.get(person=small_team["asha"], day=END).weighted_load == 6
        result_of(tasks.daily, END.isoformat(), timeout=60)
        wait_for(lambda: CaseloadAnalysis.objects.count() == 3, 60, "the analyses, per team")
        wait_for(lambda: QuarterlyReview.objects.count() == 1, 60, "the review of Jan–Mar")
        review = result_of(tasks.quarterly_review, service.pk, "2026-04-01", timeout=60)
        assert QuarterlyReview.objects.get(pk=review).quarter_end == date(2026, 6, 30)
        first = stored()
        result_of(tasks.daily, END.isoformat(), timeout=60)
        result_of(tasks.quarterly_review, service.pk, "2026-04-01", timeout=60)
        result_of(tasks.backfill_snapshots, START.isoformat(), END.isoformat())
        result_of(tasks.recompute_stale_snapshots)
    assert stored() == first


def test_a_back_fill_whose_chunks_were_lost_is_finished_by_the_minutes_sweep(
    small_team, team, in_process
):
    """Redis can lose a chunk outright (a worker killed in the instant after
    taking it), and hands back one held by a dead worker only after its
    visibility timeout. The database holds each back-fill asked for, so the
    every-minute sweep fills whatever a back-fill still lacks a few minutes
    after it was asked for, and then marks it finished."""
    first, last = date(2026, 1, 1), date(2026, 6, 30)
    asked = backfill_record(first, last)  # its chunks lost with their worker
    assert tasks.finish_backfills.delay().get() == 0  # too soon: its chunks may be running
    assert not CaseloadSnapshot.objects.exists()
    later = timezone.now() + BACKFILL_GRACE + datetime.timedelta(seconds=1)
    with time_machine.travel(later):
        assert tasks.finish_backfills.delay().get() == 1
        assert tasks.finish_backfills.delay().get() == 0  # finished: not looked at again
    asked.refresh_from_db()
    assert asked.finished_at is not None
    expected = sum(
        (last - max(first, membership.start_date)).days + 1
        for membership in TeamMembership.objects.filter(start_date__lte=last)
    )
    assert CaseloadSnapshot.objects.filter(day__range=(first, last)).count() == expected


def test_the_back_fill_task_records_what_was_asked(small_team, in_process):
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    tasks.backfill_snapshots.delay(first.isoformat(), last.isoformat()).get()
    tasks.backfill_snapshots.delay(first.isoformat(), last.isoformat()).get()  # redelivered
    asked = SnapshotBackfill.objects.get()
    assert (asked.first, asked.last, asked.service_ids) == (first, last, None)


# Faults ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_a_back_fill_leaves_every_snapshot_once(small_team, team, tmp_path):
    """The whole worker is killed (SIGKILL) while it holds a chunk of the
    back-fill; a second worker does that chunk and the rest within the
    visibility timeout and the broker's look for lost tasks (a few seconds in
    the test's settings, tests/settings_fault_worker.py; ten minutes at most
    in production's)."""
    for n in range(20):
        member(team, since=date(2025, 7, 1), full_name=f"Worker {n}")
    first, last = date(2025, 7, 1), date(2026, 6, 30)  # twelve months: twelve tasks
    expected = sum(
        (last - max(first, membership.start_date)).days + 1
        for person in Person.objects.filter(memberships__isnull=False).distinct()
        for membership in person.memberships.all()
    )
    log = tmp_path / "worker.log"
    with own_redis(tmp_path) as redis, publishing_to(redis.url):
        with worker_process(redis.url, log) as worker:
            tasks.backfill_snapshots.delay(first.isoformat(), last.isoformat())
            wait_for(lambda: CaseloadSnapshot.objects.exists(), 60, "the first month")
            # Killed once it holds a chunk (Redis notes it as unacknowledged),
            # not in the instant between taking one and noting it.
            wait_for(lambda: redis.client().hlen("unacked") > 0, 30, "a chunk held")
            worker.kill()
        killed_at = time.monotonic()
        when_killed = CaseloadSnapshot.objects.count()
        with worker_process(redis.url, log):
            wait_for(
                lambda: CaseloadSnapshot.objects.count() == expected,
                120,
                f"all {expected} snapshots (the log is {log})",
            )
        recovered_in = time.monotonic() - killed_at
    assert 0 < when_killed < expected, "the worker was killed in the middle of the back-fill"
    pairs = set(CaseloadSnapshot.objects.values_list("person_id", "day"))
    assert len(pairs) == CaseloadSnapshot.objects.count() == expected
    options = fault_worker_settings.CELERY_BROKER_TRANSPORT_OPTIONS
    bound = (
        options["visibility_timeout"]
        + options["unacked_restore_interval"] * options["unacked_restore_throttle"]
        + 30  # the second worker's start, and the back-fill's remaining months
    )
    assert recovered_in < bound


def test_the_schedules_avoid_the_hour_the_clocks_change():
    schedules = settings.CELERY_BEAT_SCHEDULE.values()
    assert {
        "reports.daily",
        "reports.recompute_stale_snapshots",
        "caseload.delete_expired_audit",
    } <= {s["task"] for s in schedules}
    for entry in schedules:
        if isinstance(entry["schedule"], crontab):
            assert 1 not in entry["schedule"].hour, entry["task"]


def test_a_task_whose_worker_died_is_taken_up_again_within_ten_minutes():
    """Redis hands a task not acknowledged within the visibility timeout to
    another worker, looking for such tasks every `restore` seconds. So the
    timeout must outlast every task that is acknowledged late (or a running
    task is handed out twice), and be just above the longest of them (or a
    dead worker's task waits needlessly)."""
    import caseload.tasks  # noqa: F401  (every task registered)
    import reports.tasks  # noqa: F401

    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    visibility = options["visibility_timeout"]
    # kombu's defaults: a look every 10 seconds, a scan every 10th look.
    restore = options.get("unacked_restore_interval", 10) * options.get(
        "unacked_restore_throttle", 10
    )
    late = {
        name: task.time_limit or app.conf.task_time_limit
        for name, task in app.tasks.items()
        if task.acks_late
    }
    assert "reports.snapshot_chunk" in late
    for name, limit in late.items():
        assert limit is not None and limit < visibility, name
        task = app.tasks[name]
        if getattr(task, "autoretry_for", None) and getattr(task, "retry_backoff", False):
            # A retry waits in the worker, unacknowledged, for its countdown.
            assert getattr(task, "retry_backoff_max", 600) < visibility, name  # Celery: 600
    assert visibility <= max(late.values()) + 60
    assert visibility + restore <= 10 * 60
