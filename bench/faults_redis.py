"""Faults of the broker: Redis stopped, and Redis hung, while writes that
notify are made."""

from __future__ import annotations

import signal
import threading
import time

from faults_browser import Answer
from faults_run import (
    Row,
    Run,
    Write,
    allocation,
    concern,
    last_notification,
    notifications_after,
    send_all,
    tally,
    unallocated_cases,
    watch_notifications,
)

FAST = 1.0  # a write with Redis down answers within this many seconds (issue item 7)
OUTAGE = 10.0  # seconds Redis stays down at least
HANG = 35.0  # seconds Redis stays stopped: longer than gunicorn's default 30 s worker timeout


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
