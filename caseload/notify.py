"""GOV.UK Notify as Django's email backend: every email Caseload sends (the
outbox's notifications, password resets, invitations) goes through one
Notify email template whose subject and body are `((subject))` and
`((body))`. Chosen by setting NOTIFY_API_KEY; SMTP stays the default."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from notifications_python_client.notifications import NotificationsAPIClient

# The outbox puts its row's key here, so Notify's record of an email names
# the notification it came from.
REFERENCE_HEADER = "X-Caseload-Reference"


class NotifyEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: object) -> None:
        super().__init__(fail_silently=fail_silently)
        self.client = NotificationsAPIClient(
            settings.NOTIFY_API_KEY, base_url=settings.NOTIFY_BASE_URL, timeout=10
        )

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Send each message to each of its recipients; a failure is raised
        (unless failing silently) so the outbox records it and tries again."""
        sent = 0
        for message in email_messages:
            try:
                for address in message.recipients():
                    self.client.send_email_notification(
                        email_address=address,
                        template_id=settings.NOTIFY_TEMPLATE_ID,
                        personalisation={"subject": message.subject, "body": message.body},
                        reference=message.extra_headers.get(REFERENCE_HEADER),
                    )
            except Exception:
                if not self.fail_silently:
                    raise
                continue
            sent += 1
        return sent
