"""Redis stopped or hung while people work: every write answers at once and
is saved once, /health/ says what is down, and what the broker did not
carry (an email, the day's jobs) is done by the sweeps once Redis is back.

Each test starts a redis-server of its own (tests/brokers.py) and stops or
hangs only that one; the app publishes to it with the production settings."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.schedules import crontab
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from caseload import notifications
from caseload.models import Allocation, Notification
from config.celery import app
from reports.models import CaseloadSnapshot
from supervision.models import WorkloadConcern
from tests.brokers import forget_broker_connections, own_redis, publishing_to, wait_for
from tests.factories import CaseFactory
from tests.pages import hidden_fields
from tests.scenarios import END, rate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(tmp_path, settings):
    """A Redis of this test's own, which the app publishes to as in production."""
    with own_redis(tmp_path) as redis, publishing_to(redis.url):
        settings.REDIS_URL = redis.url  # what /health/ looks at
        yield redis


def timed(call):  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def what_beat_sends_every_few_minutes() -> None:
    """The schedules that repeat every minute or ten: what beat sends once
    Redis is back (the day's crontab has passed and is not sent again)."""
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        if not isinstance(entry["schedule"], crontab):
            app.send_task(entry["task"])


def test_with_redis_stopped_a_write_answers_at_once_and_its_email_goes_when_redis_returns(
    broker, team, team_manager, social_worker, default_scheme, client, mailoutbox
):
    case = CaseFactory(team=team, reference="CP-2001", opened_on=END)
    rate(case, default_scheme, (2, 2, 1), END)
    client.force_login(team_manager.user)
    url = reverse("case_allocate", args=[case.pk])
    form = client.get(url)
    broker.stop()

    response, seconds = timed(
        lambda: client.post(url, {"worker": social_worker.pk, **hidden_fields(form)})
    )
    assert response.status_code == 302
    assert seconds < 1, f"the allocation took {seconds:.1f} s with Redis down"
    assert Allocation.objects.filter(case=case, person=social_worker).count() == 1
    waiting = Notification.objects.get(subject__contains="CP-2001")
    assert waiting.sent_at is None

    response, seconds = timed(lambda: client.get(reverse("health")))
    assert seconds < 2, f"/health/ took {seconds:.1f} s with Redis down"
    assert response.status_code == 200  # the site works without Redis
    assert response.json() == {"database": "ok", "redis": "down"}

    broker.start()
    forget_broker_connections()
    assert client.get(reverse("health")).json() == {"database": "ok", "redis": "ok"}
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        what_beat_sends_every_few_minutes()
        wait_for(
            lambda: Notification.objects.filter(pk=waiting.pk, sent_at__isnull=False).exists(),
            30,
            "the email to be sent",
        )
    assert [m.subject for m in mailoutbox if "CP-2001" in m.subject] == [waiting.subject]
    assert mailoutbox[-1].to == [social_worker.user.email]
    assert notifications.send_pending() == 0  # sent once


def test_with_redis_hung_a_write_answers_quickly_and_a_retry_saves_nothing_twice(
    broker, social_worker, team_manager, client
):
    client.force_login(social_worker.user)
    page = client.get(reverse("concern_raise"))
    posted = {"concern": "Too many court reports this month", **hidden_fields(page)}
    broker.pause()
    # Should a request hang on the broker for good, let it go after a while
    # so that the test fails rather than waits for ever.
    release = threading.Timer(20, broker.resume)
    release.start()
    try:
        response, seconds = timed(lambda: client.post(reverse("concern_raise"), posted))
        assert response.status_code == 302
        assert seconds < 3, f"raising the concern took {seconds:.1f} s with Redis hung"
        # The person saw no answer in time and sends the form again.
        again, seconds = timed(lambda: client.post(reverse("concern_raise"), posted))
        assert again.status_code == 302
        assert again["Location"] == response["Location"]
        assert seconds < 3
    finally:
        release.cancel()
        broker.resume()
    assert WorkloadConcern.objects.filter(person=social_worker).count() == 1
    assert Notification.objects.filter(recipient=team_manager, sent_at__isnull=True).count() == 1


def _due_day() -> datetime.date:
    """The day whose jobs should have run by now (at 03:15 each day)."""
    now = timezone.localtime()
    today = now.date()
    return today if now.time() >= datetime.time(3, 15) else today - datetime.timedelta(days=1)


def test_the_days_jobs_missed_while_redis_was_down_run_when_it_returns(
    broker, team, social_worker, colleague
):
    # The day's jobs fell due while Redis was down: beat could not send them.
    broker.stop()
    broker.start()
    forget_broker_connections()
    day = _due_day()
    assert not CaseloadSnapshot.objects.filter(day=day).exists()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        what_beat_sends_every_few_minutes()
        wait_for(
            lambda: CaseloadSnapshot.objects.filter(day=day).count() == 2,
            60,
            f"the snapshots of {day}",
        )
