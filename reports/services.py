"""The scheduled analyses: snapshots, 12-week analyses, escalations and
quarterly reviews. Each is computed from the dated records (so it can be run
for any past day), writes under a unique key (so running it twice writes
nothing new), and is called alike by tasks, commands and tests."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, F, Max, Min, Model, Q, QuerySet
from django.utils import timezone

from caseload import resubmission
from caseload.dates import Quarter, add_months, long_date
from caseload.db import among
from caseload.models import Allocation, Case, CaseTeamMove, Person, Service, Team, TeamMembership
from caseload.notifications import Email, notify, notify_many, queue_emails
from reports.models import (
    CapacityIssue,
    CaseloadAnalysis,
    CaseloadSnapshot,
    DailyRun,
    DmtDecision,
    Escalation,
    QuarterlyReview,
    QuarterlyTeamRow,
    SnapshotBackfill,
    SnapshotRecompute,
    TeamDay,
)
from supervision.models import WorkloadConcern, WorkloadView
from supervision.services import analysis_due
from weighting.numbers import (
    OVER_MAXIMUM_BANDS,
    Band,
    CaseloadNumbers,
    TeamTotals,
    caseload_series,
    service_totals,
    stored_team_totals,
)

ZERO = Decimal(0)
ANALYSIS_WEEKS = 12
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


def _fit(row: Model) -> Model:
    """Round each decimal to its column's places (half up, as PostgreSQL
    does) before saving, so the object in hand equals the stored row on
    every database."""
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if isinstance(field, DecimalField) and value is not None:
            places = Decimal(1).scaleb(-field.decimal_places)
            setattr(row, field.attname, Decimal(value).quantize(places, rounding=ROUND_HALF_UP))
    return row


def _today() -> datetime.date:
    return timezone.localdate()


def _days(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


# Snapshots ---------------------------------------------------------------------


def people_in_teams(first: datetime.date, last: datetime.date, service_ids=None) -> list[int]:
    """Everyone in a team at some point from `first` to `last`."""
    memberships = TeamMembership.objects.filter(start_date__lte=last).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=first)
    )
    if service_ids is not None:
        memberships = memberships.filter(team__service_id__in=list(service_ids))
    return sorted(set(memberships.values_list("person_id", flat=True)))


def _snapshot(numbers: CaseloadNumbers, person: Person) -> CaseloadSnapshot:
    return _fit(
        CaseloadSnapshot(
            person_id=numbers.person_id,
            day=numbers.day,
            team_id=numbers.team_id,
            case_holding=person.role in Person.CASE_HOLDING_ROLES,
            fte=person.fte,
            case_count=numbers.case_count,
            people_count=numbers.people_count,
            weighted_load=numbers.weighted_load,
            capacity=numbers.capacity,
            percent=numbers.percent,
            band=numbers.band.value if numbers.band else "",
            unrated_count=numbers.unrated_count,
            provisional_count=numbers.provisional_count,
        )
    )


# Rows per INSERT: PostgreSQL takes up to 65,535 parameters (14 a row).
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
    people = {p.pk: p for p in Person.objects.filter(pk__in=person_ids)}
    series = caseload_series(person_ids, days)
    rows = [
        _snapshot(numbers, people[person_id])
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
    days = _days(first, last)
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
            written += write_snapshots(people, _days(start, end))
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
        for day in _days(first_day, last_day)
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
        written = recompute_snapshots(earliest, _today())
        SnapshotRecompute.objects.filter(pk__in=[pk for pk, _, _ in marks]).delete()
    return written


# 12-week caseload analyses -------------------------------------------------------

# Rows per INSERT: each carries its 13 weekly points as JSON.
ANALYSIS_BATCH = 1000


def last_analysis_days(person_ids: list[int]) -> dict[int, datetime.date]:
    return dict(
        CaseloadAnalysis.objects.filter(person_id__in=person_ids)
        .values("person_id")
        .annotate(last=Max("period_end"))
        .values_list("person_id", "last")
    )


def analyses_due(day: datetime.date) -> dict[int, list[int]]:
    """Case-holding workers in a team on `day` whose last analysis (or, for
    a newcomer, their first day in a team) is 84 days old or more, by team:
    a missed day is caught up by the next sweep."""
    members = dict(
        TeamMembership.objects.active_on(day)
        .filter(person__role__in=Person.CASE_HOLDING_ROLES)
        .values_list("person_id", "team_id")
    )
    joined = dict(
        TeamMembership.objects.filter(person_id__in=members)
        .values("person_id")
        .annotate(first=Min("start_date"))
        .values_list("person_id", "first")
    )
    last = last_analysis_days(list(members))
    due: dict[int, list[int]] = defaultdict(list)
    for person_id, team_id in sorted(members.items()):
        if analysis_due(last.get(person_id, joined[person_id]), day):
            due[team_id].append(person_id)
    return dict(due)


def analyse(person_ids: list[int], day: datetime.date, *, notify_people: bool = True) -> int:
    """The 12-week caseload analysis of each of these workers to `day`; an
    analysis already stored for that day is left as it is. Returns how many
    were written."""
    done = set(
        CaseloadAnalysis.objects.filter(
            person_id__in=among(person_ids), period_end=day
        ).values_list("person_id", flat=True)
    )
    person_ids = [pk for pk in person_ids if pk not in done]
    if not person_ids:
        return 0
    start = day - datetime.timedelta(weeks=ANALYSIS_WEEKS)
    weeks = [start + datetime.timedelta(weeks=n) for n in range(ANALYSIS_WEEKS + 1)]
    series = caseload_series(person_ids, weeks)

    people = among(person_ids)
    allocations = Allocation.objects.primary().filter(person_id__in=people)
    new_cases = _count_by_person(allocations.filter(start_date__gt=start, start_date__lte=day))
    closed_cases = _count_by_person(
        allocations.filter(
            case__closed_on__gt=start, case__closed_on__lte=day, end_date=F("case__closed_on")
        )
    )
    views: dict[int, list[dict]] = defaultdict(list)
    for view in WorkloadView.objects.filter(
        person_id__in=people, recorded_at__date__gt=start, recorded_at__date__lte=day
    ).order_by("recorded_at"):
        views[view.person_id].append(
            {"day": view.recorded_at.date().isoformat(), "view": view.get_scale_display()}
        )

    analyses = []
    for person_id in person_ids:
        points = [series[week][person_id] for week in weeks]
        loads = [p.weighted_load for p in points]
        percents = [p.percent for p in points if p.percent is not None]
        analyses.append(
            _fit(
                CaseloadAnalysis(
                    person_id=person_id,
                    period_start=start,
                    period_end=day,
                    weeks=[
                        {
                            "day": p.day.isoformat(),
                            "cases": p.case_count,
                            "people": p.people_count,
                            "load": str(p.weighted_load),
                            "capacity": str(p.capacity),
                            "percent": None if p.percent is None else str(p.percent),
                            "band": p.band.value if p.band else "",
                            # As pages show them on the day, so the record never disagrees.
                            "shown": p.percent_display,
                            "band_label": p.band_label,
                        }
                        for p in points
                    ],
                    average_load=sum(loads, ZERO) / len(loads),
                    peak_load=max(loads),
                    peak_percent=max(percents) if percents else None,
                    weeks_over_maximum=sum(1 for p in points if p.over_maximum),
                    new_cases=new_cases.get(person_id, 0),
                    closed_cases=closed_cases.get(person_id, 0),
                    # The ratings of the cases held on the day, counted with
                    # what they hold (weighting.numbers.HELD_SQL).
                    unrated_cases=points[-1].unrated_count,
                    stale_ratings=points[-1].stale_count,
                    anticipated_overdue=points[-1].overdue_count,
                    views=views[person_id],
                )
            )
        )
    with transaction.atomic():
        # A concurrent run for the same day breaks the unique key: this one
        # rolls back and its retry finds the analyses done.
        created = CaseloadAnalysis.objects.bulk_create(analyses, batch_size=ANALYSIS_BATCH)
        if notify_people:
            # Read as values: 66,000 emails nationally, from 33,000 people.
            on = long_date(day)
            emails = []
            for pk, name, address, supervisor_id, supervisor_address in Person.objects.filter(
                pk__in=people
            ).values_list(
                "pk", "full_name", "user__email", "supervisor_id", "supervisor__user__email"
            ):
                subject = f"The 12-week caseload analysis of {name} is ready"
                body = (
                    f"The caseload analysis of {name} to {on} is ready for the next "
                    "supervision. See it in Caseload.\n"
                )
                emails.append(Email(pk, address, subject, body))
                if supervisor_id is not None:
                    emails.append(Email(supervisor_id, supervisor_address, subject, body))
            queue_emails(emails)
    return len(created)


def _count_by_person(allocations) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return dict(
        allocations.values("person_id").annotate(n=Count("pk")).values_list("person_id", "n")
    )


def run_must_start_by(day: datetime.date) -> datetime.date:
    """The latest start day S of a run over the maximum that, still going on
    `day`, makes it "more than three months": `day` is after S + 3 months."""
    start = add_months(day, -3)
    while add_months(start, 3) >= day:
        start -= datetime.timedelta(days=1)
    return start


def _run_starts(person_ids: set[int], day: datetime.date) -> dict[int, datetime.date]:
    """For each person, the first day of their run over the maximum up to
    `day`, by the stored snapshots: the day after the last one not over, or
    the first one stored."""
    stored = CaseloadSnapshot.objects.filter(person_id__in=person_ids, day__lte=day)
    last_not_over = dict(
        stored.exclude(band__in=OVER_MAXIMUM_BANDS)
        .values("person_id")
        .annotate(last=Max("day"))
        .values_list("person_id", "last")
    )
    first_stored = dict(
        stored.values("person_id").annotate(first=Min("day")).values_list("person_id", "first")
    )
    return {
        person_id: (
            last_not_over[person_id] + datetime.timedelta(days=1)
            if person_id in last_not_over
            else first_stored[person_id]
        )
        for person_id in person_ids
    }


def over_maximum_too_long(day: datetime.date) -> dict[int, datetime.date]:
    """Case-holding workers over the maximum (capacity % > 100) on every day
    from a start day S to `day`, where `day` is after S plus three calendar
    months (DESIGN.md), with the first day of their run. Any snapshot missing
    from the days that decide it is computed first, so the answer never
    depends on the scheduler having run every day."""
    workers = list(
        Person.objects.filter(
            role__in=Person.CASE_HOLDING_ROLES,
            pk__in=TeamMembership.objects.active_on(day).values("person_id"),
        ).values_list("pk", flat=True)
    )
    if CaseloadSnapshot.objects.filter(person_id__in=workers, day=day).count() < len(workers):
        write_snapshots(workers, [day])
    candidates = set(
        CaseloadSnapshot.objects.filter(
            person_id__in=workers, day=day, band__in=OVER_MAXIMUM_BANDS
        ).values_list("person_id", flat=True)
    )
    if not candidates:
        return {}
    window = _days(run_must_start_by(day), day)
    stored: dict[int, int] = defaultdict(int)
    for person_id in CaseloadSnapshot.objects.filter(
        person_id__in=candidates, day__gte=window[0], day__lte=day
    ).values_list("person_id", flat=True):
        stored[person_id] += 1
    missing = [pk for pk in candidates if stored[pk] < len(window)]
    if missing:
        write_snapshots(missing, window)
    not_over = set(
        CaseloadSnapshot.objects.filter(person_id__in=candidates, day__gte=window[0], day__lte=day)
        .exclude(band__in=OVER_MAXIMUM_BANDS)
        .values_list("person_id", flat=True)
    )
    return _run_starts(candidates - not_over, day)


def escalate(day: datetime.date) -> int:
    """Escalate to the service's senior managers (and tell the supervisor)
    everyone over the maximum for more than three months on `day`. Each run
    over the maximum is escalated once, and a person has at most one open
    escalation. Returns how many were escalated."""
    due = over_maximum_too_long(day)
    if not due:
        return 0
    known = set(
        Escalation.objects.filter(person_id__in=due)
        .filter(Q(status=Escalation.Status.OPEN) | Q(over_since__in=set(due.values())))
        .values_list("person_id", "over_since", "status")
    )
    open_for = {person_id for person_id, _, status in known if status == "open"}
    recorded = {(person_id, since) for person_id, since, _ in known}
    people = Person.objects.filter(pk__in=due).select_related("service", "supervisor__user")
    senior: dict[int, list[Person]] = defaultdict(list)
    for manager in Person.objects.filter(
        role=Person.Role.SENIOR_MANAGER, service_id__in={p.service_id for p in people}
    ).select_related("user"):
        senior[manager.service_id].append(manager)
    created = 0
    for person in people:
        since = due[person.pk]
        if person.pk in open_for or (person.pk, since) in recorded:
            continue
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    person=person, service=person.service, over_since=since, escalated_on=day
                )
                _notify_escalation(person, since, senior[person.service_id])
        except IntegrityError:
            continue  # a concurrent run escalated them just now
        created += 1
    return created


def _notify_escalation(person: Person, since: datetime.date, senior: list[Person]) -> None:
    for recipient in {*senior, person.supervisor} - {None}:
        notify(
            recipient=recipient,
            subject=f"{person} has been over the maximum for more than three months",
            body=(
                f"{person} has been over the maximum workload every day since "
                f"{long_date(since)}. The policy asks senior managers to be told and "
                "to try to put it right. See the escalations in Caseload.\n"
            ),
        )


def escalation_assess(
    *, escalation: Escalation, work_ongoing: bool, assessment: str, by: Person
) -> Escalation:
    """The manager's (and worker's) assessment of whether the work will be ongoing."""
    if not assessment.strip():
        from caseload.services import RuleBroken

        raise RuleBroken("Say what you and the worker assessed.")
    escalation.work_ongoing = work_ongoing
    escalation.assessment = assessment.strip()
    escalation.assessed_by = by
    escalation.save(update_fields=["work_ongoing", "assessment", "assessed_by"])
    return escalation


def escalation_resolve(*, escalation: Escalation, outcome: str, by: Person) -> Escalation:
    """Senior managers record what they did; the escalation is resolved."""
    from caseload.services import RuleBroken

    if not outcome.strip():
        raise RuleBroken("Say what the senior managers did.")
    with transaction.atomic():
        escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
        if escalation.status != Escalation.Status.OPEN:
            raise RuleBroken("This escalation is already resolved.")
        escalation.status = Escalation.Status.RESOLVED
        escalation.outcome = outcome.strip()
        escalation.resolved_by = by
        escalation.resolved_on = _today()
        escalation.save(update_fields=["status", "outcome", "resolved_by", "resolved_on"])
    return escalation


# Quarterly reviews ----------------------------------------------------------------


def _mean(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, ZERO) / len(present) if present else None


def _case_teams_on(day: datetime.date, cases: list[dict], among: QuerySet) -> dict[int, int]:
    """Each case's team on `day` (`cases`, the rows of the queryset `among`):
    its team now, unless it moved after `day`; then the team its first move
    after `day` took it from."""
    first_move_after: dict[int, int] = {}
    for case_id, from_team_id in (
        CaseTeamMove.objects.filter(case_id__in=among.values("pk"), moved_on__gt=day)
        .order_by("-moved_on", "-pk")
        .values_list("case_id", "from_team_id")
    ):
        first_move_after[case_id] = from_team_id  # the earliest comes last and wins
    return {case["pk"]: first_move_after.get(case["pk"], case["team_id"]) for case in cases}


def quarterly_review(service: Service, quarter: Quarter, *, rerun: bool = False) -> QuarterlyReview:
    """The service's review of `quarter`, taken at its last day with the
    quarter's daily mean beside it. Stored once; a re-run is a new version and
    the earlier ones are kept."""
    existing = (
        QuarterlyReview.objects.filter(service=service, quarter_end=quarter.end)
        .order_by("-version")
        .first()
    )
    if existing is not None and not rerun:
        return existing
    end = quarter.end
    days = quarter.days()
    teams = list(Team.objects.filter(service=service).order_by("name"))
    team_ids = {t.pk for t in teams}

    # Make sure every day of the quarter has its snapshots.
    fill_missing_snapshots(quarter.start, end, [service.pk])
    people = people_in_teams(quarter.start, end, [service.pk])

    # The last day from its snapshots (with the bands); every day from the
    # teams' stored daily totals.
    at_end = {
        team_id: totals
        for (team_id,), totals in stored_team_totals(
            CaseloadSnapshot.objects.filter(team_id__in=team_ids, day=end)
        ).items()
    }
    daily: dict[tuple[int, datetime.date], TeamTotals] = {
        (row["team_id"], row["day"]): TeamTotals(
            case_holding_fte=row["case_holding_fte"],
            cases=row["cases"],
            people=row["people"],
            weighted_load=row["weighted_load"],
        )
        for row in TeamDay.objects.filter(
            team_id__in=team_ids, day__gte=quarter.start, day__lte=end
        ).values("team_id", "day", "case_holding_fte", "cases", "people", "weighted_load")
    }
    nothing = TeamTotals()

    # Unallocated cases on the last day, in the team they were in that day.
    open_on_end = Case.objects.filter(service=service, opened_on__lte=end).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gt=end)
    )
    open_cases = list(open_on_end.values("pk", "team_id", "opened_on"))
    # The open cases as a subquery, not a list of thousands of ids: a
    # semi-join, 6 times quicker for a council of 4,000 open cases. One
    # pass over their primary allocations: held on the day, and the last
    # day one ended by then (an allocation ending by then started by then).
    held: set[int] = set()
    last_end: dict[int, datetime.date] = {}
    for case_id, held_on_end, last in (
        Allocation.objects.primary()
        .filter(case_id__in=open_on_end.values("pk"), start_date__lte=end)
        .values("case_id")
        .annotate(
            held=Count("pk", filter=Q(end_date__isnull=True) | Q(end_date__gt=end)),
            last=Max("end_date", filter=Q(end_date__lte=end)),
        )
        .order_by()
        .values_list("case_id", "held", "last")
    ):
        if held_on_end:
            held.add(case_id)
        if last is not None:
            last_end[case_id] = last
    case_teams = _case_teams_on(end, open_cases, open_on_end)
    waits: dict[int, list[int]] = defaultdict(list)
    for case in open_cases:
        if case["pk"] in held:
            continue
        since = max(case["opened_on"], last_end.get(case["pk"], case["opened_on"]))
        waits[case_teams[case["pk"]]].append((end - since).days)

    end_teams = {
        row["person_id"]: row["team_id"]
        for row in CaseloadSnapshot.objects.filter(person_id__in=people, day=end).values(
            "person_id", "team_id"
        )
    }
    escalations: dict[int, int] = defaultdict(int)
    for person_id in (
        Escalation.objects.filter(service=service, escalated_on__lte=end)
        .filter(Q(resolved_on__isnull=True) | Q(resolved_on__gt=end))
        .values_list("person_id", flat=True)
    ):
        escalations[end_teams.get(person_id)] += 1
    concerns: dict[int, int] = defaultdict(int)
    overdue_concerns: dict[int, int] = defaultdict(int)
    for person_id, respond_by in (
        WorkloadConcern.objects.filter(person_id__in=people, raised_at__date__lte=end)
        .filter(Q(responded_at__isnull=True) | Q(responded_at__date__gt=end))
        .values_list("person_id", "respond_by")
    ):
        team_id = end_teams.get(person_id)
        concerns[team_id] += 1
        overdue_concerns[team_id] += respond_by < end

    rows = []
    for team in teams:
        now = at_end.get(team.pk, nothing)
        means = [daily.get((team.pk, day), nothing) for day in days]
        rows.append(
            _fit(
                QuarterlyTeamRow(
                    team=team,
                    aspiration=team.aspiration,
                    case_holding_fte=now.case_holding_fte,
                    cases=now.cases,
                    people=now.people,
                    weighted_load=now.weighted_load,
                    cases_per_fte=now.cases_per_fte,
                    people_per_fte=now.people_per_fte,
                    load_per_fte=now.load_per_fte,
                    mean_cases_per_fte=_mean([m.cases_per_fte for m in means]),
                    mean_people_per_fte=_mean([m.people_per_fte for m in means]),
                    mean_load_per_fte=_mean([m.load_per_fte for m in means]),
                    unallocated=len(waits[team.pk]),
                    longest_wait_days=max(waits[team.pk], default=None),
                    over_maximum=now.over_maximum,
                    open_escalations=escalations[team.pk],
                    open_concerns=concerns[team.pk],
                    overdue_concerns=overdue_concerns[team.pk],
                    band_blue=now.in_band(Band.BLUE),
                    band_green=now.in_band(Band.GREEN),
                    band_amber=now.in_band(Band.AMBER),
                    band_red=now.in_band(Band.RED),
                    needs_agreement=now.above_aspiration(team.aspiration),
                )
            )
        )
    service_now = service_totals(at_end.values())
    service_means = [
        service_totals(daily.get((team.pk, day), nothing) for team in teams) for day in days
    ]
    all_waits = [w for team_waits in waits.values() for w in team_waits]
    with transaction.atomic():
        review = _fit(
            QuarterlyReview(
                service=service,
                quarter_start=quarter.start,
                quarter_end=end,
                version=(existing.version + 1) if existing else 1,
                case_holding_fte=service_now.case_holding_fte,
                cases_per_fte=service_now.cases_per_fte,
                people_per_fte=service_now.people_per_fte,
                load_per_fte=service_now.load_per_fte,
                mean_people_per_fte=_mean([m.people_per_fte for m in service_means]),
                unallocated=len(all_waits),
                longest_wait_days=max(all_waits, default=None),
                over_maximum=sum(r.over_maximum for r in rows),
                open_escalations=sum(escalations.values()),
                open_concerns=sum(concerns.values()),
            )
        )
        review.save()
        for row in rows:
            row.review = review
        QuarterlyTeamRow.objects.bulk_create(rows)
    return review


def reviews_missing(day: datetime.date) -> tuple[Quarter, list[Service]]:
    """The quarter just ended and the services without its review yet (the
    first day of a quarter takes them; later days catch up a missed one)."""
    quarter = Quarter.containing(day).previous
    return quarter, list(Service.objects.exclude(reviews__quarter_end=quarter.end))


# The day's jobs -------------------------------------------------------------------


def _analyse_teams(due: dict[int, list[int]], day: datetime.date) -> None:
    for person_ids in due.values():
        analyse(person_ids, day)


def _review(service: Service, quarter: Quarter) -> None:
    quarterly_review(service, quarter)


def daily_jobs(
    day: datetime.date,
    *,
    analyse_teams: Callable[[dict[int, list[int]], datetime.date], None] = _analyse_teams,
    review: Callable[[Service, Quarter], None] = _review,
) -> dict[str, int]:
    """The day's jobs in order: snapshots (filling any day missing from the
    month before), the recompute of back-dated changes, escalations, the
    analyses due and any quarterly review due; each run is recorded as a
    `DailyRun`. The Celery task passes functions that fan the analyses and
    reviews out to workers; commands run them here."""
    DailyRun.objects.update_or_create(
        day=day, defaults={"started_at": timezone.now(), "finished_at": None}
    )
    written = catch_up_snapshots(day)
    recomputed = recompute_stale()
    escalated = escalate(day)
    due = analyses_due(day)
    analyse_teams(due, day)
    quarter, services = reviews_missing(day)
    for service in services:
        review(service, quarter)
    resubmission.forget_old()
    DailyRun.objects.filter(day=day).update(finished_at=timezone.now())
    return {
        "snapshots": written,
        "recomputed": recomputed,
        "escalations": escalated,
        "analyses": sum(len(ids) for ids in due.values()),
        "reviews": len(services),
    }


def day_due(now: datetime.datetime) -> datetime.date:
    """The last day whose jobs were due by `now` (at DAILY_JOBS_AT each day)."""
    local = timezone.localtime(now)
    if local.time() >= settings.DAILY_JOBS_AT:
        return local.date()
    return local.date() - datetime.timedelta(days=1)


def day_missed(now: datetime.datetime, *, running_for: datetime.timedelta) -> datetime.date | None:
    """The day whose jobs were due by `now` if they have not been done and are
    not being done: never begun, or begun more than `running_for` ago (the
    longest they may run) and not ended (their worker died). The day is
    marked as begun now, so that it is handed out once."""
    day = day_due(now)
    with transaction.atomic():
        run = DailyRun.objects.select_for_update().filter(day=day).first()
        if run is not None and (run.finished_at or run.started_at > now - running_for):
            return None
        DailyRun.objects.update_or_create(day=day, defaults={"started_at": now})
    return day


# DMT decisions and the agenda -----------------------------------------------------


def _senior_managers(service: Service) -> list[Person]:
    return list(
        Person.objects.filter(service=service, role=Person.Role.SENIOR_MANAGER).select_related(
            "user"
        )
    )


def capacity_issue_raise(*, team: Team, by: Person, summary: str, detail: str) -> CapacityIssue:
    """A team manager puts a team capacity issue on the DMT agenda; the
    service's senior managers are told."""
    from caseload.services import RuleBroken

    if not summary.strip() or not detail.strip():
        raise RuleBroken("Say what the issue is and what the team needs from DMT.")
    with transaction.atomic():
        issue = CapacityIssue.objects.create(
            service=team.service,
            team=team,
            raised_by=by,
            raised_on=_today(),
            summary=summary.strip(),
            detail=detail.strip(),
        )
        notify_many(
            [
                (
                    senior,
                    f"{team.name} has put a capacity issue on the DMT agenda",
                    f"{by} raised it on {long_date(issue.raised_on)}: {issue.summary}\n"
                    "It stays on the DMT agenda in Caseload until a decision is recorded.\n",
                )
                for senior in _senior_managers(team.service)
            ]
        )
    return issue


def decision_record(
    *,
    team: Team,
    quarter: Quarter,
    kind: str,
    reason: str,
    actions: str,
    review_by: datetime.date,
    meeting_on: datetime.date,
    minute_reference: str,
    capacity_issue: CapacityIssue | None,
    by: Person,
) -> DmtDecision:
    """Record a DMT decision about a team for a quarter, as minuted. An agreed
    deviation clears the team's flag from the quarter's start to its review
    date. The team's managers are told."""
    from caseload.services import RuleBroken

    today = _today()
    if meeting_on > today:
        raise RuleBroken("The meeting date cannot be in the future.")
    if review_by <= meeting_on:
        raise RuleBroken("The review date must be after the meeting.")
    if kind == DmtDecision.Kind.AGREED and not reason.strip():
        raise RuleBroken("Say why DMT agreed the team may hold above its aspiration.")
    if kind == DmtDecision.Kind.ACTIONS and not actions.strip():
        raise RuleBroken("Say what actions DMT agreed.")
    if capacity_issue is not None and capacity_issue.team_id != team.pk:
        raise RuleBroken("That capacity issue was raised by another team.")
    with transaction.atomic():
        if capacity_issue is not None:
            capacity_issue = CapacityIssue.objects.select_for_update().get(pk=capacity_issue.pk)
            if capacity_issue.decisions.exists():
                raise RuleBroken("A decision already answers that capacity issue.")
        decision = DmtDecision.objects.create(
            service=team.service,
            team=team,
            quarter_start=quarter.start,
            kind=kind,
            reason=reason.strip(),
            actions=actions.strip(),
            review_by=review_by,
            meeting_on=meeting_on,
            minute_reference=minute_reference.strip(),
            capacity_issue=capacity_issue,
            recorded_by=by,
        )
        notify_many(
            [
                (
                    manager,
                    f"DMT decision for {team.name}: {decision.get_kind_display().lower()}",
                    f"DMT met on {long_date(meeting_on)} (minute {decision.minute_reference}) "
                    f"about {quarter.label}.\n"
                    + (f"Reason: {decision.reason}\n" if decision.reason else "")
                    + (f"Actions: {decision.actions}\n" if decision.actions else "")
                    + f"To be reviewed by {long_date(review_by)}.\n",
                )
                for manager in team.managers.select_related("user")
            ]
        )
    return decision
