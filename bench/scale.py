"""Benchmark: Caseload at a large council and at national scale, on PostgreSQL.

    make bench-large        # 600 workers, 90 teams, 12,000 open cases, 2 years
    make bench-national     # 33,000 workers, 2,000 teams, 550,000 open cases, 1 year
    python bench/scale.py --scale large [--database caseload_large] [--fresh]

Each scale has a database of its own on the PostgreSQL of DATABASE_URL
(caseload_large, caseload_national), generated once by `generate_dataset`
and reused. The script then measures, and prints as Markdown for
docs/benchmarks.md:

- the scheduled jobs over the whole dataset: the back-fill of the snapshots
  the pages and the review read, the daily snapshot, every 12-week analysis,
  the quarterly review of every service (time, and time per person);
- the analysis against a straightforward per-person ORM loop (on a sample of
  people, per person) and against the bare SQL of its main query;
- the team page, my-caseload, the service overview and the allocation POST
  in-process: queries, and server time p50/p95 over repeated requests;
- the team page under load: gunicorn on loopback, wrk with 10 connections.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/caseload")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("The scale benchmark runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Caseload at scale, on PostgreSQL.")
    parser.add_argument("--scale", choices=["small", "large", "national"], default="large")
    parser.add_argument("--database", help="database name (default caseload_<scale>)")
    parser.add_argument("--fresh", action="store_true", help="drop and generate the data again")
    parser.add_argument("--requests", type=int, default=40, help="requests per page timed")
    parser.add_argument("--loop-sample", type=int, default=40, help="people in the loop sample")
    parser.add_argument(
        "--ratio-pairs", type=int, default=3, help="runs of the analysis and its bare SQL, paired"
    )
    parser.add_argument("--load-seconds", type=int, default=20)
    parser.add_argument("--skip-load", action="store_true", help="no gunicorn and wrk")
    parser.add_argument("--skip-jobs", action="store_true", help="pages only")
    return parser.parse_args()


ARGS = parse()
DATABASE = ARGS.database or f"caseload_{ARGS.scale}"
os.environ["DATABASE_URL"] = database_url(DATABASE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")
# Measured as in production: no debug query log, no template debugging.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "benchmark-only-" + "x" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Tasks go to a broker, as in production, rather than running inside the
# request or job that queues them (no worker takes them: the e-mails a job
# queues are not part of its time). A database of Redis of its own, emptied.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from caseload import changes  # noqa: E402
from caseload.dates import Quarter  # noqa: E402
from caseload.models import (  # noqa: E402
    Allocation,
    Case,
    Notification,
    Person,
    Service,
    Team,
    TeamMembership,
)
from caseload.processes import tune_garbage_collection  # noqa: E402
from reports import services, tasks  # noqa: E402
from reports.models import CaseloadAnalysis, CaseloadSnapshot, TeamDay  # noqa: E402
from weighting.models import Rating  # noqa: E402
from weighting.numbers import caseload_numbers, project_allocation  # noqa: E402

settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LINES: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# The data ------------------------------------------------------------------------------


def ensure_database() -> None:
    admin = database_url("postgres")
    import psycopg2

    server = psycopg2.connect(admin)
    server.autocommit = True  # CREATE and DROP DATABASE refuse a transaction
    try:
        with server.cursor() as cursor:
            if ARGS.fresh:
                cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        server.close()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if not Person.objects.exists():
        say(f"Generating the {ARGS.scale} council into {DATABASE}…")
        call_command("generate_dataset", scale=ARGS.scale, allow_production=True)


def settle(*tables: str) -> None:
    """VACUUM (ANALYZE) these tables (all, if none named) after a bulk
    change, as autovacuum would soon after on a live system, so that every
    run measures the tables as they settle: with the visibility map set and
    without the dead rows of the benchmark's own deletes. (Some development
    machines run PostgreSQL with autovacuum off.)"""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) " + ", ".join(map(connection.ops.quote_name, tables)))


def describe_data() -> None:
    today = timezone.localdate()
    open_cases = Case.objects.filter(status=Case.Status.OPEN).count()
    say(f"## {ARGS.scale.capitalize()} council")
    say()
    say(
        f"{Service.objects.count():,} services, {Team.objects.count():,} teams, "
        f"{TeamMembership.objects.active_on(today).count():,} people in teams, "
        f"{Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES).count():,} "
        f"case-holding workers; {open_cases:,} open cases of {Case.objects.count():,}; "
        f"{Allocation.objects.count():,} allocations; {Rating.objects.count():,} ratings."
    )
    say()


# The jobs ----------------------------------------------------------------------------------


def measure_jobs(today: datetime.date) -> None:
    quarter = Quarter.containing(today).previous
    people = services.people_in_teams(today, today)
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
            services.backfill_snapshots(first, today, service_ids=[pk])
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
    written, seconds = timed(services.take_snapshots, today)
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
    analysed = sum(services.analyse(ids, today) for ids in by_team.values())
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
    analysed = services.analyse(everyone_ids, today)
    seconds = time.perf_counter() - started
    ANALYSIS["seconds"], ANALYSIS["people"] = seconds, analysed
    EVERYONE[:] = everyone_ids
    say(
        f"| 12-week analyses of every case-holding worker, in one call | "
        f"{analysed:,} | {seconds:.2f} s | {ms(seconds / max(analysed, 1))} |"
    )
    started = time.perf_counter()
    reviews = [
        services.quarterly_review(service, quarter, rerun=True) for service in Service.objects.all()
    ]
    seconds = time.perf_counter() - started
    rows = sum(review.rows.count() for review in reviews)
    say(
        f"| quarterly review {quarter.label}, every service ({len(reviews)}) | "
        f"{rows:,} team rows | {seconds:.2f} s | {ms(seconds / workers)} |"
    )
    # After the daily jobs: each service's overview worked out and kept for
    # the day's first view (a task per service; here one after another).
    changes.forget()
    service_ids = list(Service.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    for service_id in service_ids:
        tasks.warm_overview(service_id, today.isoformat())
    seconds = time.perf_counter() - started
    say(
        f"| the day's overviews worked out and kept, every service ({len(service_ids)}; "
        f"a task each, run one after another) | {Team.objects.count():,} teams | "
        f"{seconds:.2f} s | {ms(seconds / workers)} |"
    )
    # Every minute: each overview's parts looked at, and worked out again
    # where a change threw them away (here in the process that kept them, as
    # the worker does): with nothing changed, then after a change to a
    # person's hours, which reaches their teams, to their name, which reaches
    # their teams and the DMT's agenda, and to the services' bands, which
    # reaches every team (ADR 0014).
    someone = Person.objects.filter(memberships__isnull=False).order_by("pk").first()

    def renamed() -> None:  # and named as before: each a change
        for name in (f"{someone.full_name} ", someone.full_name):
            Person.objects.filter(pk=someone.pk).update(full_name=name)

    for since, change in (
        ("nothing changed", None),
        (
            "after a change to one person's hours (their team's position worked out again)",
            lambda: Person.objects.filter(pk=someone.pk).update(fte=F("fte")),
        ),
        (
            "after a change to one person's name (their team's position and the DMT's "
            "agenda worked out again)",
            renamed,
        ),
        (
            "after a change to the services' bands (every team's position worked out again)",
            lambda: Service.objects.update(band_red_from=F("band_red_from")),
        ),
    ):
        if change is not None:
            change()
        _, seconds = timed(tasks.keep_overviews)
        say(
            f"| the minute's look at every overview, {since} | {len(service_ids)} services | "
            f"{seconds:.2f} s | {ms(seconds / workers)} |"
        )
    say()


ANALYSIS: dict[str, float] = {}
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


def measure_analysis_ratios(today: datetime.date) -> None:
    start = today - datetime.timedelta(weeks=12)
    weeks = [start + datetime.timedelta(weeks=n) for n in range(13)]
    people = list(
        Person.objects.filter(
            role__in=Person.CASE_HOLDING_ROLES, memberships__end_date__isnull=True
        ).order_by("pk")
    )
    step = max(1, len(people) // ARGS.loop_sample)
    sample = people[::step][: ARGS.loop_sample]
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
    for _ in range(ARGS.ratio_pairs - 1):
        CaseloadAnalysis.objects.filter(period_end=today).delete()
        settle(CaseloadAnalysis._meta.db_table, Notification._meta.db_table)
        _, ours = timed(services.analyse, EVERYONE, today)
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


# The pages ---------------------------------------------------------------------------------


def signed_in(person: Person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def time_page(
    client: Client, url: str, *, kept: bool = False, after: Callable[[], None] | None = None
) -> tuple[int, list[float]]:
    """Queries and times of `url`: worked out afresh each time (nothing kept,
    in memory or in the database: after a change that reaches every part),
    with `after`, the first view after that change (committed, not timed),
    or, with `kept`, straight after a view (nothing changed since)."""
    for _ in range(3):
        if client.get(url).status_code != 200:
            raise SystemExit(f"{url} did not answer 200")

    def prepare() -> None:
        if after is not None:
            after()
        elif not kept:
            changes.forget()

    prepare()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    count = len(queries)  # now: the log is emptied at the start of each request
    times = []
    for _ in range(ARGS.requests):
        prepare()
        _, seconds = timed(client.get, url)
        times.append(seconds)
    return count, times


def one_team_changes(service_id: int) -> Callable[[], None]:
    """A change that reaches one team, a different team each time: an open
    allocation written again (as its end, a transfer or a rating of its case
    would be noted), committed."""
    first_held: dict[int, int] = {}
    for row in (
        Allocation.objects.primary()
        .filter(end_date__isnull=True, case__service_id=service_id)
        .order_by("pk")
        .values("pk", "case__team_id")
    ):
        first_held.setdefault(row["case__team_id"], row["pk"])
    allocations = itertools.cycle(first_held.values())

    def change() -> None:
        Allocation.objects.filter(pk=next(allocations)).update(reason=F("reason"))

    return change


def first_member_of_each_team(service_id: int) -> list[int]:
    """One person of each of the service's teams, each team once."""
    return list(
        dict(
            TeamMembership.objects.filter(team__service_id=service_id, end_date__isnull=True)
            .order_by("-person_id")  # the first of each team's, read last
            .values_list("team_id", "person_id")
        ).values()
    )


def one_persons_hours_change(service_id: int) -> Callable[[], None]:
    """A change to one person's hours (written again), a person of a
    different team each time: it reaches their teams (ADR 0014)."""
    people = itertools.cycle(first_member_of_each_team(service_id))

    def change() -> None:
        Person.objects.filter(pk=next(people)).update(fte=F("fte"))

    return change


def one_persons_name_change(service_id: int) -> Callable[[], None]:
    """A change to one person's name, a person of a different team each time
    (a space added, then taken off again): it reaches their teams and every
    page that names them (ADR 0014)."""
    members = first_member_of_each_team(service_id)
    people = itertools.cycle(members)
    names = dict(Person.objects.filter(pk__in=members).values_list("pk", "full_name"))
    renamed: set[int] = set()

    def change() -> None:
        pk = next(people)
        name = names[pk] if pk in renamed else f"{names[pk]} "
        Person.objects.filter(pk=pk).update(full_name=name)
        renamed.symmetric_difference_update({pk})

    return change


def principals(today: datetime.date) -> dict:
    sizes = {
        team_id: count
        for team_id, count in TeamMembership.objects.active_on(today)
        .values_list("team_id")
        .annotate(n=django.db.models.Count("pk"))
        .values_list("team_id", "n")
    }
    team = Team.objects.get(pk=max(sizes, key=lambda pk: (sizes[pk], -pk)))
    manager = team.managers.select_related("user").first()
    worker = (
        Person.objects.filter(memberships__team=team, memberships__end_date__isnull=True)
        .filter(role=Person.Role.SOCIAL_WORKER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    senior = (
        Person.objects.filter(service=team.service, role=Person.Role.SENIOR_MANAGER)
        .select_related("user")
        .first()
    )
    return {"team": team, "manager": manager, "worker": worker, "senior": senior}


def allocation_posts(today: datetime.date) -> list[float]:
    """New cases, unrated, each allocated to the worker of its team with the
    most room, by its team manager (what an allocation meeting does)."""
    teams = list(Team.objects.filter(managers__isnull=False).order_by("pk")[: ARGS.requests])
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    waiting = Case.objects.bulk_create(  # one more: the first is a warm-up
        Case(
            service_id=teams[n % len(teams)].service_id,
            team=teams[n % len(teams)],
            reference=f"B{stamp}{n:03d}",
            label=f"Bench family {n}",
            case_type=Case.Type.CHILD_IN_NEED,
            opened_on=today,
        )
        for n in range(ARGS.requests + 1)
    )
    times = []
    clients: dict[int, Client] = {}
    for n, case in enumerate(waiting):
        manager = case.team.managers.select_related("user").first()
        if manager.pk not in clients:
            # A manager's first request loads the middleware, once per test
            # client (a web server does it once per worker): not timed.
            clients[manager.pk] = signed_in(manager)
            clients[manager.pk].get(reverse("team_detail", args=[case.team_id]))
        client = clients[manager.pk]
        workers = Person.objects.filter(
            memberships__team=case.team,
            memberships__end_date__isnull=True,
            role__in=Person.CASE_HOLDING_ROLES,
        )
        projections = project_allocation(case, workers, today)
        worker_id = max(projections, key=lambda pk: projections[pk].after.headroom)
        data = {"worker": worker_id, "reason": ""}
        data.update({f"level_{c}": "2" for c in criteria_of(case)})
        data.update(
            {
                "over_reason": "Benchmark",
                "over_plan": "None",
                "over_review_by_0": (today + datetime.timedelta(days=30)).day,
                "over_review_by_1": (today + datetime.timedelta(days=30)).month,
                "over_review_by_2": (today + datetime.timedelta(days=30)).year,
            }
        )
        url = reverse("case_allocate", args=[case.pk])
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(client.post, url, data)
        if response.status_code != 302:
            raise SystemExit(f"Allocation POST answered {response.status_code} for {url}")
        if n == 0:
            continue  # the process's first: connects to the broker, as after a deploy
        POST_QUERIES.append(len(queries))
        times.append(seconds)
    return times


POST_QUERIES: list[int] = []


def criteria_of(case: Case) -> list[int]:
    from caseload.views import _unrated_criteria

    return [c.pk for c in _unrated_criteria(case, timezone.localdate())]


# A busy day's change notes: each committed change writes one for each table
# it touches (ADR 0014), most of them naming one or two teams.
BUSY_DAY_NOTES = """
INSERT INTO caseload_datachange (weight, table_name, teams)
SELECT 1, (ARRAY['caseload_allocation', 'weighting_rating', 'caseload_case',
                 'supervision_supervisionrecord'])[1 + n %% 4],
       CASE WHEN n %% 4 < 3
            THEN ARRAY[(%(teams)s::bigint[])[1 + n %% %(count)s],
                       (%(teams)s::bigint[])[1 + (n * 7) %% %(count)s]]
       END
FROM generate_series(1, %(notes)s) AS n
"""


def busy_day(manager: Person, team: Team, notes: int = 50_000) -> None:
    """The kept team page with a busy day's change notes (every view reads
    them), then once the minute's job has folded them (ADR 0016)."""
    client = signed_in(manager)
    url = reverse("team_detail", args=[team.pk])
    teams = list(Team.objects.filter(service=team.service).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(BUSY_DAY_NOTES, {"teams": teams, "count": len(teams), "notes": notes})
    settle("caseload_datachange")
    queries, times = time_page(client, url, kept=True)
    say(
        f"| team page, kept, with a busy day's {notes:,} change notes | {queries} | "
        f"{ms(statistics.median(times))} | {ms(percentile(times, 0.95))} | — | — | — | "
        f"{len(times)} |"
    )
    started = time.perf_counter()
    before, after = changes.fold_notes()
    seconds = time.perf_counter() - started
    settle("caseload_datachange")
    queries, times = time_page(client, url, kept=True)
    say(
        f"| team page, kept, the notes folded ({before:,} into {after:,} in "
        f"{ms(seconds)}) | {queries} | {ms(statistics.median(times))} | "
        f"{ms(percentile(times, 0.95))} | — | — | — | {len(times)} |"
    )


def measure_pages(today: datetime.date) -> dict:
    who = principals(today)
    team = who["team"]
    say("### Pages, in-process (server time, after 3 warm-up requests)")
    say()
    say(
        f"Team: {team.name}, {TeamMembership.objects.active_on(today).filter(team=team).count()} "
        f"people, {Case.objects.filter(team=team, status='open').count()} open cases."
    )
    say()
    say(
        "Worked out: nothing kept (the first view after a change that reaches every "
        "part of the page). Kept: a view with nothing changed since the previous one. "
        "After a change that reaches one team: the overview's other teams and its "
        "quarter are kept parts (ADR 0014). After a restart: the process keeps nothing, "
        "the parts are kept in the database (ADR 0015), as for the day's first view "
        "after the daily jobs."
    )
    say()
    say("| page | queries | p50 | p95 | kept: queries | p50 | p95 | requests |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    pages = [
        ("team page (manager)", who["manager"], reverse("team_detail", args=[team.pk]), True),
        ("my caseload (worker)", who["worker"], reverse("my_caseload"), False),
        (
            "service overview (DMT)",
            who["senior"],
            reverse("service_overview", args=[team.service_id]),
            True,
        ),
    ]
    for name, person, url, is_kept in pages:
        client = signed_in(person)
        queries, times = time_page(client, url)
        median, p95 = ms(statistics.median(times)), ms(percentile(times, 0.95))
        line = f"| {name} | {queries} | {median} | {p95} |"
        if is_kept:
            kept_queries, kept_times = time_page(client, url, kept=True)
            line += (
                f" {kept_queries} | {ms(statistics.median(kept_times))} | "
                f"{ms(percentile(kept_times, 0.95))} |"
            )
        else:
            line += " — | — | — |"
        say(f"{line} {len(times)} |")
        if is_kept:
            queries, times = time_page(client, url, after=cache.clear)
            say(
                f"| {name}, after a restart | {queries} | {ms(statistics.median(times))} | "
                f"{ms(percentile(times, 0.95))} | — | — | — | {len(times)} |"
            )
        if name.startswith("service overview"):
            for since, change in (
                ("a change that reaches one team", one_team_changes(team.service_id)),
                ("a change to one person's hours", one_persons_hours_change(team.service_id)),
                ("a change to one person's name", one_persons_name_change(team.service_id)),
            ):
                queries, times = time_page(client, url, after=change)
                say(
                    f"| service overview, after {since} | {queries} | "
                    f"{ms(statistics.median(times))} | {ms(percentile(times, 0.95))} | "
                    f"— | — | — | {len(times)} |"
                )
    busy_day(who["manager"], team)
    times = allocation_posts(today)
    say(
        f"| allocation POST (manager) | {max(POST_QUERIES)} | {ms(statistics.median(times))} | "
        f"{ms(percentile(times, 0.95))} | — | — | — | {len(times)} |"
    )
    say()
    return who


# Under load -------------------------------------------------------------------------------


def measure_load(who: dict) -> None:
    """The team page served by gunicorn on loopback, under wrk's load."""
    wrk = shutil.which("wrk")
    if wrk is None:
        say("(wrk is not installed: `apt-get install wrk` for the load test.)")
        return
    client = signed_in(who["manager"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    url = f"http://127.0.0.1:8765{reverse('team_detail', args=[who['team'].pk])}"
    workers = os.environ.get("BENCH_GUNICORN_WORKERS", "4")
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "600", "ALLOWED_HOSTS": "127.0.0.1"}
    gunicorn = [sys.executable, "-m", "gunicorn", "caseload.wsgi:application"]
    server = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [*gunicorn, "--bind", "127.0.0.1:8765", "--workers", workers, "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        request = urllib.request.Request(url, headers={"Cookie": cookie})
        for _ in range(100):
            time.sleep(0.2)
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                continue
        else:
            raise SystemExit("gunicorn did not serve the team page")
        load = [wrk, "-t2", "-c10", "--latency", "-H", f"Cookie: {cookie}", url]
        subprocess.run([*load, "-d3s"], capture_output=True, check=True)  # noqa: S603 - warm-up
        service_id = who["team"].service_id

        def every_team() -> None:
            # The service's band thresholds written again: a change that
            # names no team, to a table every kept page read.
            Service.objects.filter(pk=service_id).update(band_red_from=F("band_red_from"))

        runs = (
            ("nothing changing", None),
            (
                "a change a second, each reaching one team in turn (an allocation or a rating)",
                one_team_changes(who["team"].service_id),
            ),
            ("a change a second that reaches every team", every_team),
        )
        results = {}
        for label, change in runs:
            with changing(change):
                results[label] = subprocess.run(  # noqa: S603
                    [*load, f"-d{ARGS.load_seconds}s"], capture_output=True, text=True, check=True
                ).stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    say(
        f"### Team page under load: gunicorn ({workers} workers) and wrk (2 threads, "
        f"10 connections, {ARGS.load_seconds} s), all on this machine"
    )
    say()
    say(
        "First with nothing changing (every view after the first finds the kept page), "
        "then with a change committed every second, more than a large council's "
        "allocations and ratings make in a working day: each reaching one team in turn "
        "(it throws away that team's kept page; ADR 0014), and each reaching every team "
        "(it throws every kept page away)."
    )
    for label, output in results.items():
        say()
        say(f"{label.capitalize()}:")
        say()
        say("```")
        for line in output.splitlines():
            if line.strip():
                say(line)
        say("```")
    say()


@contextlib.contextmanager
def changing(change: Callable[[], None] | None):  # type: ignore[no-untyped-def]
    """Commit `change` once a second while the block runs, from a thread of
    its own."""
    if change is None:
        yield
        return
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(1):
                change()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def empty_the_queue() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def machine_speed() -> str:
    """The same fixed work timed each run, so that runs on a machine whose
    speed varies (a shared virtual machine) can be told apart: Python
    arithmetic, and a PostgreSQL query that reads no table (best of three)."""
    python, database = [], []
    for _ in range(3):
        started = time.perf_counter()
        sum(n * n for n in range(2_000_000))
        python.append(time.perf_counter() - started)
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("SELECT sum(n::bigint * n) FROM generate_series(1, 2000000) AS n")
            cursor.fetchone()
            database.append(time.perf_counter() - started)
    return f"Python loop {ms(min(python))}, PostgreSQL query {ms(min(database))}"


def main() -> None:
    # Jobs and pages are measured as a Celery or web worker runs them.
    tune_garbage_collection()
    ensure_database()
    settle()
    empty_the_queue()
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    say(
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), "
        f"Python {platform.python_version()}, PostgreSQL {postgres}; "
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}"
    )
    say(f"Command: {' '.join(sys.argv)}")
    say(f"Machine speed at the start (fixed work, less is faster): {machine_speed()}")
    say()
    describe_data()
    if not ARGS.skip_jobs:
        measure_jobs(today)
        measure_analysis_ratios(today)
    who = measure_pages(today)
    if not ARGS.skip_load:
        measure_load(who)
    say()
    say(f"Machine speed at the end: {machine_speed()}")
    empty_the_queue()
    out = ROOT / "bench" / "results" / f"{ARGS.scale}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    print(f"Written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
