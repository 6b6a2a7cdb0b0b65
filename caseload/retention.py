"""Retention (docs/data-protection.md): each day, what the list says is past
its time is deleted, or a leaver's log-in closed. Each step is one statement
(or two), whatever the number of rows, and safe to run twice."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.utils import timezone

from caseload.leavers import last_memberships
from caseload.models import Notification, SignInIdentity

# Sent emails, and sign-in attempts and lock-outs, are kept this long.
SENT_EMAILS = datetime.timedelta(days=90)
SIGN_IN_RECORDS = datetime.timedelta(days=90)
# A leaver's log-in is closed this long after their leaving day (it already
# stops working on the day: caseload.leavers).
LEAVERS_LOG_INS = datetime.timedelta(days=30)


# The steps of apps above this one, which register them as they start
# (`register`): each deletes what is past its time at `now` and says how many.
STEPS: dict[str, Callable[[datetime.datetime], int]] = {}


def register(name: str, step: Callable[[datetime.datetime], int]) -> None:
    STEPS[name] = step


def apply_retention(now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete or close what is past its time; returns how many of each."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sign_ins = now - SIGN_IN_RECORDS
    return {
        **{name: step(now) for name, step in STEPS.items()},
        "sent_emails": Notification.objects.filter(sent_at__lt=now - SENT_EMAILS).delete()[0],
        "sessions": Session.objects.filter(expire_date__lt=now).delete()[0],
        "sign_in_records": sum(
            model.objects.filter(attempt_time__lt=sign_ins).delete()[0]
            for model in (AccessAttempt, AccessFailureLog, AccessLog)
        ),
        "closed_log_ins": close_leavers_log_ins(today),
        "sign_in_identities": forget_leavers_identities(today),
    }


def close_leavers_log_ins(today: datetime.date) -> int:
    """Close the log-ins of people who left LEAVERS_LOG_INS ago or more: no
    longer active, and no password (the person's records stay)."""
    left = last_memberships().filter(end_date__lte=today - LEAVERS_LOG_INS)
    return (
        get_user_model()
        .objects.filter(person__in=left.values("person"), is_active=True)
        .update(is_active=False, password=make_password(None))
    )


def forget_leavers_identities(today: datetime.date) -> int:
    """Delete the identity-provider subjects of the same leavers, and their
    history: a closed log-in needs no link (one made again would need the
    first sign-in's checks)."""
    left = last_memberships().filter(end_date__lte=today - LEAVERS_LOG_INS)
    users = get_user_model().objects.filter(person__in=left.values("person")).values("pk")
    deleted = SignInIdentity.objects.filter(user__in=users).delete()[0]
    SignInIdentity.history.filter(user__in=users).delete()  # their past links too
    return deleted
