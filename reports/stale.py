"""Stored snapshots brought up to date after a back-dated change.

Every write that changes records a person's numbers turn on sends
`caseload.signals.numbers_changed` in its own transaction, and
`on_numbers_changed` receives it (connected in `ReportsConfig.ready`). A
change that touches a few stored days is recomputed there and then, so the
stored past is never behind the records it was computed from; a bigger one
(a scheme agreed back-dated for a service, an import, a change from months
ago) is marked, and the recompute job (reports.tasks, every minute) brings
it up to date. A change dated today is marked only: no page shows today's
stored snapshot, since today's figures are always computed live."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.utils import timezone

from reports.models import SnapshotRecompute

# Recomputed in the change's own transaction when it goes back over at
# most this many person-days: a worker's month (the window the daily job
# catches up too), one set-based computation of a few milliseconds that
# adds about eight queries to the request. Beyond it, the job within a minute.
SAME_TRANSACTION_PERSON_DAYS = 31


def on_numbers_changed(first_days: Mapping[int, datetime.date], **_: object) -> None:
    """The receiver of `caseload.signals.numbers_changed`."""
    stale_from(first_days)


def stale_from(first_days: Mapping[int, datetime.date]) -> None:
    """Each person's snapshots from their day no longer match the records:
    recompute them now if that is a few days' work, or leave them to the job."""
    today = timezone.localdate()
    # No snapshot of a future day exists yet.
    first_days = {pk: day for pk, day in first_days.items() if day <= today}
    if not first_days:
        return
    person_days = sum((today - day).days + 1 for day in first_days.values())
    back_dated = any(day < today for day in first_days.values())
    if back_dated and person_days <= SAME_TRANSACTION_PERSON_DAYS:
        # Imported here: reports.services.snapshots imports the write functions that call this.
        from reports.services.snapshots import recompute_snapshots

        recompute_snapshots(first_days, today)
        return
    SnapshotRecompute.objects.bulk_create(
        SnapshotRecompute(person_id=person_id, from_day=day)
        for person_id, day in first_days.items()
    )
