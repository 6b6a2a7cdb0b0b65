"""The scheduled analyses as Celery tasks: in-process without a broker, end to
end on a real Redis and worker, and through faults (a worker killed in the
middle of a back-fill, Redis stopped while a manager allocates)."""

import pytest
from celery.contrib.testing.worker import start_worker
from celery.schedules import crontab
from django.conf import settings
from django.urls import reverse

from caseload import notifications
from caseload.celery import app
from caseload.models import Notification, Person
from reports import tasks
from reports.models import CaseloadAnalysis, CaseloadSnapshot, Escalation, QuarterlyReview
from tests.brokers import (
    forget_broker_connections,
    own_redis,
    publishing_to,
    wait_for,
    worker_process,
)
from tests.factories import CaseFactory, member
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
        "snapshots": 4,
        "recomputed": 3,  # the scenario's back-dated records marked Asha, Ben and Cara
        "escalations": 1,
        "analyses": 3,
        "reviews": 1,
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
        assert tasks.backfill_snapshots.delay(START.isoformat(), END.isoformat()).get(30) == 3
        wait_for(
            lambda: CaseloadSnapshot.objects.count() == expected_snapshots, 60, "the back-fill"
        )
        rate(small_team["c1"], default_scheme, (1, 1, 1), END)  # back-dated: 9 becomes 3
        assert tasks.recompute_stale_snapshots.delay().get(30) > 0
        assert CaseloadSnapshot.objects.get(person=small_team["asha"], day=END).weighted_load == 6
        tasks.daily.delay(END.isoformat()).get(60)
        wait_for(lambda: CaseloadAnalysis.objects.count() == 3, 60, "the analyses, per team")
        wait_for(lambda: QuarterlyReview.objects.count() == 1, 60, "the review of Jan–Mar")
        review = tasks.quarterly_review.delay(service.pk, "2026-04-01").get(60)
        assert QuarterlyReview.objects.get(pk=review).quarter_end == date(2026, 6, 30)
        first = stored()
        tasks.daily.delay(END.isoformat()).get(60)
        tasks.quarterly_review.delay(service.pk, "2026-04-01").get(60)
        tasks.backfill_snapshots.delay(START.isoformat(), END.isoformat()).get(30)
        tasks.recompute_stale_snapshots.delay().get(30)
    assert stored() == first


# Faults ---------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_a_back_fill_leaves_every_snapshot_once(small_team, team, tmp_path):
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
            worker.kill()
        when_killed = CaseloadSnapshot.objects.count()
        with worker_process(redis.url, log):
            wait_for(
                lambda: CaseloadSnapshot.objects.count() == expected,
                120,
                f"all {expected} snapshots (the log is {log})",
            )
    assert 0 < when_killed < expected, "the worker was killed in the middle of the back-fill"
    pairs = set(CaseloadSnapshot.objects.values_list("person_id", "day"))
    assert len(pairs) == CaseloadSnapshot.objects.count() == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_an_allocation_succeeds_and_its_email_goes_when_redis_returns(
    small_team, team, team_manager, default_scheme, client, mailoutbox, tmp_path
):
    case = CaseFactory(team=team, reference="CP-2001", opened_on=END)
    rate(case, default_scheme, (2, 2, 1), END)
    worker = small_team["asha"]
    with own_redis(tmp_path) as redis, publishing_to(redis.url, broker_connection_retry=False):
        redis.stop()
        client.force_login(team_manager.user)
        response = client.post(reverse("case_allocate", args=[case.pk]), {"worker": worker.pk})
        assert response.status_code == 302
        waiting = Notification.objects.get(subject__contains="CP-2001")
        assert waiting.sent_at is None
        redis.start()
        forget_broker_connections()
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            # What beat sends every minute: the sweep of the outbox.
            app.send_task("caseload.send_notifications")
            wait_for(
                lambda: Notification.objects.filter(pk=waiting.pk, sent_at__isnull=False).exists(),
                30,
                "the email to be sent",
            )
    waiting.refresh_from_db()
    assert waiting.sent_at is not None
    assert [m.subject for m in mailoutbox if "CP-2001" in m.subject] == [waiting.subject]
    assert mailoutbox[-1].to == [worker.user.email]
    assert notifications.send_pending() == 0  # sent once


def test_the_schedules_avoid_the_hour_the_clocks_change_and_outlast_no_task():
    schedules = settings.CELERY_BEAT_SCHEDULE.values()
    assert {
        "reports.daily",
        "reports.recompute_stale_snapshots",
        "reports.keep_overviews",
        "caseload.fold_change_notes",
        "caseload.delete_expired_audit",
    } <= {s["task"] for s in schedules}
    for entry in schedules:
        if isinstance(entry["schedule"], crontab):
            assert 1 not in entry["schedule"].hour, entry["task"]
    longest = max(task.time_limit or 0 for task in app.tasks.values())
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > longest
