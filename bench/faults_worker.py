"""Faults of the processes that do the work: a Celery worker killed during a
back-fill of snapshots and during an import, and the memory the web
workers keep over large previews."""

from __future__ import annotations

import csv
import datetime
import io
import secrets
import threading
import time
from collections import Counter

from faults_browser import Answer
from faults_run import Recovery, Row, Run
from faults_stack import HARNESS, wait_until

WORKER_RECOVERY = 600.0  # a killed worker's work is taken up again within ten minutes (item 10)
IMPORT_ROWS = 5_000  # the killed import: long enough to kill the worker while it writes
MEMORY_ROWS = 120_000


def killed_backfill(run: Run) -> Row:
    """Kill the worker while it back-fills snapshots (the task fans out a
    chunk a month); start another; every day's snapshots must come back."""
    from django.conf import settings
    from django.db.models import Count, Max, Min

    from reports.models import CaseloadSnapshot
    from reports.tasks import backfill_snapshots

    row = Row("killed worker during a back-fill of snapshots", requests=None, unit="days")
    span = CaseloadSnapshot.objects.aggregate(first=Min("day"), last=Max("day"))
    # Two years in month-long chunks, clear of the recent days that today's
    # allocations make stale (the every-ten-minutes recompute writes those).
    last = span["last"] - datetime.timedelta(days=7)
    first = max(span["first"], last - datetime.timedelta(days=729))

    def per_day() -> dict[datetime.date, int]:
        counts = CaseloadSnapshot.objects.filter(day__range=(first, last)).values("day")
        return dict(counts.annotate(n=Count("pk")).values_list("day", "n"))

    before = per_day()
    days = len(before)
    CaseloadSnapshot.objects.filter(day__range=(first, last)).delete()
    backfill_snapshots.delay(first.isoformat(), last.isoformat(), None)
    # Once a chunk is stored, kill the worker while it writes another.
    queued = time.monotonic()
    wait_until(lambda: len(per_day()) > 0, 60, "the back-fill's first chunk", step=0.02)
    table = CaseloadSnapshot._meta.db_table
    caught = True
    try:
        wait_until(lambda: writing(table), 10, "the back-fill to write", step=0.01)
    except RuntimeError:
        caught = False
    run.stack.worker.kill()
    killed = time.monotonic()
    now = per_day()
    if not caught or len(now) >= days:
        row.failures.append("not measured: the worker was not killed while it wrote")
    row.notes.append(
        f"{days} days from {first} in month-long chunks; the worker was killed while it "
        f"wrote one, {killed - queued:.1f} s after the back-fill was queued, with "
        f"{len(now)} days stored"
    )
    run.stack.start_worker()  # its start is part of the recovery

    def gaps() -> tuple[int, int]:
        now = per_day()
        missing = sum(1 for day, n in before.items() if now.get(day, 0) < n)
        extra = sum(1 for day, n in before.items() if now.get(day, 0) > n)
        return missing, extra

    def finish() -> None:
        row.lost, row.duplicated = gaps()

    def explain() -> str:
        timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
        return (
            f"{gaps()[0]} days still without their snapshots; Redis hands a dead worker's "
            f"tasks back after the broker's visibility timeout, {timeout} s"
        )

    run.recoveries["backfill"] = run.watcher.add(
        Recovery(row, lambda: gaps() == (0, 0), killed, WORKER_RECOVERY, finish, explain)
    )
    return row


def cases_file(rows: int, prefix: str, service: str, team: str, kind: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["service", "reference", "label", "type", "people", "team", "opened_on"])
    opened = datetime.date.today() - datetime.timedelta(days=30)
    for n in range(rows):
        writer.writerow([service, f"{prefix}{n:06}", f"Family {n}", kind, 1 + n % 3, team, opened])
    return out.getvalue().encode()


def writing(table: str) -> bool:
    """Is a process of the stack in a transaction that writes to `table`?"""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE a.datname = current_database() AND a.application_name <> %s "
            "AND l.relation = %s::regclass AND l.mode = 'RowExclusiveLock' AND l.granted",
            [HARNESS, table],
        )
        return cursor.fetchone() is not None


def killed_import(run: Run) -> Row:
    """Upload and confirm an import as a team manager, SIGKILL the worker
    while it writes, start another: the import must end done (or failed with
    a message), with nothing half-written or duplicated."""
    from caseload.models import Case, ImportRun

    row = Row("killed worker during an import", unit="cases")
    browser = run.op_manager
    mark = len(browser.log)
    prefix = f"FLT-IMP-{secrets.token_hex(3)}-"
    content = cases_file(IMPORT_ROWS, prefix, "Adult Social Care", "Older People",
                         "adult_assessment")  # fmt: skip
    form = browser.form("/import/", "file")
    upload = browser.upload(form.action or "/import/", form.values, "file", "cases.csv", content,
                            timeout=120)  # fmt: skip
    if not upload.redirects_to("/import/"):
        row.count(browser.log[mark:])
        row.failures.append(f"not measured: the upload answered {upload.status}")
        return row
    detail = upload.location
    run_id = int(detail.rstrip("/").rsplit("/", 1)[-1])
    browser.submit(browser.form(detail, "/confirm/"))
    caught = True
    try:
        wait_until(lambda: writing(Case._meta.db_table), 90, "the import to write", step=0.02)
    except RuntimeError:
        caught = False
    status = ImportRun.objects.get(pk=run_id).status
    run.stack.worker.kill()
    killed = time.monotonic()
    if not caught or status == ImportRun.Status.DONE:
        row.failures.append(f"not measured: the worker was killed with the import {status}")
    else:
        row.notes.append(f"{IMPORT_ROWS:,} new cases; the worker was killed while it wrote them")
    run.stack.start_worker()  # its start is part of the recovery
    ending = (ImportRun.Status.DONE, ImportRun.Status.FAILED, ImportRun.Status.INVALID)

    def check() -> bool:
        return ImportRun.objects.get(pk=run_id).status in ending

    def finish() -> None:
        imported = ImportRun.objects.get(pk=run_id)
        present = Case.objects.filter(reference__startswith=prefix).count()
        distinct = Case.objects.filter(reference__startswith=prefix).values("reference")
        row.duplicated += present - distinct.distinct().count()
        if imported.status == ImportRun.Status.DONE and present < IMPORT_ROWS:
            row.lost += IMPORT_ROWS - present
        elif 0 < present < IMPORT_ROWS:
            row.lost += IMPORT_ROWS - present  # half-written
        browser.get(detail)
        row.count(browser.log[mark:])
        kept = len(bytes(imported.content or b""))
        said = [m for _, _, m in (imported.summary or {}).get("errors", [])[:1]]
        row.notes.append(
            f"the import is {imported.status}"
            + (f" ({said[0]})" if said else "")
            + f", with {present:,} of its {IMPORT_ROWS:,} cases present"
            + (f"; the uploaded file ({kept:,} bytes) is still stored" if kept else "")
        )

    run.recoveries["import"] = run.watcher.add(
        Recovery(row, check, killed, WORKER_RECOVERY, finish)
    )
    return row


def memory(run: Run) -> Row:
    """Three previews of a 120,000-row file as a team manager: each gunicorn
    worker's resident memory at its peak and after, and the Celery worker's."""
    row = Row(f"memory: 3 previews of {MEMORY_ROWS:,} rows")
    content = cases_file(MEMORY_ROWS, f"FLT-MEM-{secrets.token_hex(3)}-",
                         "Children's Social Care", "Child Protection", "cp")  # fmt: skip
    web, worker = run.stack.web, run.stack.worker
    before = {pid: mb for pid, mb in web.memory().items() if pid != web.pid}
    peak: Counter = Counter()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            for pid, mb in web.memory().items():
                if pid != web.pid:
                    peak[pid] = max(peak[pid], mb)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    answers: list[Answer] = []
    try:
        for _ in range(3):  # one after another, as a person would
            form = run.manager.form("/import/", "file")
            answers.append(run.manager.upload(form.action or "/import/", form.values, "file",
                                              "cases.csv", content, timeout=180))  # fmt: skip
        time.sleep(2)  # a worker the web server ended is gone, its successor started
    finally:
        done.set()
        sampler.join()
    row.count(answers)
    after = {pid: mb for pid, mb in web.memory().items() if pid != web.pid}
    celery = worker.memory()
    shown = ", ".join(
        f"{before[pid]:.0f}/{peak[pid]:.0f}/" + (f"{after[pid]:.0f}" if pid in after else "ended")
        for pid in sorted(before)
    )
    new = [f"{peak[pid]:.0f}/{after[pid]:.0f}" for pid in sorted(after) if pid not in before]
    if new:
        shown += "; started meanwhile, at most/after: " + ", ".join(new)
    row.notes.append(
        f"{len(content) / 1e6:.1f} MB CSV file; the previews answered "
        + ", ".join(f"{a.status or 'nothing'} in {a.seconds:.1f} s" for a in answers)
    )
    row.notes.append(f"each gunicorn worker's resident memory before/at most/after (MB): {shown}")
    row.notes.append(
        "Celery worker's resident memory (MB): "
        + ", ".join(f"{mb:.0f}" for _, mb in sorted(celery.items()))
        + " (main process, then its pool)"
    )
    failed = [a for a in answers if a.failed]
    if failed:
        row.failures.append(f"{len(failed)} of the 3 previews answered with a 5xx or nothing")
    return row
