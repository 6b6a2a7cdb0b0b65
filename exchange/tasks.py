"""Celery tasks of the import: thin, idempotent, and safe to run twice.

Their names keep the `caseload.` prefix: beat's schedule and the tasks
already queued name them so."""

from celery import shared_task

from caseload.tasks import SWEEP
from exchange import runs

# An import's worker is acknowledged as it starts, not when it ends: were it
# to die, the broker does not hand the task on (after its visibility timeout,
# minutes away); the every-minute sweep takes the run up again, having seen
# through its lock that the worker is gone (docs/adr/0020). So an import may
# run for longer than the visibility timeout.
IMPORT = {
    "acks_late": False,
    "time_limit": runs.TIME_LIMIT,
    "soft_time_limit": runs.TIME_LIMIT - 5 * 60,
}


@shared_task(name="caseload.apply_import", **IMPORT)
def apply_import(run_id: int) -> str:
    """Write a confirmed import (see `exchange.runs`)."""
    return runs.import_apply(run_id)


@shared_task(name="caseload.apply_queued_imports", **IMPORT)
def apply_queued_imports() -> int:
    """The sweep of imports waiting, or whose worker died (every minute)."""
    return runs.apply_queued()


@shared_task(name="caseload.expire_import_previews", **SWEEP)
def expire_import_previews() -> int:
    """Previews not confirmed within a day lose their file (every hour)."""
    return runs.expire_previews()
