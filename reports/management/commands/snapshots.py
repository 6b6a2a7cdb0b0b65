"""Store caseload snapshots for a day, or back-fill a range of days."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.management.options import (
    ProgressBar,
    add_day_option,
    day_or_today,
    find_service,
    iso_date,
)
from reports.services.snapshots import backfill_snapshots


class Command(BaseCommand):
    help = (
        "Store everyone's caseload snapshot for a day (default today), or back-fill "
        "every day from --from to --to. Existing snapshots are brought up to date; "
        "none is stored twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_day_option(parser)
        parser.add_argument("--from", dest="first", type=iso_date, help="First day to back-fill.")
        parser.add_argument("--to", dest="last", type=iso_date, help="Last day (default today).")
        parser.add_argument(
            "--service", help="Only the people of this service (its name or number)."
        )

    def handle(self, *args, day, first, last, service, **options) -> None:
        service_ids = [find_service(service).pk] if service else None
        if first is None:
            if last is not None:
                raise CommandError("Give --from with --to.")
            first = last = day_or_today(day)
        elif day is not None:
            raise CommandError("Give either --day or --from and --to, not both.")
        last = last or day_or_today(None)
        if last < first:
            raise CommandError(f"--to ({last}) is before --from ({first}).")
        written = backfill_snapshots(
            first, last, service_ids=service_ids, progress=ProgressBar(self.stdout)
        )
        days = (last - first).days + 1
        self.stdout.write(
            self.style.SUCCESS(f"Stored {written} snapshots for {days} day(s), {first} to {last}.")
        )
