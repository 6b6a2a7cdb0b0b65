"""Benchmark: Caseload at a large council and at national scale, on PostgreSQL.

    make bench              # 600 workers, 90 teams, 12,000 open cases, 2 years
    make bench-national     # 33,000 workers, 2,000 teams, 550,000 open cases, 1 year
    python bench/scale.py --scale large [--database caseload_large] [--fresh]
    python bench/scale.py --scale large --profile   # where each page's time goes

Each scale has a database of its own on the PostgreSQL of DATABASE_URL
(caseload_large, caseload_national), generated once by bench/dataset.py
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
at /bench/floor/ (bench/urls.py), in-process and in gunicorn. This module
sets Django up and prints the report; each measure has a module of its own:
bench/jobs.py, bench/pages.py, bench/profiling.py (--profile), bench/load.py
and bench/machine.py, with the report's lines and targets in bench/report.py.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
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
from django.utils import timezone  # noqa: E402

from bench.dataset import generate_council  # noqa: E402
from bench.jobs import JOBS, measure_analysis_ratios, measure_jobs, settle  # noqa: E402
from bench.load import measure_load  # noqa: E402
from bench.machine import cpu_model, machine_speed  # noqa: E402
from bench.pages import measure_pages  # noqa: E402
from bench.profiling import profile_pages  # noqa: E402
from bench.report import LINES, TARGETS, say, target  # noqa: E402
from caseload.models import Allocation, Case, Person, Service, Team, TeamMembership  # noqa: E402
from config.processes import tune_garbage_collection  # noqa: E402
from weighting.models import Rating  # noqa: E402

settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


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
        generate_council(ARGS.scale)


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


def empty_the_queue() -> None:
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


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
        profile_pages(today, ARGS.requests)
    else:
        if not ARGS.skip_jobs:
            measure_jobs(today)
            measure_analysis_ratios(
                today, loop_sample=ARGS.loop_sample, ratio_pairs=ARGS.ratio_pairs
            )
        who = measure_pages(today, ARGS.requests)
        if not ARGS.skip_load:
            measure_load(who, seconds=ARGS.load_seconds, rounds=ARGS.load_rounds)
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
