"""Benchmark: the memory a preview of a large upload takes, as a web worker
runs it (the garbage collector tuned as in `config.wsgi`).

    .venv/bin/python bench/import_memory.py                 # a 120,000-row cases.csv
    .venv/bin/python bench/import_memory.py --format xlsx   # the same rows in a workbook
    DATABASE_URL=postgres://… .venv/bin/python bench/import_memory.py

Each run previews the file three times in one process, as three uploads to
one gunicorn worker, and prints the process's resident memory after each,
its peak while previewing (Linux), and with --trace the peak of Python's
own allocations (tracemalloc, which slows the run down). The database is
emptied first.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# As production runs: with DEBUG on, Django would keep every query's text.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "k" * 48)
os.environ.setdefault("ALLOWED_HOSTS", "localhost")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/caseload-bench-memory.sqlite3")

import django

django.setup()

import tracemalloc  # noqa: E402

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from caseload.models import Person, Service, Team  # noqa: E402
from config.processes import tune_garbage_collection  # noqa: E402
from exchange import runs  # noqa: E402

SERVICE, TEAMS = "Children's Social Care", 20
COLUMNS = ["service", "reference", "label", "type", "people", "team", "priority", "opened_on",
           "closed_on"]  # fmt: skip


def rows(count: int):  # type: ignore[no-untyped-def]
    opened = timezone.localdate() - datetime.timedelta(days=400)
    for n in range(count):
        day = opened + datetime.timedelta(days=n % 300)
        yield [SERVICE, f"CP-{n:06}", "Sibling group, neglect", "cp", 1 + n % 4,
               f"Team {n % TEAMS:02}", "", day, ""]  # fmt: skip


def upload(kind: str, count: int) -> tuple[str, bytes]:
    if kind == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        writer.writerows(rows(count))
        return "cases.csv", text.getvalue().encode()
    # Saved as a spreadsheet saves it: repeated text once, in the shared strings.
    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    sheet.append(COLUMNS)
    for row in rows(count):
        sheet.append([cell if cell != "" else None for cell in row])
    out = io.BytesIO()
    book.save(out)
    return "cases.xlsx", out.getvalue()


def resident_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS), or at its peak (VmHWM)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise SystemExit("Needs Linux's /proc/self/status")


def forget_peak() -> None:
    """Start the peak afresh (Linux): making the file is not what is measured."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--rows", type=int, default=120_000)
    parser.add_argument("--previews", type=int, default=3)
    parser.add_argument("--trace", action="store_true", help="measure with tracemalloc too")
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    call_command("flush", "--no-input", verbosity=0)
    service = Service.objects.create(name=SERVICE, kind="children")
    for t in range(TEAMS):
        Team.objects.create(service=service, name=f"Team {t:02}", aspiration=20)
    user = get_user_model().objects.create(username="admin")
    Person.objects.create(user=user, full_name="Alex Morgan", role="administrator")
    name, content = upload(options.format, options.rows)
    tune_garbage_collection()
    gc.collect()
    forget_peak()
    print(f"Database: {connection.vendor}; {name}: {options.rows:,} rows, "
          f"{len(content) / 2**20:.1f} MB")  # fmt: skip
    print(f"Resident before:          {resident_mb():7.1f} MB")
    if options.trace:
        tracemalloc.start()
    for n in range(1, options.previews + 1):
        started = time.perf_counter()
        run = runs.import_preview(user=user, name=name, content=content, team_ids=None)
        took = time.perf_counter() - started
        if run.status != "previewed":
            raise SystemExit(f"The file did not pass its check: {run.summary['errors'][:3]}")
        del run
        line = f"After preview {n} ({took:5.1f} s): {resident_mb():7.1f} MB resident"
        if options.trace:
            current, peak = tracemalloc.get_traced_memory()
            line += f", Python {current / 2**20:6.1f} MB held, peak {peak / 2**20:6.1f} MB"
            tracemalloc.reset_peak()
        print(line)
    gc.collect()
    print(f"After a full collection:  {resident_mb():7.1f} MB")
    print(f"Peak resident:            {resident_mb('VmHWM'):7.1f} MB")


if __name__ == "__main__":
    main()
