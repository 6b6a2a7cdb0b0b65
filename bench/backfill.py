"""Benchmark: back-fill a year of caseload snapshots for the demo's
Children's Social Care, and show that the queries per month do not depend
on the number of people.

    make bench                      # on a scratch SQLite database
    DATABASE_URL=postgres://… make bench

The database is migrated and the demo loaded if it is empty (about a minute
the first time).
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/caseload-bench.sqlite3")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from caseload.models import Service  # noqa: E402
from demo.loader import demo_present, load_demo  # noqa: E402
from demo.plan import CHILDRENS_SERVICE  # noqa: E402
from reports.models import CaseloadSnapshot  # noqa: E402
from reports.services.snapshots import backfill_snapshots, chunks, people_in_teams  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    if not demo_present():
        print("Loading the demo (about a minute)…")
        load_demo()
    service = Service.objects.get(name=CHILDRENS_SERVICE)
    last = timezone.localdate()
    first = last - datetime.timedelta(days=364)
    people = len(people_in_teams(first, last, [service.pk]))
    CaseloadSnapshot.objects.filter(person__service=service, day__gte=first).delete()
    connection.queries_log.clear()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        written = backfill_snapshots(first, last, service_ids=[service.pk])
    seconds = time.perf_counter() - started
    months = len(chunks(first, last))
    print(f"Database:        {connection.vendor}")
    print(f"Back-filled:     365 days, {people} people, {written} snapshots")
    print(f"Time:            {seconds:.2f} s ({written / seconds:,.0f} snapshots a second)")
    print(f"Queries:         {len(queries.captured_queries)} ({months} months of about 31 days)")


if __name__ == "__main__":
    main()
