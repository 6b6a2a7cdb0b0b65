"""The run of `make faults` (bench/faults.py): the rows of its table, the
recoveries watched in the background while later faults run, and the writes
that notify (concerns and allocations), sent through the forms as their
users would."""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from faults_browser import Answer, Browser, Form, PageError
from faults_stack import Stack, normal_text

T = TypeVar("T")

PASSWORD = "demo"  # noqa: S105 - the demo's published password (README)
NOTIFIED_WITHIN = 90.0  # queued notifications reach the mail sink within this of the fault's end
FLT_CASES = 40  # open, unallocated cases added to Child Protection for the allocations
RACE_CASE = f"FLT-{FLT_CASES:04}"  # the one the simultaneous allocations are for
STOPPING = threading.Event()  # the run is over: work in the background gives up


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
