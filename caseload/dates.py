"""Dates as people read them, and the council's calendar."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass


def long_date(day: datetime.date) -> str:
    """3 November 2026."""
    return f"{day.day} {day:%B %Y}"


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` calendar months later, or the month's last day
    when it is shorter (31 January + 1 month = 28 or 29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    next_month = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last_day))


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter, labelled by its months and by the council's
    financial year (April to March): Jul–Sep 2026 is Q2 2026/27."""

    start: datetime.date

    @classmethod
    def containing(cls, day: datetime.date) -> Quarter:
        return cls(datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1))

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """ "2026-07" (any month of the quarter) or "Q2 2026/27"."""
        text = text.strip()
        match = re.fullmatch(r"Q([1-4])\s+(\d{4})/(\d{2})", text)
        if match:
            number, year = int(match.group(1)), int(match.group(2))
            month = 3 * number + 1  # Q1 starts in April
            return cls(datetime.date(year + (month > 12), (month - 1) % 12 + 1, 1))
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
        if match and 1 <= int(match.group(2)) <= 12:
            return cls.containing(datetime.date(int(match.group(1)), int(match.group(2)), 1))
        raise ValueError(f"{text!r} is not a quarter: write 2026-07 or Q2 2026/27.")

    @property
    def end(self) -> datetime.date:
        return add_months(self.start, 3) - datetime.timedelta(days=1)

    @property
    def previous(self) -> Quarter:
        return Quarter(add_months(self.start, -3))

    @property
    def next(self) -> Quarter:
        return Quarter(add_months(self.start, 3))

    @property
    def months_label(self) -> str:
        """Jul–Sep 2026."""
        return f"{self.start:%b}–{self.end:%b} {self.end.year}"

    @property
    def financial_label(self) -> str:
        """Q2 2026/27."""
        year = self.start.year if self.start.month >= 4 else self.start.year - 1
        number = ((self.start.month - 4) % 12) // 3 + 1
        return f"Q{number} {year}/{(year + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.months_label} ({self.financial_label})"

    def days(self) -> list[datetime.date]:
        count = (self.end - self.start).days + 1
        return [self.start + datetime.timedelta(days=n) for n in range(count)]
