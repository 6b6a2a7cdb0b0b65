"""The scheduled jobs over a whole generated council (back-fill, daily
snapshot, 12-week analyses, quarterly review), and the analysis against a
per-person ORM loop and against the bare SQL of its main query."""

from __future__ import annotations

import datetime
import statistics
import time

from django.db import connection

from bench.report import ms, say, timed
from caseload.dates import Quarter
from caseload.models import Allocation, Notification, Person, Service, TeamMembership
from reports.models import CaseloadAnalysis, CaseloadSnapshot, TeamDay
from reports.services.analyses import analyse
from reports.services.reviews import quarterly_review
from reports.services.snapshots import backfill_snapshots, people_in_teams, take_snapshots
from weighting.models import Rating
from weighting.numbers import caseload_numbers


def settle(*tables: str) -> None:
    """VACUUM (ANALYZE) these tables (all, if none named) after a bulk
    change, as autovacuum would soon after on a live system, so that every
    run measures the tables as they settle: with the visibility map set and
    without the dead rows of the benchmark's own deletes. (Some development
    machines run PostgreSQL with autovacuum off.)"""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(map(connection.ops.quote_name, tables)))


def measure_jobs(today: datetime.date) -> None:
    quarter = Quarter.containing(today).previous
    people = people_in_teams(today, today)
    workers = len(people)
    say("### Scheduled jobs over the whole dataset")
    say()
    say("| job | rows | time | per person |")
    say("| --- | ---: | ---: | ---: |")
    # What the pages and the review read: every day from the start of the
    # previous quarter (a back-fill, as after an import).
    first = quarter.start
    if not CaseloadSnapshot.objects.filter(day=first).exists():
        # Service by service, a month at a time, as the Celery tasks do it.
        started = time.perf_counter()
        written = sum(
            backfill_snapshots(first, today, service_ids=[pk])
            for pk in Service.objects.values_list("pk", flat=True)
        )
        seconds = time.perf_counter() - started
        settle(CaseloadSnapshot._meta.db_table, TeamDay._meta.db_table)
        days = (today - first).days + 1
        say(
            f"| back-fill of snapshots, {days} days, service by service | {written:,} | "
            f"{seconds:.1f} s | {ms(seconds / max(written, 1))} per snapshot |"
        )
    CaseloadSnapshot.objects.filter(day=today).delete()
    written, seconds = timed(take_snapshots, today)
    JOBS["snapshot"] = seconds
    say(f"| daily snapshot | {written:,} | {seconds:.2f} s | {ms(seconds / workers)} |")

    everyone = sorted(
        TeamMembership.objects.active_on(today)
        .filter(person__role__in=Person.CASE_HOLDING_ROLES)
        .values_list("team_id", "person_id")
    )
    by_team: dict[int, list[int]] = {}
    for team_id, person_id in everyone:
        by_team.setdefault(team_id, []).append(person_id)
    # Team by team, as the Celery group runs them (here one after another),
    # then everyone in one call.
    CaseloadAnalysis.objects.filter(period_end=today).delete()
    started = time.perf_counter()
    analysed = sum(analyse(ids, today) for ids in by_team.values())
    seconds = time.perf_counter() - started
    say(
        f"| 12-week analyses of every case-holding worker, team by team ({len(by_team)} "
        f"tasks, run one after another) | "
        f"{analysed:,} | {seconds:.2f} s | {ms(seconds / max(analysed, 1))} |"
    )
    CaseloadAnalysis.objects.filter(period_end=today).delete()
    settle(CaseloadAnalysis._meta.db_table, Notification._meta.db_table)
    everyone_ids = [person_id for ids in by_team.values() for person_id in ids]
    started = time.perf_counter()
    analysed = analyse(everyone_ids, today)
    seconds = time.perf_counter() - started
    ANALYSIS["seconds"], ANALYSIS["people"] = seconds, analysed
    EVERYONE[:] = everyone_ids
    say(
        f"| 12-week analyses of every case-holding worker, in one call | "
        f"{analysed:,} | {seconds:.2f} s | {ms(seconds / max(analysed, 1))} |"
    )
    started = time.perf_counter()
    reviews = [quarterly_review(service, quarter, rerun=True) for service in Service.objects.all()]
    seconds = time.perf_counter() - started
    rows = sum(review.rows.count() for review in reviews)
    say(
        f"| quarterly review {quarter.label}, every service ({len(reviews)}) | "
        f"{rows:,} team rows | {seconds:.2f} s | {ms(seconds / workers)} |"
    )
    say()
    JOBS["review"] = seconds


ANALYSIS: dict[str, float] = {}
JOBS: dict[str, float] = {}
EVERYONE: list[int] = []

BARE_SQL = """
WITH weeks AS (
    SELECT (%(start)s::date + 7 * n) AS day FROM generate_series(0, 12) AS n
)
SELECT a.person_id, w.day, count(*) AS cases, sum(c.people_count) AS people,
       sum(r.total) AS rated_load, count(*) FILTER (WHERE r.total IS NULL) AS unrated
FROM weeks w
JOIN caseload_allocation a
  ON a.kind = 'primary' AND a.start_date <= w.day AND (a.end_date IS NULL OR a.end_date > w.day)
JOIN caseload_case c ON c.id = a.case_id
LEFT JOIN LATERAL (
    SELECT total FROM weighting_rating
    WHERE case_id = a.case_id AND rated_on <= w.day
    ORDER BY rated_on DESC, id DESC LIMIT 1
) r ON true
WHERE a.person_id = ANY(%(people)s)
GROUP BY a.person_id, w.day
"""


def naive_analysis(person: Person, weeks: list[datetime.date]) -> list[tuple]:
    """The 13 weekly points of one person as a straightforward loop would
    work them out: each held case, then its latest rating, one at a time."""
    points = []
    for day in weeks:
        load, cases = 0, 0
        held = Allocation.objects.filter(person=person, kind="primary", start_date__lte=day)
        for allocation in held.select_related("case"):
            if allocation.end_date is not None and allocation.end_date <= day:
                continue
            cases += 1
            rating = (
                Rating.objects.filter(case=allocation.case, rated_on__lte=day)
                .order_by("-rated_on", "-pk")
                .first()
            )
            load += rating.total if rating else 6
        numbers = caseload_numbers([person], day)[person.pk]
        points.append((day, cases, load, numbers.capacity))
    return points


def measure_analysis_ratios(today: datetime.date, *, loop_sample: int, ratio_pairs: int) -> None:
    start = today - datetime.timedelta(weeks=12)
    weeks = [start + datetime.timedelta(weeks=n) for n in range(13)]
    people = list(
        Person.objects.filter(
            role__in=Person.CASE_HOLDING_ROLES, memberships__end_date__isnull=True
        ).order_by("pk")
    )
    step = max(1, len(people) // loop_sample)
    sample = people[::step][:loop_sample]
    _, loop_seconds = timed(lambda: [naive_analysis(p, weeks) for p in sample])
    loop_per_person = loop_seconds / len(sample)
    ours_per_person = ANALYSIS["seconds"] / ANALYSIS["people"]

    def bare_sql() -> tuple[float, int]:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BARE_SQL, {"start": start, "people": [p.pk for p in people]})
            rows = cursor.fetchall()
            return time.perf_counter() - started, len(rows)

    # Ours and the bare SQL one straight after the other, in pairs: each
    # pair meets the machine at the same speed (see machine_speed).
    sql_seconds, rows = bare_sql()
    pairs = [(ANALYSIS["seconds"], sql_seconds)]
    for _ in range(ratio_pairs - 1):
        CaseloadAnalysis.objects.filter(period_end=today).delete()
        settle(CaseloadAnalysis._meta.db_table, Notification._meta.db_table)
        _, ours = timed(analyse, EVERYONE, today)
        pairs.append((ours, bare_sql()[0]))
    ratios = sorted(ours / bare for ours, bare in pairs)
    say("### The analysis against a loop and against bare SQL")
    say()
    say("| way | people | time | per person | ours is |")
    say("| --- | ---: | ---: | ---: | ---: |")
    say(
        f"| Caseload's analyses (in one call, written and notified) | {ANALYSIS['people']:,.0f} | "
        f"{ANALYSIS['seconds']:.2f} s | {ms(ours_per_person)} | — |"
    )
    say(
        f"| per-person ORM loop (sample of {len(sample)}) | {len(sample)} | "
        f"{loop_seconds:.2f} s | {ms(loop_per_person)} | "
        f"{loop_per_person / ours_per_person:.0f}× faster |"
    )
    say(
        f"| bare SQL of the main query (13 weekly loads of everyone, {rows:,} rows) | "
        f"{len(people):,} | {sql_seconds:.2f} s | {ms(sql_seconds / len(people))} | "
        f"{ANALYSIS['seconds'] / sql_seconds:.2f}× its time |"
    )
    say()
    say(
        "Ours against the bare SQL, in pairs run one straight after the other: "
        + "; ".join(f"{ours:.2f} s against {bare:.2f} s" for ours, bare in pairs)
        + f". Ratios {', '.join(f'{r:.2f}×' for r in ratios)}; "
        f"median **{statistics.median(ratios):.2f}×**."
    )
    say()
    JOBS["analysis ratio"] = statistics.median(ratios)
