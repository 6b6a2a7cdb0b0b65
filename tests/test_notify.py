"""Email through GOV.UK Notify (issue 27): the outbox's delivery is kept, at
least once and never lost, with Notify's request shape checked by a Notify
endpoint served on loopback (tests/notify_server.py)."""

import uuid

import pytest
from django.core import mail
from django.db import transaction

from caseload.models import Notification
from caseload.notifications import notify, send_pending
from tests.notify_server import NotifyServer

TEMPLATE = str(uuid.uuid4())


@pytest.fixture
def notify_server(settings):
    with NotifyServer(TEMPLATE) as server:
        settings.EMAIL_BACKEND = "caseload.notify.NotifyEmailBackend"
        settings.NOTIFY_API_KEY = server.api_key()
        settings.NOTIFY_TEMPLATE_ID = TEMPLATE
        settings.NOTIFY_BASE_URL = server.url
        yield server


def queued(person) -> Notification:
    with transaction.atomic():
        notify(recipient=person, subject="A case for you", body="CP-1042 is allocated to you.")
    return Notification.objects.get()


def test_an_email_goes_through_notify_with_its_subject_body_and_reference(
    db, notify_server, social_worker
):
    row = queued(social_worker)
    assert send_pending() == 1
    assert notify_server.emails == [
        {
            "email_address": social_worker.user.email,
            "template_id": TEMPLATE,
            "personalisation": {
                "subject": "A case for you",
                "body": "CP-1042 is allocated to you.",
            },
            "reference": f"notification-{row.pk}",
        }
    ]
    row.refresh_from_db()
    assert row.sent_at is not None
    assert mail.outbox == []  # Notify sent it, not Django's test outbox
    assert send_pending() == 0  # sent once
    assert len(notify_server.emails) == 1


def test_while_notify_is_down_the_email_waits_and_then_goes_once(db, notify_server, social_worker):
    row = queued(social_worker)
    notify_server.failures = [500]
    assert send_pending() == 0
    row.refresh_from_db()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert "500" in row.last_error
    assert send_pending() == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 2
    assert len(notify_server.emails) == 1


def test_a_key_notify_refuses_leaves_the_email_unsent_with_the_reason(
    db, notify_server, social_worker, settings
):
    settings.NOTIFY_API_KEY = notify_server.api_key(secret=str(uuid.uuid4()))
    row = queued(social_worker)
    assert send_pending() == 0
    row.refresh_from_db()
    assert row.sent_at is None
    assert "403" in row.last_error and "Invalid token" in row.last_error
    assert notify_server.emails == []
