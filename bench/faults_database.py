"""Faults at the database: many managers allocating one case at once, and
every connection of the stack ended while requests run."""

from __future__ import annotations

import concurrent.futures
import threading
import time

from faults_browser import Browser, PageError
from faults_run import (
    RACE_CASE,
    STOPPING,
    Row,
    Run,
    Write,
    again,
    allocation,
    concern,
    last_notification,
    notifications_after,
    sign_in,
    tally,
    watch_notifications,
)
from faults_stack import terminate_connections


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
