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
- Redis hung (SIGSTOP) while writes are made, then resumed (SIGCONT);
- the same case events sent many times at once to the case-events API.

It prints a table (fault, requests, lost, duplicated, 5xx, slowest, seconds
to recover) and exits 1 if a saved write was lost, duplicated or answered
with an error, a preview failed, or a fault did not recover within its
bound; 2 if the run itself failed or was stopped. Loopback only; every
process it starts is stopped by its own process group id, also on Ctrl+C
and at the hard time limit. Logs: bench/results/faults/.

The faults are in bench/faults_worker.py (killed worker, memory),
bench/faults_database.py (simultaneous allocations, dropped connections) and
bench/faults_redis.py (broker outage, hung Redis), bench/faults_api.py
(repeated case events); what they share in
bench/faults_run.py; the stack in bench/faults_stack.py.
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
from collections.abc import Callable
from pathlib import Path

from faults_api import repeated_events
from faults_database import dropped_connections, race_forms, simultaneous_allocations
from faults_redis import broker_outage, hung_redis
from faults_run import FLT_CASES, STOPPING, Row, Run, Watcher, last_notification, sign_in
from faults_stack import (
    HARNESS,
    ROOT,
    Stack,
    base_name,
    create_database,
    database_url,
    fingerprint,
    set_comment,
    template_comment,
)
from faults_worker import killed_backfill, killed_import, memory

sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "faults"


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
    "repeated_events": repeated_events,
}


# Shown in this order: the issue's.
SHOWN = [
    "broker_outage",
    "hung_redis",
    "killed_import",
    "killed_backfill",
    "simultaneous_allocations",
    "dropped_connections",
    "repeated_events",
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
