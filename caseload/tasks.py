"""Celery tasks of the core domain: thin, idempotent, and safe to run twice."""

from celery import shared_task
from django.db import DatabaseError

from caseload import audit, notifications


@shared_task(name="caseload.probe", ignore_result=False, time_limit=30, soft_time_limit=20)
def probe() -> str:
    """A round trip through the broker and a worker, for `manage.py
    check_services`: the one task whose result is kept, as it is read."""
    return "ok"


# A sweep that beat sends every minute: done once whatever the failures,
# retried after a database error (within a minute), never longer than five
# minutes (200 emails to a slow mail server).
SWEEP = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "time_limit": 300,
    "soft_time_limit": 240,
}


@shared_task(name="caseload.send_notifications", **SWEEP)
def send_notifications() -> int:
    """Sweep the outbox. Runs on every nudge and every minute."""
    return notifications.send_pending()


@shared_task(name="caseload.delete_expired_audit", **SWEEP)
def delete_expired_audit() -> int:
    """Delete the audit rows past the retention period (daily)."""
    return audit.delete_expired()
