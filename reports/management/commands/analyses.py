"""Run the 12-week caseload analyses due on a day."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from reports.management.options import add_day_option, day_or_today
from reports.services.analyses import analyse, analyses_due


class Command(BaseCommand):
    help = (
        "Run the 12-week caseload analysis of every worker whose last one is 84 days "
        "old or more on the day (default today), and notify them and their supervisors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_day_option(parser)

    def handle(self, *args, day, **options) -> None:
        day = day_or_today(day)
        due = analyses_due(day)
        written = sum(analyse(person_ids, day) for person_ids in due.values())
        self.stdout.write(self.style.SUCCESS(f"{written} caseload analyses to {day}."))
