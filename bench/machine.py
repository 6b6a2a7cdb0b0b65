"""The machine the benchmark ran on, and its speed at the start and the end
of a run."""

from __future__ import annotations

import platform
import time
from pathlib import Path

from django.db import connection

from bench.report import ms


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


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
