"""The outbox: every email is first a row, written in the same transaction as
its cause, then sent by a task that sweeps unsent rows. The request that wrote
the row only nudges the task after commit (`caseload.broker`), and never
fails or waits if the broker is down: the next sweep (every minute) delivers
what is waiting."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.utils import timezone

from caseload.broker import nudge
from caseload.models import Notification, Person, Team
from caseload.notify import REFERENCE_HEADER

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


def notify(*, recipient: Person, subject: str, body: str) -> None:
    """Queue an email to `recipient`; it goes once the current transaction commits."""
    notify_many([(recipient, subject, body)])


def notify_many(messages: list[tuple[Person, str, str]]) -> int:
    """Queue many emails (recipient, subject, body) in one insert: jobs that
    tell many people take the same queries for 3 or 300. Each recipient's
    `user` should be loaded with them. Returns how many were queued."""
    return queue_emails(
        [
            Email(recipient.pk, recipient.user.email, subject, body)
            for recipient, subject, body in messages
        ]
    )


def managers_by_team(team_ids: Iterable[int]) -> dict[int, list[Person]]:
    """The managers of these teams, with their log-ins, by team: one query,
    for jobs that email a team's managers."""
    managers: dict[int, list[Person]] = defaultdict(list)
    for link in Team.managers.through.objects.filter(team_id__in=set(team_ids)).select_related(
        "person__user"
    ):
        managers[link.team_id].append(link.person)
    return managers


class Email(NamedTuple):
    """An email to queue, as plain values: a job that tells tens of thousands
    of people reads these rather than every recipient's records."""

    recipient_id: int
    address: str | None
    subject: str
    body: str


# On PostgreSQL the rows go in as four arrays, one parameter each: the
# analyses' 66,000 emails nationally took 2.4 s as model instances, 0.6 s so.
_QUEUE_SQL = """
INSERT INTO {table} (recipient_id, email, subject, body, created_at, attempts, last_error)
SELECT recipient_id, email, subject, body, %s, 0, ''
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])
    AS email (recipient_id, email, subject, body)
"""


def queue_emails(emails: list[Email]) -> int:
    """Queue these emails in one insert, to go once the transaction commits.
    Returns how many were queued (those with an address)."""
    rows = []
    for email in emails:
        if not email.address:
            logger.warning("No email address for %s; notification not queued", email.recipient_id)
            continue
        rows.append(email)
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _QUEUE_SQL.format(table=Notification._meta.db_table),
                [timezone.now(), *(list(column) for column in zip(*rows, strict=True))],
            )
    else:
        Notification.objects.bulk_create(
            Notification(
                recipient_id=email.recipient_id,
                email=email.address,
                subject=email.subject,
                body=email.body,
            )
            for email in rows
        )
    # One nudge per transaction is enough: the sweep sends every waiting row.
    pending = transaction.get_connection().run_on_commit
    if not any(callback is _nudge for _, callback, _ in pending):
        transaction.on_commit(_nudge, robust=True)
    return len(rows)


def _nudge() -> None:
    nudge("caseload.send_notifications")


def send_pending(limit: int = 200) -> int:
    """Send unsent notifications, oldest first; returns how many were sent.

    Rows are locked while they are sent (and skipped by a concurrent sweep), and
    a row is marked sent in the same transaction, so each is sent once unless a
    worker dies between sending and committing (then it is sent again: at
    least once, never lost).
    """
    sent = 0
    with transaction.atomic():
        rows = (
            Notification.objects.filter(sent_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
            .select_for_update(skip_locked=True)
            .order_by("created_at", "pk")[:limit]
        )
        for row in rows:
            try:
                EmailMessage(
                    row.subject,
                    row.body,
                    settings.DEFAULT_FROM_EMAIL,
                    [row.email],
                    headers={REFERENCE_HEADER: f"notification-{row.pk}"},
                ).send()
            except Exception as error:  # any failure is recorded and retried by the next sweep
                row.attempts += 1
                row.last_error = f"{type(error).__name__}: {error}"[:1000]
                row.save(update_fields=["attempts", "last_error"])
                logger.warning("Notification %s not sent: %s", row.pk, row.last_error)
                continue
            row.sent_at = timezone.now()
            row.attempts += 1
            row.save(update_fields=["sent_at", "attempts"])
            sent += 1
    return sent


def case_url(case_pk: int) -> str:
    return f"{settings.SITE_URL}/cases/{case_pk}/"
