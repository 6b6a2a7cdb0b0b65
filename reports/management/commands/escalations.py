"""Escalate workers over the maximum for more than three months."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from reports.management.options import add_day_option, day_or_today
from reports.services.escalations import escalate


class Command(BaseCommand):
    help = (
        "Escalate to senior managers everyone over the maximum on every day for more "
        "than three months up to the day (default today). Each run is escalated once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_day_option(parser)

    def handle(self, *args, day, **options) -> None:
        day = day_or_today(day)
        created = escalate(day)
        self.stdout.write(self.style.SUCCESS(f"{created} new escalation(s) on {day}."))
