import datetime

from django import template

from caseload import dates, formatting

register = template.Library()
register.filter("plain_number", formatting.plain_number)
register.filter("one_decimal", formatting.one_decimal)


@register.filter
def long_date(day: datetime.date | None) -> str:
    """3 November 2026."""
    return dates.long_date(day) if day else ""
