"""Retention (issue 27; docs/data-protection.md): each day what the list
says is past its time is deleted, or a leaver's log-in closed, and nothing
else is touched."""

import datetime

from axes.models import AccessAttempt, AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from caseload.models import Notification, SignInIdentity, TeamMembership
from caseload.retention import apply_retention

NOW = timezone.now


def days_ago(days: int) -> datetime.datetime:
    return NOW() - datetime.timedelta(days=days)


def email(person, *, sent_days_ago: int | None) -> Notification:
    return Notification.objects.create(
        recipient=person,
        email=person.user.email,
        subject="A case for you",
        body="CP-1042",
        sent_at=days_ago(sent_days_ago) if sent_days_ago is not None else None,
    )


def test_sent_emails_go_after_90_days_and_unsent_ones_stay(social_worker):
    old, recent, waiting = (
        email(social_worker, sent_days_ago=91),
        email(social_worker, sent_days_ago=89),
        email(social_worker, sent_days_ago=None),
    )
    Notification.objects.filter(pk=waiting.pk).update(created_at=days_ago(200))
    assert apply_retention()["sent_emails"] == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert old.pk not in Notification.objects.values_list("pk", flat=True)


def test_expired_sessions_and_old_sign_in_records_go(db):
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=days_ago(1))
    for days in (91, 10):
        attempt = AccessAttempt.objects.create(
            username=f"worker{days}", ip_address="10.0.0.1", user_agent="", failures_since_start=1
        )
        log = AccessLog.objects.create(username="worker", ip_address="10.0.0.1", user_agent="")
        # Their times are set as they are written: dated afterwards.
        AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=days_ago(days))
        AccessLog.objects.filter(pk=log.pk).update(attempt_time=days_ago(days))
    done = apply_retention()
    assert (done["sessions"], done["sign_in_records"]) == (1, 2)
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert AccessAttempt.objects.count() == AccessLog.objects.count() == 1


def test_a_leavers_log_in_is_closed_30_days_after_they_left(social_worker, colleague):
    today = timezone.localdate()
    TeamMembership.objects.filter(person=social_worker).update(
        end_date=today - datetime.timedelta(days=30)
    )
    TeamMembership.objects.filter(person=colleague).update(
        end_date=today - datetime.timedelta(days=29)
    )
    for person in (social_worker, colleague):
        SignInIdentity.objects.create(user=person.user, issuer="https://idp", subject=str(person))
    done = apply_retention()
    assert (done["closed_log_ins"], done["sign_in_identities"]) == (1, 1)
    assert SignInIdentity.objects.get().user == colleague.user
    assert {row.user_id for row in SignInIdentity.history.all()} == {colleague.user.pk}
    social_worker.user.refresh_from_db()
    colleague.user.refresh_from_db()
    assert not social_worker.user.is_active
    assert not social_worker.user.has_usable_password()
    assert colleague.user.is_active and colleague.user.has_usable_password()
    social_worker.refresh_from_db()  # the person's record stays
    assert apply_retention()["closed_log_ins"] == 0  # a rerun closes nothing twice
