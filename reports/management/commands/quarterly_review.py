"""Take the quarterly DMT review of a quarter."""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from caseload.dates import Quarter
from caseload.models import Service
from reports.management.options import find_service
from reports.services.reviews import quarterly_review


def quarter(value: str) -> Quarter:
    try:
        return Quarter.parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Take each service's review of a quarter (default: the quarter just ended). "
        "A review already taken is kept; --rerun takes a new version beside it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quarter", type=quarter, help='The quarter: "Q2 2026/27" or any month, "2026-07".'
        )
        parser.add_argument("--service", help="Only this service (its name or number).")
        parser.add_argument("--rerun", action="store_true", help="Take it again as a new version.")

    def handle(self, *args, quarter, service, rerun, **options) -> None:
        quarter = quarter or Quarter.containing(timezone.localdate()).previous
        if quarter.end >= timezone.localdate():
            raise CommandError(f"{quarter.label} has not ended yet.")
        chosen = [find_service(service)] if service else Service.objects.all()
        for each in chosen:
            before = each.reviews.filter(quarter_end=quarter.end).count()
            review = quarterly_review(each, quarter, rerun=rerun)
            state = (
                "taken" if each.reviews.filter(quarter_end=quarter.end).count() > before else "kept"
            )
            self.stdout.write(f"{each}: {quarter.label}, version {review.version} ({state}).")
