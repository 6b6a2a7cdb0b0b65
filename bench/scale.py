"""Benchmark: Caseload at a large council and at national scale, on PostgreSQL.

    make bench              # 600 workers, 90 teams, 12,000 open cases, 2 years
    make bench-national     # 33,000 workers, 2,000 teams, 550,000 open cases, 1 year
    python bench/scale.py --scale large [--database caseload_large] [--fresh]
    python bench/scale.py --scale large --profile   # where each page's time goes

Each scale has a database of its own on the PostgreSQL of DATABASE_URL
(caseload_large, caseload_national), generated once by `generate_dataset`
and reused. The script then measures, and prints as Markdown for
docs/benchmarks.md:

- the scheduled jobs over the whole dataset: the back-fill of the snapshots
  the pages and the review read, the daily snapshot, every 12-week analysis,
  the quarterly review of every service (time, and time per person);
- the analysis against a straightforward per-person ORM loop (on a sample of
  people, per person) and against the bare SQL of its main query;
- the team page, my caseload, the service overview and the allocation POST
  in-process, every page computed on each request: queries, and server time
  p50/p95, each page against the floor page (a signed-in page that renders
  the base template and writes one audit row) timed alternately with it;
- the team page and the floor page under load: gunicorn on loopback, wrk
  with 10 connections;
- each of the targets below, met or missed.

It runs with bench/settings.py: the product's settings with the floor page
at /bench/floor/ (bench/urls.py), in-process and in gunicorn.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import functools
import io
import os
import platform
import pstats
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
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
    parser.add_argument("--load-rounds", type=int, default=2, help="floor and team page, in turn")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pages only: each page's queries and where its Python time goes (cProfile)",
    )
    return parser.parse_args()


ARGS = parse()
DATABASE = ARGS.database or f"caseload_{ARGS.scale}"
os.environ["DATABASE_URL"] = database_url(DATABASE)
# The product's settings, with the floor page's URL (bench/settings.py).
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
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
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

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
from config.processes import tune_garbage_collection  # noqa: E402
from reports import services  # noqa: E402
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
    JOBS["analysis ratio"] = statistics.median(ratios)


# The pages ---------------------------------------------------------------------------------


@dataclass
class Timing:
    """A page's queries and its server times, in seconds."""

    queries: int
    times: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)


# Each target of the issue: what, the target, what was measured, met.
TARGETS: list[tuple[str, str, str, bool]] = []


def target(what: str, wanted: str, measured: str, met: bool) -> None:
    TARGETS.append((what, wanted, measured, met))


def signed_in(person: Person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def warmed(client: Client, *urls: str) -> None:
    """Three requests of each: the first loads the middleware, WhiteNoise's
    scan of the static files included, once per test client (a web server
    does it once per worker)."""
    for _ in range(3):
        for url in urls:
            if client.get(url).status_code != 200:
                raise SystemExit(f"{url} did not answer 200")


def time_against_floor(client: Client, url: str) -> tuple[Timing, Timing]:
    """The page and the floor page, as the same person, one request of each
    in turn, so that each pair meets the machine at the same speed."""
    floor = reverse("bench_floor")
    warmed(client, floor, url)
    counts = {}
    for each in (floor, url):
        with CaptureQueriesContext(connection) as queries:
            client.get(each)
        counts[each] = len(queries)
    times: dict[str, list[float]] = {floor: [], url: []}
    for _ in range(ARGS.requests):
        for each in (floor, url):
            times[each].append(timed(client.get, each)[1])
    return Timing(counts[url], times[url]), Timing(counts[floor], times[floor])


def target_pages(who: dict) -> list[tuple[str, str, str, int, int, int]]:
    """Each page the targets name: its name, who views it, its URL, and its
    targets (p95 within so many times the floor's, p95 at most so many ms,
    at most so many queries)."""
    team = who["team"]
    teams = Team.objects.filter(service_id=team.service_id).count()
    return [
        ("team page", "manager", reverse("team_detail", args=[team.pk]), 2, 25, 12),
        ("my caseload", "worker", reverse("my_caseload"), 2, 25, 12),
        (
            f"service overview ({teams} teams)",
            "senior",
            reverse("service_overview", args=[team.service_id]),
            4,
            60,
            15,
        ),
    ]


def measure_pages(today: datetime.date) -> dict:
    who = principals(today)
    team = who["team"]
    say("### Pages, in-process, every page computed on each request")
    say()
    say(
        f"Team page: {team.name} (the largest team), "
        f"{TeamMembership.objects.active_on(today).filter(team=team).count()} people, "
        f"{Case.objects.filter(team=team, status='open').count()} open cases; viewed by its "
        "manager. My caseload: a social worker of that team. Service overview: its senior "
        "manager. Server time through the whole middleware stack, production settings. "
        "Each page is timed alternately with the floor page (a signed-in page that renders "
        "the base template and writes one audit row, as each listing page does), viewed by "
        f"the same person: {ARGS.requests} requests of each, after 3 of each untimed."
    )
    say()
    say("| page | queries | p50 | p95 | floor: queries | p50 | p95 | p95 ÷ floor's |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, role, url, floors, most_ms, most_queries in target_pages(who):
        page, floor = time_against_floor(signed_in(who[role]), url)
        ratio = page.p95 / floor.p95
        say(
            f"| {name} | {page.queries} | {ms(page.p50)} | {ms(page.p95)} | {floor.queries} | "
            f"{ms(floor.p50)} | {ms(floor.p95)} | {ratio:.2f}× |"
        )
        target(f"{name}: p95 ÷ the floor page's", f"≤ {floors}×", f"{ratio:.2f}×", ratio <= floors)
        target(f"{name}: p95", f"≤ {most_ms} ms", ms(page.p95), page.p95 * 1000 <= most_ms)
        target(
            f"{name}: queries", f"≤ {most_queries}", str(page.queries), page.queries <= most_queries
        )
    posts = allocation_posts(today)
    post = Timing(max(POST_QUERIES), posts)
    say(
        f"| allocation POST (manager; a new case, to the team's worker with the most room) | "
        f"{post.queries} | {ms(post.p50)} | {ms(post.p95)} | — | — | — | — |"
    )
    say()
    target("allocation POST: queries", "≤ 25", str(post.queries), post.queries <= 25)
    target("allocation POST: p95", "≤ 40 ms", ms(post.p95), post.p95 * 1000 <= 40)
    return who


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


def allocation_requests(today: datetime.date, count: int) -> Iterator[Callable[[], Any]]:
    """New cases, unrated, each to be allocated to the worker of its team
    with the most room, by its team manager (what an allocation meeting
    does): the POST of each, made ready (untimed) when the previous one has
    been sent."""
    teams = list(Team.objects.filter(managers__isnull=False).order_by("pk")[:count])
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    waiting = Case.objects.bulk_create(
        Case(
            service_id=teams[n % len(teams)].service_id,
            team=teams[n % len(teams)],
            reference=f"B{stamp}{n:03d}",
            label=f"Bench family {n}",
            case_type=Case.Type.CHILD_IN_NEED,
            opened_on=today,
        )
        for n in range(count)
    )
    clients: dict[int, Client] = {}
    review_by = today + datetime.timedelta(days=30)
    for case in waiting:
        manager = case.team.managers.select_related("user").first()
        if manager.pk not in clients:
            # A manager's first request loads the middleware, once per test
            # client (a web server does it once per worker): not timed.
            clients[manager.pk] = signed_in(manager)
            clients[manager.pk].get(reverse("team_detail", args=[case.team_id]))
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
                "over_review_by_0": review_by.day,
                "over_review_by_1": review_by.month,
                "over_review_by_2": review_by.year,
            }
        )
        yield functools.partial(
            clients[manager.pk].post, reverse("case_allocate", args=[case.pk]), data
        )


def allocation_posts(today: datetime.date) -> list[float]:
    """The allocation POST's times; its queries in POST_QUERIES."""
    times = []
    for n, post in enumerate(allocation_requests(today, ARGS.requests + 1)):
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(post)
        if response.status_code != 302:
            raise SystemExit(f"An allocation POST answered {response.status_code}")
        if n == 0:
            continue  # the process's first: connects to the broker, as after a deploy
        POST_QUERIES.append(len(queries))
        times.append(seconds)
    return times


POST_QUERIES: list[int] = []


def criteria_of(case: Case) -> list[int]:
    from allocation.presenters import unrated_criteria

    return [c.pk for c in unrated_criteria(case, timezone.localdate())]


# Where the time goes ------------------------------------------------------------------------

# The tables every signed-in request reads or writes, whatever its page.
OVERHEAD_TABLES = ("django_session", "auth_user", "axes_", "caseload_accessrecord")


def shape(sql: str) -> str:
    """A query with its values taken out, to tell the same query apart."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


def python_split(stats: pstats.Stats) -> list[tuple[str, float]]:
    """The requests' own time under cProfile (tottime), by where it is
    spent: waiting for PostgreSQL (psycopg2's execute, fetch and commit),
    the ORM building queries and rows, templates, the app's code, the rest
    of Django, and the other libraries and Python itself."""
    areas = (
        ("waiting for PostgreSQL (psycopg2)", ("psycopg",)),
        ("Django ORM (building SQL, making rows into objects)", ("django/db/",)),
        ("Django templates", ("django/template/", "django/utils/html", "django/utils/safestring")),
        ("the app's code", ("/caseload/", "/weighting/", "/reports/", "/supervision/")),
        ("Django: middleware, requests, sessions, auth", ("django/",)),
        ("other libraries and Python itself", ("",)),
    )
    totals = dict.fromkeys((name for name, _ in areas), 0.0)
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename} {function}"
        for name, markers in areas:
            if any(marker in where for marker in markers):
                totals[name] += tottime
                break
    return list(totals.items())


class QueryClock:
    """Each statement a request sends, with its time to the microsecond
    (Django's own log rounds to the millisecond)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, time.perf_counter() - started))


def profile_request(
    ready: Callable[[], Callable[[], Any]], label: str, floor_shapes: set[str]
) -> set[str]:
    """One request's queries, each with its time; then ARGS.requests more
    timed whole and their statements' time; then as many under cProfile.
    `ready()` makes the next request ready (untimed) and returns it.
    Returns the queries' shapes."""
    request = ready()
    clock = QueryClock()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(clock):
        answered(request())
    # Django's log (what the tests count) also has BEGIN and COMMIT, which
    # no cursor sends; the clock has the rest, in the same order.
    timed_statements = iter(clock.statements)
    say(f"#### {label}: {len(captured)} queries")
    say()
    say("| # | ms | also on the floor page | query |")
    say("| ---: | ---: | --- | --- |")
    shapes = set()
    for n, query in enumerate(captured.captured_queries, 1):
        if query["sql"] in ("BEGIN", "COMMIT", "ROLLBACK"):
            sql, seconds = query["sql"], float(query["time"])
        else:
            sql, seconds = next(timed_statements)
        shapes.add(shape(sql))
        overhead = shape(sql) in floor_shapes or any(t in sql for t in OVERHEAD_TABLES)
        text = " ".join(sql.split()).replace("|", "\\|")
        say(f"| {n} | {seconds * 1000:.2f} | {'yes' if overhead else ''} | `{text[:400]}` |")
    say()
    walls, waits = [], []
    for _ in range(ARGS.requests):
        request = ready()
        clock = QueryClock()
        with connection.execute_wrapper(clock):
            _, seconds = timed(lambda request=request: answered(request()))
        walls.append(seconds)
        waits.append(sum(seconds for _, seconds in clock.statements))
    say(
        f"Unprofiled, {ARGS.requests} requests (medians): {ms(statistics.median(walls))} "
        f"a request, of which {ms(statistics.median(waits))} in its statements "
        "(sent, run by PostgreSQL, rows read by the driver; BEGIN and COMMIT not counted) "
        f"and {ms(statistics.median(w - q for w, q in zip(walls, waits, strict=True)))} "
        "in Python."
    )
    say()
    profiler = cProfile.Profile()
    for _ in range(ARGS.requests):
        request = ready()
        profiler.enable()
        answered(request())
        profiler.disable()
    stats = pstats.Stats(profiler)
    say("Under cProfile (which slows Python more than the database), a request's time:")
    say()
    say("| where | ms a request |")
    say("| --- | ---: |")
    for name, seconds in python_split(stats):
        say(f"| {name} | {ms(seconds / ARGS.requests)} |")
    say()
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(r"(caseload|weighting|reports|supervision)/", 30)
    say("The app's functions by cumulative time (cProfile, all requests):")
    say()
    say("```")
    for line in out.getvalue().splitlines():
        if re.match(r"\s*\d", line) or "ncalls" in line:
            say(line.replace(str(ROOT) + "/", ""))
    say("```")
    say()
    return shapes


def answered(response: HttpResponse) -> None:
    if response.status_code not in (200, 302):
        raise SystemExit(f"{response.request['PATH_INFO']} answered {response.status_code}")


def profile_pages(today: datetime.date) -> None:
    who = principals(today)
    say("### Where each page's time and queries go (computed live)")
    say()
    floor = reverse("bench_floor")
    for name, role, url, *_ in target_pages(who):
        client = signed_in(who[role])
        warmed(client, floor, url)
        floor_page = functools.partial(client.get, floor)
        floor_shapes = profile_request(
            lambda floor_page=floor_page: floor_page,
            f"floor page, as the {role}",
            set(),
        )
        page = functools.partial(client.get, url)
        profile_request(lambda page=page: page, name, floor_shapes)
    posts = allocation_requests(today, 2 * ARGS.requests + 2)
    answered(next(posts)())  # the process's first: connects to the broker
    profile_request(lambda: next(posts), "allocation POST (manager)", floor_shapes)


# Under load -------------------------------------------------------------------------------

LOAD_PORT = 8765


def wrk_figures(output: str) -> dict[str, float]:
    """Requests, requests a second and the latency percentiles (seconds) of
    wrk's --latency output."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    figures: dict[str, float] = {}
    for share in ("50", "90", "99"):
        found = re.search(rf"^\s*{share}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if found is None:
            raise SystemExit(f"wrk printed no {share}th percentile:\n{output}")
        figures[f"p{share}"] = float(found[1]) * units[found[2]]
    figures["requests"] = float(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    figures["per second"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"wrk had answers other than the page:\n{output}")
    # Connections wrk gave up on (its --timeout) or lost, reported with the run.
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    figures["errors"] = float(sum(map(int, errors.groups()))) if errors else 0.0
    return figures


def measure_load(who: dict) -> None:
    """The floor page and the team page served by gunicorn on loopback, in
    turn, under wrk's load, all on this machine's cores."""
    wrk = shutil.which("wrk")
    if wrk is None:
        say("(wrk is not installed: `apt-get install wrk` for the load test.)")
        return
    client = signed_in(who["manager"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    base = f"http://127.0.0.1:{LOAD_PORT}"
    urls = {
        "floor page": base + reverse("bench_floor"),
        "team page": base + reverse("team_detail", args=[who["team"].pk]),
    }
    workers = os.environ.get("BENCH_GUNICORN_WORKERS", "4")
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "600", "ALLOWED_HOSTS": "127.0.0.1"}
    # The product's application with bench/settings.py (the floor page's URL).
    gunicorn = [sys.executable, "-m", "gunicorn", "bench.wsgi:application"]
    server = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [
            *gunicorn,
            *("--bind", f"127.0.0.1:{LOAD_PORT}", "--workers", workers),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    runs: list[tuple[str, dict[str, float]]] = []
    try:
        for url in urls.values():
            serves(url, cookie)
        load = [wrk, "-t2", "-c10", "--timeout", "10s", "--latency", "-H", f"Cookie: {cookie}"]
        for url in urls.values():  # warm-up: each worker's first requests
            subprocess.run([*load, "-d3s", url], capture_output=True, check=True)  # noqa: S603
        for _ in range(ARGS.load_rounds):
            for page, url in urls.items():
                output = subprocess.run(  # noqa: S603
                    [*load, f"-d{ARGS.load_seconds}s", url],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                runs.append((page, wrk_figures(output)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    say(
        f"### Under load: gunicorn ({workers} workers) and wrk (2 threads, 10 connections), "
        "all on this machine's cores with PostgreSQL"
    )
    say()
    say(
        f"The floor page and the team page (its manager's), {ARGS.load_rounds} rounds of "
        f"{ARGS.load_seconds} s each, in turn; every team page computed on each request."
    )
    say()
    say("| page | round | requests | requests a second | p50 | p90 | p99 | socket errors |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, (page, figures) in enumerate(runs):
        say(
            f"| {page} | {n // len(urls) + 1} | {figures['requests']:,.0f} | "
            f"{figures['per second']:.1f} | {ms(figures['p50'])} | {ms(figures['p90'])} | "
            f"{ms(figures['p99'])} | {figures['errors']:.0f} |"
        )
    rate = {page: statistics.mean(f["per second"] for p, f in runs if p == page) for page in urls}
    worst = max(f["p99"] for p, f in runs if p == "team page")
    share = rate["team page"] / rate["floor page"]
    say()
    say(
        f"Mean over the rounds: floor page {rate['floor page']:.1f} requests a second, "
        f"team page {rate['team page']:.1f} (**{share:.0%}** of the floor's); "
        f"the team page's worst p99 {ms(worst)}."
    )
    say()
    target(
        "team page under load: requests a second, share of the floor page's",
        "≥ 60%",
        f"{share:.0%} ({rate['team page']:.0f} of {rate['floor page']:.0f})",
        share >= 0.6,
    )
    target("team page under load: p99", "≤ 150 ms", ms(worst), worst <= 0.150)


def serves(url: str, cookie: str) -> None:
    """Wait until gunicorn answers `url` itself (not the sign-in page)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    for _ in range(100):
        time.sleep(0.2)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                if answer.status == 200 and answer.geturl() == url:
                    return
                raise SystemExit(f"gunicorn answered {url} with {answer.geturl()}")
        except OSError:
            continue
    raise SystemExit(f"gunicorn did not serve {url}")


def report_targets() -> None:
    """Each target, met or missed; the jobs' at national scale, where the
    targets set them."""
    if ARGS.scale == "national" and JOBS:
        for job, name in (("snapshot", "daily snapshot"), ("review", "quarterly review")):
            seconds = JOBS[job]
            target(f"{name}, every service", "≤ 60 s", f"{seconds:.1f} s", seconds <= 60)
        ratio = JOBS["analysis ratio"]
        target("12-week analyses ÷ their bare SQL", "≤ 3×", f"{ratio:.2f}×", ratio <= 3)
    say("### Against the targets")
    say()
    say("| target | wanted | measured | |")
    say("| --- | ---: | ---: | --- |")
    for what, wanted, measured, met in TARGETS:
        say(f"| {what} | {wanted} | {measured} | {'met' if met else '**missed**'} |")
    say()


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
    if ARGS.profile:
        profile_pages(today)
    else:
        if not ARGS.skip_jobs:
            measure_jobs(today)
            measure_analysis_ratios(today)
        who = measure_pages(today)
        if not ARGS.skip_load:
            measure_load(who)
        report_targets()
    say(f"Machine speed at the end: {machine_speed()}")
    empty_the_queue()
    name = f"profile-{ARGS.scale}" if ARGS.profile else ARGS.scale
    out = ROOT / "bench" / "results" / f"{name}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    print(f"Written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
