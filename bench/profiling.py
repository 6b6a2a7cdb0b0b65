"""Where each page's time and queries go (`bench/scale.py --profile`): each
query with its time, the time in statements and in Python, and cProfile's
split of the Python time."""

from __future__ import annotations

import cProfile
import datetime
import functools
import io
import pstats
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.pages import allocation_requests, principals, signed_in, target_pages, warmed
from bench.report import ms, say, timed

ROOT = Path(__file__).resolve().parent.parent


# The tables every signed-in request reads or writes, whatever its page.
OVERHEAD_TABLES = ("django_session", "auth_user", "axes_", "caseload_accessrecord")


def shape(sql: str) -> str:
    """A query with its values taken out, to tell the same query apart."""
    return re.sub(r"'[^']*'|\b\d+\b", "?", sql)


def python_split(stats: pstats.Stats) -> list[tuple[str, float]]:
    """The requests' own time under cProfile (tottime), by where it is
    spent: waiting for PostgreSQL (psycopg2's execute, fetch and commit),
    the ORM building queries and rows, templates, the app's code, the rest
    of Django, and the other libraries and Python itself."""
    areas = (
        ("waiting for PostgreSQL (psycopg2)", ("psycopg",)),
        ("Django ORM (building SQL, making rows into objects)", ("django/db/",)),
        ("Django templates", ("django/template/", "django/utils/html", "django/utils/safestring")),
        (
            "the app's code",
            (
                "/caseload/",
                "/weighting/",
                "/reports/",
                "/supervision/",
                "/exchange/",
                "/allocation/",
                "/demo/",
            ),
        ),
        ("Django: middleware, requests, sessions, auth", ("django/",)),
        ("other libraries and Python itself", ("",)),
    )
    totals = dict.fromkeys((name for name, _ in areas), 0.0)
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename} {function}"
        for name, markers in areas:
            if any(marker in where for marker in markers):
                totals[name] += tottime
                break
    return list(totals.items())


class QueryClock:
    """Each statement a request sends, with its time to the microsecond
    (Django's own log rounds to the millisecond)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, float]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, time.perf_counter() - started))


def profile_request(
    ready: Callable[[], Callable[[], Any]], label: str, floor_shapes: set[str], requests: int
) -> set[str]:
    """One request's queries, each with its time; then `requests` more
    timed whole and their statements' time; then as many under cProfile.
    `ready()` makes the next request ready (untimed) and returns it.
    Returns the queries' shapes."""
    request = ready()
    clock = QueryClock()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(clock):
        answered(request())
    # Django's log (what the tests count) also has BEGIN and COMMIT, which
    # no cursor sends; the clock has the rest, in the same order.
    timed_statements = iter(clock.statements)
    say(f"#### {label}: {len(captured)} queries")
    say()
    say("| # | ms | also on the floor page | query |")
    say("| ---: | ---: | --- | --- |")
    shapes = set()
    for n, query in enumerate(captured.captured_queries, 1):
        if query["sql"] in ("BEGIN", "COMMIT", "ROLLBACK"):
            sql, seconds = query["sql"], float(query["time"])
        else:
            sql, seconds = next(timed_statements)
        shapes.add(shape(sql))
        overhead = shape(sql) in floor_shapes or any(t in sql for t in OVERHEAD_TABLES)
        text = " ".join(sql.split()).replace("|", "\\|")
        say(f"| {n} | {seconds * 1000:.2f} | {'yes' if overhead else ''} | `{text[:400]}` |")
    say()
    walls, waits = [], []
    for _ in range(requests):
        request = ready()
        clock = QueryClock()
        with connection.execute_wrapper(clock):
            _, seconds = timed(lambda request=request: answered(request()))
        walls.append(seconds)
        waits.append(sum(seconds for _, seconds in clock.statements))
    say(
        f"Unprofiled, {requests} requests (medians): {ms(statistics.median(walls))} "
        f"a request, of which {ms(statistics.median(waits))} in its statements "
        "(sent, run by PostgreSQL, rows read by the driver; BEGIN and COMMIT not counted) "
        f"and {ms(statistics.median(w - q for w, q in zip(walls, waits, strict=True)))} "
        "in Python."
    )
    say()
    profiler = cProfile.Profile()
    for _ in range(requests):
        request = ready()
        profiler.enable()
        answered(request())
        profiler.disable()
    stats = pstats.Stats(profiler)
    say("Under cProfile (which slows Python more than the database), a request's time:")
    say()
    say("| where | ms a request |")
    say("| --- | ---: |")
    for name, seconds in python_split(stats):
        say(f"| {name} | {ms(seconds / requests)} |")
    say()
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(r"(caseload|weighting|reports|supervision)/", 30)
    say("The app's functions by cumulative time (cProfile, all requests):")
    say()
    say("```")
    for line in out.getvalue().splitlines():
        if re.match(r"\s*\d", line) or "ncalls" in line:
            say(line.replace(str(ROOT) + "/", ""))
    say("```")
    say()
    return shapes


def answered(response: HttpResponse) -> None:
    if response.status_code not in (200, 302):
        raise SystemExit(f"{response.request['PATH_INFO']} answered {response.status_code}")


def profile_pages(today: datetime.date, requests: int) -> None:
    who = principals(today)
    say("### Where each page's time and queries go (computed live)")
    say()
    floor = reverse("bench_floor")
    for name, role, url, *_ in target_pages(who):
        client = signed_in(who[role])
        warmed(client, floor, url)
        floor_page = functools.partial(client.get, floor)
        floor_shapes = profile_request(
            lambda floor_page=floor_page: floor_page,
            f"floor page, as the {role}",
            set(),
            requests,
        )
        page = functools.partial(client.get, url)
        profile_request(lambda page=page: page, name, floor_shapes, requests)
    posts = allocation_requests(today, 2 * requests + 2)
    answered(next(posts)())  # the process's first: connects to the broker
    profile_request(lambda: next(posts), "allocation POST (manager)", floor_shapes, requests)
