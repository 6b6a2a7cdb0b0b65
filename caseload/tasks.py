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


# An import's worker is acknowledged as it starts, not when it ends: were it
# to die, the broker does not hand the task on (after its visibility timeout,
# minutes away); the every-minute sweep takes the run up again, having seen
# through its lock that the worker is gone (docs/adr/0020). So an import may
# run for longer than the visibility timeout.
IMPORT = {"acks_late": False, "time_limit": 60 * 60, "soft_time_limit": 55 * 60}


@shared_task(name="caseload.apply_import", **IMPORT)
def apply_import(run_id: int) -> str:
    """Write a confirmed import (see `caseload.exchange.runs`)."""
    from caseload.exchange import runs

    return runs.import_apply(run_id)


@shared_task(name="caseload.apply_queued_imports", **IMPORT)
def apply_queued_imports() -> int:
    """The sweep of imports waiting, or whose worker died (every minute)."""
    from caseload.exchange import runs

    return runs.apply_queued()


@shared_task(name="caseload.expire_import_previews", **SWEEP)
def expire_import_previews() -> int:
    """Previews not confirmed within a day lose their file (every hour)."""
    from caseload.exchange import runs

    return runs.expire_previews()
