"""Marking stored snapshots out of date after a back-dated change.

The write functions call `mark_stale` in the same transaction as the change;
the recompute sweep (reports.tasks) brings the snapshots up to date."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone

from reports.models import SnapshotRecompute


def mark_stale(person_ids: Iterable[int], from_day: datetime.date) -> None:
    """Snapshots of these people from `from_day` no longer match the records."""
    if from_day > timezone.localdate():
        return  # no snapshot of a future day exists yet
    SnapshotRecompute.objects.bulk_create(
        SnapshotRecompute(person_id=person_id, from_day=from_day) for person_id in set(person_ids)
    )
