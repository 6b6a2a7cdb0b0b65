"""Dates as people read them, and the council's calendar."""

import datetime


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
