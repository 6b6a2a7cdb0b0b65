"""The benchmark's report: each line printed and kept for bench/results/,
each target met or missed, and the timing helpers the measures share."""

from __future__ import annotations

import time

LINES: list[str] = []


def say(line: str = "") -> None:
    print(line, flush=True)
    LINES.append(line)


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# Each target of the issue: what, the target, what was measured, met.
TARGETS: list[tuple[str, str, str, bool]] = []


def target(what: str, wanted: str, measured: str, met: bool) -> None:
    TARGETS.append((what, wanted, measured, met))
