"""Celery tasks of the core domain."""

from celery import shared_task


@shared_task(name="caseload.probe", time_limit=30, soft_time_limit=20)
def probe() -> str:
    """A round trip through the broker and a worker, for `manage.py check_services`."""
    return "ok"
