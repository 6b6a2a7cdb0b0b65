"""What the core records tell the apps above them.

A person's numbers on a day turn on the records of that day (their
memberships and hours, the cases they hold, the ratings of those cases, the
scheme in force). A write that changes such records sends `numbers_changed`
in its own transaction, with each person's first day affected; the reports
app receives it and brings its stored snapshots up to date (`reports.stale`),
in that transaction or by its job. Its senders need not know what is stored."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping

from django.dispatch import Signal

# Sent with `first_days`: {person id: the first day whose numbers changed}.
numbers_changed = Signal()


def numbers_changed_from(first_days: Mapping[int, datetime.date]) -> None:
    numbers_changed.send(sender=None, first_days=first_days)


def numbers_changed_on(person_ids: Iterable[int], from_day: datetime.date) -> None:
    numbers_changed_from(dict.fromkeys(person_ids, from_day))
