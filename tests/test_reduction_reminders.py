"""Reminders that protected time ends: each manager of the person's team is
emailed once, as many days before the end as the reason says, through the
outbox; in-process as on the first run, and on a real Redis and worker."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal as D

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caseload import notifications
from caseload.models import Notification, Person, TeamMembership
from config.celery import app
from tests.brokers import result_of
from tests.factories import PersonFactory, TeamFactory, member, reason_named
from tests.queries import statements
from weighting import reminders, tasks
from weighting import services as weighting
from weighting.models import Reduction, ReductionReason, ReductionReminder

ENDS = datetime.date(2027, 1, 12)
DUE = ENDS - datetime.timedelta(days=14)  # the reason's reminder: 14 days before
AT_NINE = datetime.datetime(2026, 12, 29, 9, 0, tzinfo=datetime.UTC)  # the day it is due


@pytest.fixture
def in_process():
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture
def ben(team, team_manager) -> Person:
    """Ben Ward, in Claire Hughes's team, a practice educator until 12 January 2027."""
    ben = member(team, full_name="Ben Ward", since=datetime.date(2026, 1, 5))
    weighting.reduction_create(
        person=ben,
        reason=reason_named(ben, "Practice educator"),
        start_date=datetime.date(2026, 9, 1),
        end_date=ENDS,
    )
    return ben


def sent() -> list[tuple[list[str], str]]:
    """Send what the outbox holds, and every email sent so far."""
    notifications.send_pending()
    return [(message.to, message.subject) for message in mail.outbox]


def test_the_job_run_twice_emails_the_manager_once(ben, team_manager, in_process):
    assert datetime.date(2026, 12, 29) == DUE
    with time_machine.travel(AT_NINE, tick=False):
        assert tasks.remind_reductions_ending.delay().get() == 1
        assert tasks.remind_reductions_ending.delay().get() == 0
    assert sent() == [
        (["manager@example.org"], "Ben Ward's practice educator time ends on 12 January 2027")
    ]
    body = mail.outbox[0].body
    assert "(3.7 hours a week, since 1 September 2026) ends on 12 January 2027" in body
    plans = f"{settings.SITE_URL}/people/{ben.pk}/plan/"
    assert f"record it again from 12 January 2027 on their plans page: {plans}" in body
    reminder = ReductionReminder.objects.get()
    assert (reminder.reduction.person, reminder.ends_on, reminder.emails) == (ben, ENDS, 1)


def test_every_manager_of_the_team_is_emailed_and_no_one_else(
    ben, team, team_manager, other_manager, dmt_member, in_process
):
    second = PersonFactory(
        full_name="Mo Khan", role=Person.Role.TEAM_MANAGER, service=team.service,
        user__username="second.manager",
    )  # fmt: skip
    team.managers.add(second)
    reminders.remind_reductions_ending(DUE)
    assert sorted(to for to, _ in sent()) == [
        ["manager@example.org"],
        ["second.manager@example.org"],
    ]


@pytest.mark.parametrize(
    ("day", "emails"),
    [
        (DUE - datetime.timedelta(days=1), 0),  # not yet
        (DUE, 1),
        (ENDS - datetime.timedelta(days=1), 1),  # late (the job was down): still before the end
        (ENDS, 0),  # it has ended: too late to help
    ],
)
def test_a_reminder_falls_due_days_before_the_end_as_the_reason_says(
    ben, team_manager, day, emails
):
    assert reminders.remind_reductions_ending(day) == emails


def test_each_reason_reminds_as_many_days_before_as_it_says(ben, team_manager):
    ReductionReason.objects.filter(name="Practice educator").update(reminder_days=28)
    assert reminders.remind_reductions_ending(ENDS - datetime.timedelta(days=29)) == 0
    assert reminders.remind_reductions_ending(ENDS - datetime.timedelta(days=28)) == 1


def test_a_new_end_date_is_reminded_of_again(ben, team_manager):
    assert reminders.remind_reductions_ending(DUE) == 1
    later = ENDS + datetime.timedelta(weeks=4)
    Reduction.objects.filter(person=ben).update(end_date=later)
    assert reminders.remind_reductions_ending(DUE) == 0
    assert reminders.remind_reductions_ending(later - datetime.timedelta(days=14)) == 1
    assert [r.ends_on for r in ReductionReminder.objects.order_by("ends_on")] == [ENDS, later]


def test_a_reminder_waits_for_a_team_with_a_manager(ben, team, team_manager):
    team.managers.clear()
    assert reminders.remind_reductions_ending(DUE) == 0
    assert not ReductionReminder.objects.exists()
    team.managers.add(team_manager)
    assert reminders.remind_reductions_ending(DUE + datetime.timedelta(days=1)) == 1


def test_the_managers_are_those_of_the_team_the_person_is_in_that_day(
    ben, team, other_team, team_manager, other_manager
):
    TeamMembership.objects.filter(person=ben).update(end_date=datetime.date(2026, 12, 1))
    TeamMembership.objects.create(
        person=ben, team=other_team, start_date=datetime.date(2026, 12, 1)
    )
    reminders.remind_reductions_ending(DUE)
    assert [to for to, _ in sent()] == [["other.manager@example.org"]]


@pytest.mark.parametrize("people", [1, 12])
def test_the_job_takes_the_same_statements_for_one_reminder_or_many(service, people):
    team = TeamFactory(service=service)
    team.managers.add(PersonFactory(role=Person.Role.TEAM_MANAGER, service=service))
    training = reason_named(service, "Training")
    for n in range(people):
        worker = member(team, since=datetime.date(2026, 1, 5))
        weighting.reduction_create(
            person=worker, reason=training, hours_per_week=D(2),
            start_date=datetime.date(2026, 9, 1), end_date=ENDS - datetime.timedelta(days=n % 3),
        )  # fmt: skip
    with CaptureQueriesContext(connection) as captured:
        assert reminders.remind_reductions_ending(DUE) == people
    # A savepoint and its release, three reads (the reductions due, the
    # teams, the managers) and two inserts (the reminders, the emails).
    assert statements(captured) == 7


def test_the_day_s_jobs_in_process_send_the_reminders(ben, team_manager):
    with time_machine.travel(AT_NINE, tick=False):
        call_command("run_due_jobs", stdout=io.StringIO())
    assert ReductionReminder.objects.count() == 1
    assert Notification.objects.filter(subject__startswith="Ben Ward's").count() == 1


def test_the_reminders_run_every_working_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["remind-reductions-ending"]
    assert entry["task"] == "weighting.remind_reductions_ending"
    assert sorted(entry["schedule"].hour) == list(range(7, 19))


# On a real Redis with a real worker ------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_on_a_real_worker_a_task_sent_twice_emails_once(ben, team_manager):
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert result_of(tasks.remind_reductions_ending, DUE.isoformat()) == 1
        assert result_of(tasks.remind_reductions_ending, DUE.isoformat()) == 0
    assert sent() == [
        (["manager@example.org"], "Ben Ward's practice educator time ends on 12 January 2027")
    ]
