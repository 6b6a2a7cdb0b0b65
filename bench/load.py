"""The floor page and the team page under load: gunicorn on loopback and
wrk with 10 connections."""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from bench.pages import signed_in
from bench.report import ms, say, target

ROOT = Path(__file__).resolve().parent.parent
LOAD_PORT = 8765


def wrk_figures(output: str) -> dict[str, float]:
    """Requests, requests a second and the latency percentiles (seconds) of
    wrk's --latency output."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
    figures: dict[str, float] = {}
    for share in ("50", "90", "99"):
        found = re.search(rf"^\s*{share}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if found is None:
            raise SystemExit(f"wrk printed no {share}th percentile:\n{output}")
        figures[f"p{share}"] = float(found[1]) * units[found[2]]
    figures["requests"] = float(re.search(r"(\d+) requests in", output)[1])  # type: ignore[index]
    figures["per second"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"wrk had answers other than the page:\n{output}")
    # Connections wrk gave up on (its --timeout) or lost, reported with the run.
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    figures["errors"] = float(sum(map(int, errors.groups()))) if errors else 0.0
    return figures


def measure_load(who: dict, *, seconds: int, rounds: int) -> None:
    """The floor page and the team page served by gunicorn on loopback, in
    turn, under wrk's load, all on this machine's cores."""
    wrk = shutil.which("wrk")
    if wrk is None:
        say("(wrk is not installed: `apt-get install wrk` for the load test.)")
        return
    client = signed_in(who["manager"])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    base = f"http://127.0.0.1:{LOAD_PORT}"
    urls = {
        "floor page": base + reverse("bench_floor"),
        "team page": base + reverse("team_detail", args=[who["team"].pk]),
    }
    workers = os.environ.get("BENCH_GUNICORN_WORKERS", "4")
    env = {**os.environ, "DATABASE_CONN_MAX_AGE": "600", "ALLOWED_HOSTS": "127.0.0.1"}
    # The product's application with bench/settings.py (the floor page's URL).
    gunicorn = [sys.executable, "-m", "gunicorn", "bench.wsgi:application"]
    server = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [
            *gunicorn,
            *("--bind", f"127.0.0.1:{LOAD_PORT}", "--workers", workers),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    runs: list[tuple[str, dict[str, float]]] = []
    try:
        for url in urls.values():
            serves(url, cookie)
        load = [wrk, "-t2", "-c10", "--timeout", "10s", "--latency", "-H", f"Cookie: {cookie}"]
        for url in urls.values():  # warm-up: each worker's first requests
            subprocess.run([*load, "-d3s", url], capture_output=True, check=True)  # noqa: S603
        for _ in range(rounds):
            for page, url in urls.items():
                output = subprocess.run(  # noqa: S603
                    [*load, f"-d{seconds}s", url],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                runs.append((page, wrk_figures(output)))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    say(
        f"### Under load: gunicorn ({workers} workers) and wrk (2 threads, 10 connections), "
        "all on this machine's cores with PostgreSQL"
    )
    say()
    say(
        f"The floor page and the team page (its manager's), {rounds} rounds of "
        f"{seconds} s each, in turn; every team page computed on each request."
    )
    say()
    say("| page | round | requests | requests a second | p50 | p90 | p99 | socket errors |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n, (page, figures) in enumerate(runs):
        say(
            f"| {page} | {n // len(urls) + 1} | {figures['requests']:,.0f} | "
            f"{figures['per second']:.1f} | {ms(figures['p50'])} | {ms(figures['p90'])} | "
            f"{ms(figures['p99'])} | {figures['errors']:.0f} |"
        )
    rate = {page: statistics.mean(f["per second"] for p, f in runs if p == page) for page in urls}
    worst = max(f["p99"] for p, f in runs if p == "team page")
    share = rate["team page"] / rate["floor page"]
    say()
    say(
        f"Mean over the rounds: floor page {rate['floor page']:.1f} requests a second, "
        f"team page {rate['team page']:.1f} (**{share:.0%}** of the floor's); "
        f"the team page's worst p99 {ms(worst)}."
    )
    say()
    target(
        "team page under load: requests a second, share of the floor page's",
        "≥ 60%",
        f"{share:.0%} ({rate['team page']:.0f} of {rate['floor page']:.0f})",
        share >= 0.6,
    )
    target("team page under load: p99", "≤ 150 ms", ms(worst), worst <= 0.150)


def serves(url: str, cookie: str) -> None:
    """Wait until gunicorn answers `url` itself (not the sign-in page)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    for _ in range(100):
        time.sleep(0.2)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                if answer.status == 200 and answer.geturl() == url:
                    return
                raise SystemExit(f"gunicorn answered {url} with {answer.geturl()}")
        except OSError:
            continue
    raise SystemExit(f"gunicorn did not serve {url}")
