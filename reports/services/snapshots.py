"""Stored snapshots: each person's numbers on a day, and their teams' daily
totals. Taken by the day's jobs, back-filled a month at a time, filled where
missing, and recomputed after back-dated changes. Each is computed from the
dated records (so it can be run for any past day) and written under a unique
key (so running it twice writes nothing new)."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, F, Model, Q
from django.utils import timezone

from caseload.models import Team, TeamMembership
from reports.models import CaseloadSnapshot, SnapshotBackfill, SnapshotRecompute, TeamDay
from weighting.numbers import CaseloadNumbers, caseload_series
from weighting.totals import stored_team_totals

BACKFILL_CHUNK_DAYS = 31
# The day's jobs fill any snapshot missing from this many days before the day
# (a back-fill chunk's worth of work); a quarter's review fills its own days.
CATCH_UP_DAYS = 31
# A back-fill's chunks take seconds each; one not finished this long after it
# was asked for has lost a chunk with its worker, and the sweep fills it.
BACKFILL_GRACE = datetime.timedelta(minutes=2)
# The sweep's share of a minute: it goes on from there at its next run.
BACKFILL_SWEEP_SECONDS = 60

Progress = Callable[[int, int], None]


def fit(row: Model) -> Model:
    """Round each decimal to its column's places (half up, as PostgreSQL
    does) before saving, so the object in hand equals the stored row on
    every database."""
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(field, DecimalField) and value is not None:
            places = Decimal(1).scaleb(-field.decimal_places)
            setattr(row, field.attname, Decimal(value).quantize(places, rounding=ROUND_HALF_UP))
    return row


def days_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    """Every day from `first` to `last`, both included."""
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def people_in_teams(first: datetime.date, last: datetime.date, service_ids=None) -> list[int]:
    """Everyone in a team at some point from `first` to `last`."""
    memberships = TeamMembership.objects.filter(start_date__lte=last).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=first)
    )
    if service_ids is not None:
        memberships = memberships.filter(team__service_id__in=list(service_ids))
    return sorted(set(memberships.values_list("person_id", flat=True)))


def _snapshot(numbers: CaseloadNumbers) -> CaseloadSnapshot:
    return fit(
        CaseloadSnapshot(
            person_id=numbers.person_id,
            day=numbers.day,
            team_id=numbers.team_id,
            case_holding=numbers.case_holding,
            fte=numbers.fte,  # that day's, from the dated rows
            case_count=numbers.case_count,
            people_count=numbers.people_count,
            weighted_load=numbers.weighted_load,
            capacity=numbers.capacity,
            unit=numbers.unit,
            percent=numbers.percent,
            band=numbers.band.value if numbers.band else "",
            unrated_count=numbers.unrated_count,
            provisional_count=numbers.provisional_count,
        )
    )


# Rows per INSERT: PostgreSQL takes up to 65,535 parameters (15 a row).
# SQLite's own lower limit makes Django split them further.
SNAPSHOT_BATCH = 4000

SNAPSHOT_FIELDS = [
    "team",
    "case_holding",
    "fte",
    "case_count",
    "people_count",
    "weighted_load",
    "capacity",
    "unit",
    "percent",
    "band",
    "unrated_count",
    "provisional_count",
    "computed_at",
]


def write_snapshots(
    person_ids: list[int],
    days: Iterable[datetime.date],
    from_days: Mapping[int, datetime.date] | None = None,
) -> int:
    """Compute and store these people's snapshots for these days (for each
    person in `from_days`, only from their day): inserted where missing,
    brought up to date where present. Returns the row count."""
    days = sorted(set(days))
    if not person_ids or not days:
        return 0
    series = caseload_series(person_ids, days)
    rows = [
        _snapshot(numbers)
        for day in days
        for person_id, numbers in series[day].items()
        if numbers.team_id is not None
        and (from_days is None or day >= from_days.get(person_id, day))
    ]
    now = timezone.now()
    for row in rows:
        row.computed_at = now
    # The teams whose totals change: where these snapshots were, and are now.
    teams = set(
        CaseloadSnapshot.objects.filter(person_id__in=person_ids, day__in=days)
        .exclude(team=None)
        .order_by()  # the default ordering would join people and widen DISTINCT
        .values_list("team_id", flat=True)
        .distinct()
    )
    teams |= {row.team_id for row in rows}
    with transaction.atomic(savepoint=False):  # within the caller's, if any
        # A team's totals are the sums of its snapshots: of two transactions
        # changing one team's days, the second waits here for the first to
        # commit, then sums what both wrote (in the teams' order).
        list(
            Team.objects.select_for_update()
            .filter(pk__in=teams)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        CaseloadSnapshot.objects.bulk_create(
            rows,
            batch_size=SNAPSHOT_BATCH,
            update_conflicts=True,
            unique_fields=["person", "day"],
            update_fields=SNAPSHOT_FIELDS,
        )
        total_team_days(teams, days)
    return len(rows)


def total_team_days(team_ids: Iterable[int], days: Iterable[datetime.date]) -> int:
    """Store these teams' totals of these days, summed by the database from
    their snapshots, as their `TeamDay` rows (replacing what was there)."""
    team_ids, days = sorted(set(team_ids)), sorted(set(days))
    if not team_ids or not days:
        return 0
    TeamDay.objects.filter(team_id__in=team_ids, day__in=days).delete()
    totals = stored_team_totals(
        CaseloadSnapshot.objects.filter(team_id__in=team_ids, day__in=days), "day"
    )
    created = TeamDay.objects.bulk_create(
        (
            TeamDay(
                team_id=team_id,
                day=day,
                case_holding_fte=team.case_holding_fte,
                cases=team.cases,
                people=team.people,
                weighted_load=team.weighted_load,
            )
            for (team_id, day), team in totals.items()
        ),
        batch_size=SNAPSHOT_BATCH,
    )
    return len(created)


def take_snapshots(day: datetime.date) -> int:
    """Everyone's snapshot for one day (the daily job)."""
    return write_snapshots(people_in_teams(day, day), [day])


def chunks(first: datetime.date, last: datetime.date) -> list[tuple[datetime.date, datetime.date]]:
    """The days from `first` to `last` in runs of at most a month."""
    days = days_between(first, last)
    return [
        (days[start], days[min(start + BACKFILL_CHUNK_DAYS, len(days)) - 1])
        for start in range(0, len(days), BACKFILL_CHUNK_DAYS)
    ]


def backfill_snapshots(
    first: datetime.date,
    last: datetime.date,
    *,
    service_ids=None,
    progress: Progress | None = None,
) -> int:
    """Snapshots for every day from `first` to `last`, a month at a time (each
    month in one transaction, in a fixed number of queries)."""
    total = (last - first).days + 1
    written = 0
    for start, end in chunks(first, last):
        people = people_in_teams(start, end, service_ids)
        with transaction.atomic():
            written += write_snapshots(people, days_between(start, end))
        if progress:
            progress((end - first).days + 1, total)
    return written


def fill_missing_snapshots(first: datetime.date, last: datetime.date, service_ids=None) -> int:
    """Compute the snapshots missing from `first` to `last`: each person in
    a team (of these services) on a day should have one for that day.

    The database counts each person's snapshots of their days in a team;
    only the people with fewer than they should have are looked at day by
    day (a national quarter is millions of snapshots, nearly all there)."""
    memberships = TeamMembership.objects.filter(start_date__lte=last).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=first)
    )
    if service_ids is not None:
        memberships = memberships.filter(team__service_id__in=list(service_ids))
    spans: dict[int, list[tuple[datetime.date, datetime.date]]] = defaultdict(list)
    for person_id, start, end in memberships.values_list("person_id", "start_date", "end_date"):
        spans[person_id].append(
            (max(start, first), min(end - datetime.timedelta(days=1), last) if end else last)
        )
    # In one filter(): the conditions are on the same membership.
    in_team = CaseloadSnapshot.objects.filter(
        Q(person__memberships__end_date__isnull=True)
        | Q(person__memberships__end_date__gt=F("day")),
        person_id__in=memberships.values("person_id"),
        day__gte=first,
        day__lte=last,
        person__memberships__in=memberships,
        person__memberships__start_date__lte=F("day"),
    )
    counted = dict(
        in_team.order_by()
        .values("person_id")
        .annotate(days=Count("day", distinct=True))
        .values_list("person_id", "days")
    )
    # A person's memberships never overlap (ADR 0002).
    short = [
        pk
        for pk, periods in spans.items()
        if counted.get(pk, 0)
        < sum((last_day - first_day).days + 1 for first_day, last_day in periods)
    ]
    if not short:
        return 0
    stored: dict[int, set[datetime.date]] = defaultdict(set)
    for person_id, day in (
        CaseloadSnapshot.objects.filter(person_id__in=short, day__gte=first, day__lte=last)
        .order_by()
        .values_list("person_id", "day")
    ):
        stored[person_id].add(day)
    missing_days = {
        day
        for pk in short
        for first_day, last_day in spans[pk]
        for day in days_between(first_day, last_day)
        if day not in stored[pk]
    }
    return write_snapshots(sorted(short), missing_days)


def backfill_record(
    first: datetime.date, last: datetime.date, service_ids: list[int] | None = None
) -> SnapshotBackfill:
    """Note a back-fill asked for, before its chunks go to the broker. A
    redelivered request notes nothing new."""
    unfinished = SnapshotBackfill.objects.filter(first=first, last=last, finished_at=None)
    # A JSON field's None in a filter is JSON's null; the column holds SQL's.
    if service_ids is None:
        unfinished = unfinished.filter(service_ids__isnull=True)
    else:
        unfinished = unfinished.filter(service_ids=service_ids)
    return unfinished.first() or SnapshotBackfill.objects.create(
        first=first, last=last, service_ids=service_ids
    )


def finish_backfills(now: datetime.datetime | None = None) -> int:
    """Fill what each back-fill asked for more than BACKFILL_GRACE ago still
    lacks, a chunk at a time, and mark it finished (the every-minute sweep).
    Snapshots already there cost a count per chunk. Returns how many
    back-fills it finished."""
    now = now or timezone.now()
    started = time.monotonic()
    finished = 0
    due = SnapshotBackfill.objects.filter(finished_at=None, requested_at__lte=now - BACKFILL_GRACE)
    for backfill in due:
        for start, end in chunks(backfill.first, backfill.last):
            if time.monotonic() - started > BACKFILL_SWEEP_SECONDS:
                return finished  # the next sweep goes on, the done chunks now cheap
            with transaction.atomic():
                fill_missing_snapshots(start, end, backfill.service_ids)
        backfill.finished_at = timezone.now()
        backfill.save(update_fields=["finished_at"])
        finished += 1
    return finished


def catch_up_snapshots(day: datetime.date, *, window_days: int = CATCH_UP_DAYS) -> int:
    """The day's snapshots, and any missing from the `window_days` before it
    (a day whose jobs never ran, a back-fill chunk lost with its worker), in a
    fixed number of queries whatever the number of people or days."""
    return fill_missing_snapshots(day - datetime.timedelta(days=window_days), day)


def recompute_snapshots(first_days: Mapping[int, datetime.date], last: datetime.date) -> int:
    """Recompute these people's stored snapshots, each from their own day to
    `last`, in a fixed number of queries whatever the number of people or
    days. Every day with stored team totals is written, not only the days
    each person has a snapshot of: someone who joined a team back-dated has
    none of their own yet. (The team totals, a few rows a day, say which
    days were stored more cheaply than every person's snapshots.)"""
    if not first_days:
        return 0
    stored = (
        TeamDay.objects.filter(day__gte=min(first_days.values()), day__lte=last)
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    return write_snapshots(sorted(first_days), stored, from_days=first_days)


def recompute_stale() -> int:
    """Bring stored snapshots up to date after back-dated changes left to the
    job: for each marked person, every stored day from their earliest marked
    day. The marks are deleted in the same transaction as the snapshots are
    written, so a run that fails or whose worker dies leaves them for the
    next run."""
    with transaction.atomic():
        marks = list(
            SnapshotRecompute.objects.select_for_update(skip_locked=True).values_list(
                "pk", "person_id", "from_day"
            )
        )
        if not marks:
            return 0
        earliest: dict[int, datetime.date] = {}
        for _, person_id, day in marks:
            earliest[person_id] = min(day, earliest.get(person_id, day))
        written = recompute_snapshots(earliest, timezone.localdate())
        SnapshotRecompute.objects.filter(pk__in=[pk for pk, _, _ in marks]).delete()
    return written
