"""What the reports commands share: date options and a progress bar."""

from __future__ import annotations

import argparse
import datetime
from typing import TextIO

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from caseload.models import Service


def iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date: write it as 2026-07-31."
        ) from None


def add_day_option(parser: CommandParser) -> None:
    parser.add_argument(
        "--day",
        type=iso_date,
        default=None,
        help="The day to run the job for, as 2026-07-31 (default: today).",
    )


def day_or_today(value: datetime.date | None) -> datetime.date:
    return value or timezone.localdate()


def find_service(value: str) -> Service:
    """A service by its name or number, or a clear message naming them all."""
    found = Service.objects.filter(pk=int(value)) if value.isdigit() else None
    found = found or Service.objects.filter(name__iexact=value)
    if not found:
        names = ", ".join(Service.objects.values_list("name", flat=True))
        raise CommandError(f"No service {value!r}. The services are: {names}.")
    return found.get()


class ProgressBar:
    """`[#########...........]  120/365 days`, redrawn in place on a terminal
    and written as a line a month otherwise (logs stay short)."""

    WIDTH = 30

    def __init__(self, out: TextIO, unit: str = "days") -> None:
        self.out = out
        self.unit = unit
        isatty = getattr(out, "isatty", None)
        self.interactive = bool(isatty and isatty())

    def __call__(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // total if total else self.WIDTH
        bar = "#" * filled + "." * (self.WIDTH - filled)
        line = f"[{bar}] {done:>{len(str(total))}}/{total} {self.unit}"
        if self.interactive:
            self.out.write("\r" + line + ("\n" if done >= total else ""))
        else:
            self.out.write(line + "\n")
        self.out.flush()
