"""Dates as people read them, and the council's calendar."""

import datetime


def long_date(day: datetime.date) -> str:
    """3 November 2026."""
    return f"{day.day} {day:%B %Y}"
