"""`make faults`: the production-like stack on loopback, each fault injected
and measured (docs/faults.md).

    make faults
    python bench/faults.py [--time-limit 240] [--rebuild] [--only hung_redis,…]

It starts its own redis-server on a spare port, gunicorn serving
config.wsgi (DEBUG off), a Celery worker and Celery beat (the commands and
settings of docker-compose.yml) and a mail sink, on a copy of a demo database
kept as a template (`<database>_faults_template`, built once with migrate and
load_demo; built again when a migration or the demo changes). Then, signed in
as the demo users through the sign-in form:

- a worker killed during a back-fill of snapshots, and during an import;
- database connections ended while requests run;
- 100 simultaneous allocations of one case;
- Redis stopped while writes that notify are made, then started again;
- three previews of a 120,000-row file, and the memory each process keeps;
- Redis hung (SIGSTOP) while writes are made, then resumed (SIGCONT).

It prints a table (fault, requests, lost, duplicated, 5xx, slowest, seconds
to recover) and exits 1 if a saved write was lost, duplicated or answered
with an error, a preview failed, or a fault did not recover within its
bound; 2 if the run itself failed or was stopped. Loopback only; every
process it starts is stopped by its own process group id, also on Ctrl+C
and at the hard time limit. Logs: bench/results/faults/.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import datetime
import fcntl
import io
import os
import platform
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from faults_browser import Answer, Browser, Form, PageError
from faults_stack import (
    HARNESS,
    ROOT,
    Stack,
    base_name,
    create_database,
    database_url,
    fingerprint,
    normal_text,
    set_comment,
    template_comment,
    terminate_connections,
    wait_until,
)

sys.path.insert(0, str(ROOT))
T = TypeVar("T")

RESULTS = ROOT / "bench" / "results" / "faults"
PASSWORD = "demo"  # noqa: S105 - the demo's published password (README)
FAST = 1.0  # a write with Redis down answers within this many seconds (issue item 7)
NOTIFIED_WITHIN = 90.0  # queued notifications reach the mail sink within this of the fault's end
WORKER_RECOVERY = 600.0  # a killed worker's work is taken up again within ten minutes (item 10)
OUTAGE = 10.0  # seconds Redis stays down at least
HANG = 35.0  # seconds Redis stays stopped: longer than gunicorn's default 30 s worker timeout
FLT_CASES = 40  # open, unallocated cases added to Child Protection for the allocations
RACE_CASE = f"FLT-{FLT_CASES:04}"  # the one the simultaneous allocations are for
STOPPING = threading.Event()  # the run is over: work in the background gives up
IMPORT_ROWS = 5_000  # the killed import: long enough to kill the worker while it writes
MEMORY_ROWS = 120_000


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--time-limit", type=float, default=240,
        help="seconds from the stack's start to the end of the wait for recoveries "
             "(default 240): one still awaited then counts as not recovered; every fault runs",
    )  # fmt: skip
    parser.add_argument(
        "--hard-limit", type=float, default=480,
        help="seconds after which the run is stopped whatever happens (default 480)",
    )  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="build the demo database again")
    parser.add_argument("--only", help="comma-separated fault names (default: all)")
    parser.add_argument("--race", type=int, default=100, help="simultaneous allocations")
    return parser.parse_args()


# Rows of the table --------------------------------------------------------------------------


@dataclass
class Row:
    fault: str
    name: str = ""  # the fault function's name
    requests: int | None = 0
    unit: str = "saved writes"  # what "lost" and "duplicated" count
    lost: int = 0
    duplicated: int = 0
    errors: int = 0  # answers that were a server error, or no answer at all
    errors_saved: int = 0  # writes that were saved and yet answered with one (or a 4xx)
    client_errors: int = 0  # answers 400-499
    slowest: float | None = None
    recovered: float | None = None
    bound: float | None = None
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def count(self, answers: list[Answer]) -> None:
        self.requests = (self.requests or 0) + len(answers)
        self.errors += sum(a.failed for a in answers)
        self.client_errors += sum(400 <= a.status < 500 for a in answers)
        if answers:
            slowest = max(a.seconds for a in answers)
            self.slowest = max(self.slowest or 0, slowest)

    def verdict(self) -> None:
        if self.lost:
            self.failures.append(f"{self.lost} {self.unit} lost")
        if self.duplicated:
            self.failures.append(f"{self.duplicated} {self.unit} duplicated")
        if self.errors_saved:
            self.failures.append(f"{self.errors_saved} saved writes answered with an error")
        if self.client_errors:
            self.notes.append(f"{self.client_errors} answers 4xx")


@dataclass
class Recovery:
    """A fault's recovery, watched in the background while later faults run."""

    row: Row
    check: Callable[[], bool]
    since: float
    bound: float
    finish: Callable[[], None] | None = None  # the row's final counts, once settled
    explain: Callable[[], str] | None = None  # why it has not recovered
    done_at: float | None = None
    error: str = ""

    def settled(self, deadline: float) -> bool:
        """Recovered, or waited for long enough: its whole bound, or (for a
        bound longer than the run) until the run's time limit, and never
        less than the notifications' bound."""
        end = min(self.since + self.bound, max(deadline, self.since + NOTIFIED_WITHIN))
        return self.done_at is not None or time.monotonic() >= end


class Watcher(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="recoveries", daemon=True)
        self.pending: list[Recovery] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def add(self, recovery: Recovery) -> Recovery:
        with self.lock:
            self.pending.append(recovery)
        return recovery

    def run(self) -> None:
        from django.db import connections

        try:
            while not self.stopping.is_set():
                with self.lock:
                    waiting = [r for r in self.pending if r.done_at is None]
                for recovery in waiting:
                    try:
                        if recovery.check():
                            recovery.done_at = time.monotonic()
                    except Exception as error:  # a fault's stack may be down: try again
                        recovery.error = f"{type(error).__name__}: {error}"
                self.stopping.wait(0.5)
        finally:
            connections.close_all()

    def settle(self, recoveries: list[Recovery], deadline: float) -> None:
        while not all(r.settled(deadline) for r in recoveries):
            time.sleep(0.2)
        for recovery in recoveries:
            row = recovery.row
            row.bound = recovery.bound
            if recovery.done_at is not None:
                row.recovered = recovery.done_at - recovery.since
                if row.recovered > recovery.bound:
                    row.failures.append(f"recovered after the bound of {recovery.bound:.0f} s")
            else:
                waited = time.monotonic() - recovery.since
                row.failures.append(
                    f"not recovered after {waited:.0f} s (bound {recovery.bound:.0f} s)"
                )
                if recovery.explain is not None:
                    with contextlib.suppress(Exception):
                        row.notes.append(recovery.explain())
                if recovery.error:
                    row.notes.append(f"last check failed: {recovery.error}")
            if recovery.finish is not None:
                recovery.finish()
        with self.lock:
            self.pending = [r for r in self.pending if r not in recoveries]


# The run ------------------------------------------------------------------------------------


@dataclass
class Run:
    stack: Stack
    deadline: float
    watcher: Watcher
    manager: Browser
    op_manager: Browser
    workers: list[Browser]
    race: concurrent.futures.Future
    race_size: int
    first_notification: int
    recoveries: dict[str, Recovery] = field(default_factory=dict)

    def browser(self) -> Browser:
        return Browser(self.stack.address)


def again(work: Callable[[], T]) -> T:
    """`work`, tried again after a server error (say, while connections are
    being dropped); a refusal is not tried again."""
    for attempt in range(10):
        try:
            return work()
        except PageError:
            if attempt == 9 or STOPPING.is_set():
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def sign_in(address: str, username: str) -> Browser:
    """A new browser, signed in through the form."""

    def attempt() -> Browser:
        browser = Browser(address)
        browser.sign_in(username, PASSWORD)
        return browser

    return again(attempt)


# Writes that notify --------------------------------------------------------------------------


@dataclass
class Write:
    """One form, submitted (and perhaps submitted again) by one person."""

    kind: str  # "concern" or "allocation"
    key: str | int  # the concern's text, or the case's id
    browser: Browser
    form: Form
    answers: list[Answer] = field(default_factory=list)
    saved_first: int | None = None  # rows saved after the first submission

    def send(self, timeout: float = 60) -> Answer:
        answer = self.browser.submit(self.form, timeout)
        self.answers.append(answer)
        return answer

    def told_saved(self) -> bool:
        if self.kind == "concern":
            return any(a.redirects_to("/concerns/", "/concerns/") for a in self.answers)
        return any(a.redirects_to("/allocations/", "/done/") for a in self.answers)

    def saved(self) -> int:
        from caseload.models import Allocation
        from supervision.models import WorkloadConcern

        if self.kind == "concern":
            return WorkloadConcern.objects.filter(concern=self.key).count()
        return Allocation.objects.filter(
            case_id=self.key, kind=Allocation.Kind.PRIMARY, end_date__isnull=True
        ).count()


def concern(browser: Browser, fault: str) -> Write:
    text = f"Fault run ({fault}): {secrets.token_hex(6)}"
    form = browser.form("/concerns/raise/", "concern").fill(concern=text)
    return Write("concern", text, browser, form)


def fill_allocation(form: Form) -> Form:
    """Any worker the page offers, the first level of each criterion, no
    student, and the over-maximum plan in case the worker chosen needs it."""
    workers = form.choices.get("worker") or []
    if not workers:
        raise RuntimeError(f"{form.action}: nobody offered to allocate to")
    form.values["worker"] = secrets.choice(workers)
    form.values["student"] = ""
    for name, options in form.choices.items():
        if name.startswith("level_") and options:
            form.values[name] = options[0]
    if "over_reason" in form.values:
        review = datetime.date.today() + datetime.timedelta(days=30)
        form.values.update(over_reason="Fault run", over_plan="Fault run")
        for name in form.values:
            if name.startswith("over_review_by"):
                part = name.rsplit("_", 1)[-1]
                form.values[name] = str({"0": review.day, "1": review.month}.get(part, review.year))
    return form


def allocation(browser: Browser, case_id: int) -> Write:
    form = browser.form(f"/cases/{case_id}/allocate/", "worker")
    return Write("allocation", case_id, browser, fill_allocation(form))


def unallocated_cases(count: int) -> list[int]:
    """Open cases the harness added to Child Protection that nobody holds yet."""
    from caseload.models import Allocation, Case

    held = Allocation.objects.filter(kind=Allocation.Kind.PRIMARY, end_date__isnull=True)
    cases = (
        Case.objects.filter(reference__startswith="FLT-", status=Case.Status.OPEN)
        .exclude(pk__in=held.values("case_id"))
        .exclude(reference=RACE_CASE)
        .order_by("reference")
        .values_list("pk", flat=True)[:count]
    )
    found = list(cases)
    if len(found) < count:
        raise RuntimeError("the demo database has run out of unallocated FLT cases: --rebuild")
    return found


def send_all(writes: list[Write], timeout: float = 60, stagger: float = 0) -> list:
    threads = []
    for write in writes:
        thread = threading.Thread(target=write.send, args=(timeout,), daemon=True)
        thread.start()
        threads.append(thread)
        if stagger:
            time.sleep(stagger)
    return threads


def tally(row: Row, writes: list[Write]) -> None:
    """Lost: told it was saved, and it was not. Duplicated: saved more than
    once. An error for a saved write: its first answer was a 5xx, a 4xx or
    nothing, yet it was saved."""
    for write in writes:
        saved = write.saved()
        first = write.saved_first if write.saved_first is not None else saved
        if write.told_saved() and saved == 0:
            row.lost += 1
        row.duplicated += max(0, saved - 1)
        if first and write.answers and (write.answers[0].failed or write.answers[0].status >= 400):
            row.errors_saved += 1


def last_notification() -> int:
    from caseload.models import Notification

    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def notifications_after(mark: int) -> list[int]:
    from caseload.models import Notification

    return list(Notification.objects.filter(pk__gt=mark).values_list("pk", flat=True))


def undelivered(run: Run, ids: list[int]) -> int:
    """How many of these notification rows have not reached the mail sink.
    Messages are matched by recipient, subject and body; where several rows
    are alike, the n-th of them is delivered once the sink holds n."""
    from caseload.models import Notification

    if not ids:
        return 0
    wanted = set(ids)
    rows = (
        Notification.objects.filter(pk__gt=run.first_notification, pk__lte=max(ids))
        .order_by("pk")
        .values_list("pk", "email", "subject", "body")
    )
    have = run.stack.sink.counts()
    seen: Counter = Counter()
    missing = 0
    for pk, address, subject, body in rows:
        key = (address.lower(), subject, normal_text(body))
        seen[key] += 1
        if pk in wanted and have[key] < seen[key]:
            missing += 1
    return missing


def watch_notifications(run: Run, row: Row, ids: list[int], since: float) -> Recovery:
    row.notes.append(f"{len(ids)} notifications queued")

    def explain() -> str:
        return f"{undelivered(run, ids)} of {len(ids)} notifications never reached the mail sink"

    return run.watcher.add(
        Recovery(row, lambda: undelivered(run, ids) == 0, since, NOTIFIED_WITHIN, explain=explain)
    )


# The faults ---------------------------------------------------------------------------------


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


def race_forms(address: str, count: int) -> list[Write]:
    """The managers' sessions of the simultaneous allocations, each signed
    in and on the allocation page of the same case (in the background)."""
    from django.db import connection

    from caseload.models import Case

    case_id = Case.objects.get(reference=RACE_CASE).pk
    connection.close()

    def ready(_: int) -> Write:
        if STOPPING.is_set():
            raise RuntimeError("the run is over")
        return again(lambda: allocation(sign_in(address, "manager"), case_id))

    with concurrent.futures.ThreadPoolExecutor(3, thread_name_prefix="race") as pool:
        return list(pool.map(ready, range(count)))


def simultaneous_allocations(run: Run) -> Row:
    """The same unallocated case, allocated by many managers' sessions at once."""
    from caseload.models import Allocation

    row = Row(f"{run.race_size} simultaneous allocations of one case")
    waited = time.monotonic()
    forms: list[Write] = run.race.result(timeout=300)
    waited = time.monotonic() - waited
    case_id = forms[0].key
    barrier = threading.Barrier(len(forms))

    def post(write: Write) -> None:
        barrier.wait()
        write.send(timeout=180)

    threads = [threading.Thread(target=post, args=(w,), daemon=True) for w in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers = [w.answers[0] for w in forms]
    row.count(answers)
    held = Allocation.objects.filter(
        case_id=case_id, kind=Allocation.Kind.PRIMARY, end_date__isnull=True
    ).count()
    told = sum(w.told_saved() for w in forms)
    row.duplicated = max(0, held - 1)
    row.lost = 1 if told and not held else 0
    if held == 1 and not told and row.errors:
        row.errors_saved = 1
    if told > 1:
        row.failures.append(f"{told} managers were told the case was theirs to allocate")
    refused = len(forms) - told - row.errors
    row.notes.append(
        f"{held} allocation held; {told} told it was made, {refused} refused, "
        f"{row.errors} server errors or no answer. Each session signed in through the form "
        f"and opened the allocation page beforehand (the last was ready {waited:.0f} s "
        "after the fault was due)"
    )
    return row


def dropped_connections(run: Run, seconds: float = 12, every: float = 1.0) -> Row:
    """Workers raise concerns and a manager reads pages while every database
    connection of the stack is ended, once a second."""
    row = Row("dropped database connections during load")
    mark = last_notification()
    stop = threading.Event()
    writes: list[Write] = []
    browsers = [*run.workers, run.manager]
    marks = [len(b.log) for b in browsers]
    ended, rounds, last_end = 0, 0, time.monotonic()

    def write_loop(browser: Browser) -> None:
        while not stop.is_set():
            try:
                write = concern(browser, "dropped connections")
            except PageError:
                continue  # the browser's log has the answer
            writes.append(write)
            write.send(timeout=30)

    def read_loop(browser: Browser) -> None:
        team = team_of_manager()
        while not stop.is_set():
            for path in ("/", f"/teams/{team}/", "/concerns/", "/health/"):
                browser.get(path, timeout=30)

    threads = [threading.Thread(target=write_loop, args=(b,), daemon=True) for b in run.workers]
    threads.append(threading.Thread(target=read_loop, args=(run.manager,), daemon=True))
    for thread in threads:
        thread.start()
    finish_at = time.monotonic() + seconds
    while time.monotonic() < finish_at:
        time.sleep(every)
        ended += terminate_connections(run.stack.database)
        rounds += 1
        last_end = time.monotonic()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    row.count([a for b, m in zip(browsers, marks, strict=True) for a in b.log[m:]])
    tally(row, writes)
    saved = sum(1 for w in writes if w.saved())
    row.notes.append(
        f"{ended} connections ended in {rounds} rounds; {len(writes)} concerns sent, {saved} saved"
    )
    watch_notifications(run, row, notifications_after(mark), last_end)
    return row


def team_of_manager() -> int:
    from caseload.models import Team

    return Team.objects.get(name="Child Protection").pk


def notifying_writes(run: Run, fault: str, concerns: int, allocations: int) -> list[Write]:
    """Workers' concerns and a manager's allocations, their forms fetched."""
    writes = [concern(b, fault) for b in run.workers[:concerns]]
    return writes + [allocation(run.manager, c) for c in unallocated_cases(allocations)]


def described(writes: list[Write]) -> str:
    return "; ".join(
        f"{w.kind} "
        + " then ".join(f"{a.status or 'nothing'} in {a.seconds:.1f} s" for a in w.answers)
        for w in writes
    )


def broker_outage(run: Run) -> Row:
    """Stop Redis, make writes that notify (concerns, allocations), start it
    again: each write answers as fast as with Redis up (at most FAST seconds
    more) and is saved once, and every notification reaches the mail sink."""
    row = Row("broker outage (Redis stopped)")
    up = notifying_writes(run, "broker up", 2, 2)
    for thread in send_all(up):
        thread.join()
    usual = max(a.seconds for w in up for a in w.answers)
    mark = last_notification()
    writes = notifying_writes(run, "broker outage", 2, 2)
    health: list[Answer] = []
    run.stack.redis.stop()
    stopped = time.monotonic()
    try:
        threads = send_all(writes)
        probe = threading.Thread(target=lambda: health.append(run.browser().get("/health/", 60)))
        probe.start()
        for thread in [*threads, probe]:
            thread.join()
        time.sleep(max(0.0, stopped + OUTAGE - time.monotonic()))
    finally:
        down = time.monotonic() - stopped
        run.stack.redis.start()
    since = time.monotonic()
    row.count([a for w in writes for a in w.answers] + health)
    tally(row, writes)
    bound = usual + FAST
    if row.slowest is not None and row.slowest > bound:
        row.failures.append(
            f"slowest answer {row.slowest:.1f} s with Redis down, {usual:.1f} s with it up"
        )
    probe = health[0]
    row.notes.append(
        f"Redis down {down:.1f} s. Up, the same writes answered within {usual:.1f} s; down: "
        f"{described(writes)}; /health/ {probe.status or 'nothing'} in {probe.seconds:.1f} s"
    )
    run.recoveries["outage"] = watch_notifications(run, row, notifications_after(mark), since)
    return row


def hung_redis(run: Run) -> Row:
    """SIGSTOP Redis while writes are made (one of them double-clicked),
    SIGCONT it after HANG seconds, and submit again each form whose answer
    was an error, as its user would."""
    row = Row("hung Redis (SIGSTOP, then SIGCONT)")
    if "outage" in run.recoveries:  # that one needs Redis answering
        run.watcher.settle([run.recoveries.pop("outage")], run.deadline)
    mark = last_notification()
    writes = notifying_writes(run, "hung Redis", 2, 1)
    double = concern(run.workers[2], "hung Redis, double click")
    run.stack.redis.signal(signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        threads = send_all(writes)
        threads += send_all([double, double], stagger=0.1)
        time.sleep(max(0.0, stopped + HANG - time.monotonic()))
    finally:
        run.stack.redis.signal(signal.SIGCONT)
    since = time.monotonic()
    for thread in threads:
        thread.join()
    writes.append(double)
    for write in writes:
        write.saved_first = write.saved()
    retried = [w for w in writes if w.answers and all(a.failed for a in w.answers)]
    for write in retried:
        write.send(timeout=60)
    row.count([a for w in writes for a in w.answers])
    tally(row, writes)
    row.notes.append(
        f"Redis stopped {HANG:.0f} s; {described(writes)} (the last one double-clicked; "
        f"{len(retried)} submitted again after an error)"
    )
    run.recoveries["hung"] = watch_notifications(run, row, notifications_after(mark), since)
    return row


# Run in this order. The killed worker's work is watched while the rest
# run. The simultaneous allocations' hundred sessions sign in from the start,
# meanwhile, for the faults before them measure no speed. The previews, which
# do not use Redis, run while the broker outage's notifications are awaited.
FAULTS = {
    "killed_backfill": killed_backfill,
    "killed_import": killed_import,
    "dropped_connections": dropped_connections,
    "simultaneous_allocations": simultaneous_allocations,
    "broker_outage": broker_outage,
    "memory": memory,
    "hung_redis": hung_redis,
}


# Shown in this order: the issue's.
SHOWN = [
    "broker_outage",
    "hung_redis",
    "killed_import",
    "killed_backfill",
    "simultaneous_allocations",
    "dropped_connections",
    "memory",
]


# The demo database -----------------------------------------------------------------------


def demo_cases() -> bytes:
    """Open, unallocated cases in Child Protection for the allocations."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["service", "reference", "label", "type", "people", "team", "opened_on"])
    opened = datetime.date.today() - datetime.timedelta(days=3)
    for n in range(1, FLT_CASES + 1):
        writer.writerow(["Children's Social Care", f"FLT-{n:04}", f"Fault run {n}", "cp", 1,
                         "Child Protection", opened])  # fmt: skip
    return out.getvalue().encode()


def ensure_template(stack: Stack, name: str, rebuild: bool) -> None:
    wanted = fingerprint(f"FLT_CASES={FLT_CASES}")
    if not rebuild and template_comment(name) == wanted:
        return
    print(f"Building the demo database {name} (migrate, load_demo: a few minutes)…", flush=True)
    started = time.monotonic()
    create_database(name)
    # Tasks run in this process and mail goes to the console while the demo loads.
    env = {k: v for k, v in stack.env.items() if k not in ("REDIS_URL", "EMAIL_HOST")}
    env["DATABASE_URL"] = database_url(name)
    stack.manage("migrate", "--no-input", env=env)
    stack.manage("load_demo", "--allow-production", env=env)
    cases = stack.folder / "cases.csv"
    cases.write_bytes(demo_cases())
    stack.manage("import_caseload", str(cases), "--by", "admin", env=env)
    set_comment(name, wanted)
    print(f"Built in {time.monotonic() - started:.0f} s.", flush=True)


# The table ------------------------------------------------------------------------------------


def cell(value: float | int | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"


def table(rows: list[Row]) -> list[str]:
    lines = [
        "| fault | requests | lost | duplicated | 5xx | slowest | recovered in | bound | result |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        errors = f"{row.errors}" + (f" ({row.errors_saved} saved)" if row.errors_saved else "")
        recovered = cell(row.recovered, " s") if row.bound else "—"
        result = "ok" if not row.failures else "FAIL: " + "; ".join(row.failures)
        lines.append(
            f"| {row.fault} | {cell(row.requests)} | {row.lost} | {row.duplicated} | {errors} | "
            f"{cell(row.slowest, ' s')} | {recovered} | {cell(row.bound, ' s')} | {result} |"
        )
    return lines


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}, load average {load} at the start, "
        f"Python {platform.python_version()}"
    )


# Main ----------------------------------------------------------------------------------------


def _resolve(future: concurrent.futures.Future, work: Callable[[], object]) -> None:
    try:
        future.set_result(work())
    except Exception as error:
        future.set_exception(error)


class TimeLimit(BaseException):
    pass


def _on_alarm(signum: int, frame: object) -> None:
    raise TimeLimit


def _on_term(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    args = parse()
    RESULTS.mkdir(parents=True, exist_ok=True)
    lock = (RESULTS.parent / "faults.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("Another make faults is running here.", file=sys.stderr)
        return 2
    for old in RESULTS.iterdir():
        if old.is_file():
            old.unlink()
    names = list(FAULTS) if not args.only else args.only.split(",")
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        print(f"No such fault: {', '.join(unknown)} (known: {', '.join(FAULTS)})", file=sys.stderr)
        return 2
    base = base_name()
    database, template = f"{base}_faults", f"{base}_faults_template"
    stack = Stack(RESULTS, database, "faults-" + secrets.token_urlsafe(40))
    signal.signal(signal.SIGTERM, _on_term)
    rows: list[Row] = []
    code = 2
    stopped_by = ""
    watcher = Watcher()
    pool = concurrent.futures.ThreadPoolExecutor(3, thread_name_prefix="sign-in")
    began = time.monotonic()
    where = machine()
    try:
        stack.prepare()
        ensure_template(stack, template, args.rebuild)
        began = time.monotonic()
        deadline = began + args.time_limit
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.alarm(int(max(args.hard_limit, args.time_limit + 30)))
        print(f"Copying {template} to {database}; starting the stack in {RESULTS}…", flush=True)
        create_database(database, template=template)
        # The harness reads the same database and settings as the stack.
        os.environ.update({k: v for k, v in stack.env.items() if k not in ("PYTHONPATH",)})
        os.environ["PGAPPNAME"] = HARNESS
        import django

        django.setup()
        if stack.collect_static():
            print("Collected the static files.", flush=True)
        stack.start()  # once the web server answers, people sign in
        watcher.start()
        address = stack.address
        people = ["manager", "op.manager", "worker", "chloe.evans", "daniel.reid"]
        signed_in = pool.map(lambda u: sign_in(address, u), people)
        race = concurrent.futures.Future()
        threading.Thread(
            target=lambda: _resolve(race, lambda: race_forms(address, args.race)), daemon=True
        ).start()
        stack.wait_worker_ready()
        manager, op_manager, *workers = signed_in
        run = Run(stack, deadline, watcher, manager, op_manager, workers, race, args.race,
                  last_notification())  # fmt: skip
        print(f"Stack up in {time.monotonic() - began:.0f} s at http://{address}/.", flush=True)
        for name in names:
            print(f"- {name}…", end=" ", flush=True)
            started = time.monotonic()
            try:
                row = FAULTS[name](run)
            except Exception as error:
                row = Row(name.replace("_", " "), requests=None)
                row.failures.append(f"not measured: {type(error).__name__}: {error}")
            row.name = name
            print(f"{time.monotonic() - started:.0f} s", flush=True)
            rows.append(row)
            if not stack.worker.running():  # a fault that failed half-way
                stack.start_worker()
                stack.wait_worker_ready()
        print("Waiting for the recoveries still pending…", flush=True)
        watcher.settle(list(watcher.pending), deadline)
        for row in rows:
            row.verdict()
        code = 1 if any(row.failures for row in rows) else 0
    except TimeLimit:
        print("The hard time limit was reached: stopping.", file=sys.stderr)
        stopped_by = "stopped at the hard time limit"
    except KeyboardInterrupt:
        print("Interrupted: stopping.", file=sys.stderr)
        stopped_by = "interrupted"
    finally:
        signal.alarm(0)
        STOPPING.set()
        watcher.stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        stopping = time.monotonic()
        stack.stop()
        print(f"Stopped the stack in {time.monotonic() - stopping:.0f} s.", flush=True)
    took = time.monotonic() - began
    if stopped_by:
        for row in rows:
            row.failures.append(f"not finished: the run was {stopped_by}")
    rows.sort(key=lambda r: SHOWN.index(r.name) if r.name in SHOWN else len(SHOWN))
    lines = [
        f"make faults on {datetime.datetime.now():%Y-%m-%d %H:%M}, {where}; "
        f"the run took {took:.0f} s (time limit {args.time_limit:.0f} s).",
        "",
        *table(rows),
        "",
    ]
    for row in rows:
        for note in row.notes:
            lines.append(f"- {row.fault}: {note}")
    lines.append("")
    lines.append(
        "5xx counts server errors and requests that got no answer at all; (n saved): writes "
        "saved although their first answer was an error (5xx, 4xx or none)."
    )
    text = "\n".join(lines)
    print()
    print(text)
    (RESULTS / "table.md").write_text(text + "\n")
    print(f"\nLogs and this table: {RESULTS}")
    return code


if __name__ == "__main__":
    sys.exit(main())
