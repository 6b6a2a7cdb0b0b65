"""What the API keeps and for how long (docs/data-protection.md): the daily
job deletes the rest (caseload.retention)."""

from __future__ import annotations

import datetime

from api.models import ApiEvent, ApiRequestCount

# The event log holds case references: kept 90 days, long enough to answer
# a repeat or a late event of the same case.
EVENTS_KEPT = datetime.timedelta(days=90)
# Rate-limit counts matter for their minute; a day is kept to look back on.
REQUEST_COUNTS_KEPT = datetime.timedelta(days=1)


def delete_old_events(now: datetime.datetime) -> int:
    return ApiEvent.objects.filter(received_at__lt=now - EVENTS_KEPT).delete()[0]


def delete_old_request_counts(now: datetime.datetime) -> int:
    return ApiRequestCount.objects.filter(minute__lt=now - REQUEST_COUNTS_KEPT).delete()[0]
