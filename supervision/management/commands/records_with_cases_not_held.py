from itertools import groupby

from django.core.management.base import BaseCommand, CommandParser

from caseload.dates import long_date
from supervision.services import draft_items_not_held_remove, items_not_held


class Command(BaseCommand):
    help = (
        "List the supervision records that list cases their worker did not hold on the "
        "record's day, for the supervisor to correct with an addendum. With --fix-drafts, "
        "take those cases off the drafts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fix-drafts", action="store_true", help="Take the cases off the drafts too."
        )

    def handle(self, *args: object, fix_drafts: bool, **options: object) -> None:
        items = list(items_not_held())
        for record, listed in groupby(items, key=lambda item: item.record):
            references = ", ".join(item.case.reference for item in listed)
            self.stdout.write(
                f"Record {record.pk}: supervision of {record.worker} on "
                f"{long_date(record.held_on)} by {record.supervisor} "
                f"({record.get_status_display().lower()}) lists {references}, "
                f"which {record.worker} did not hold that day."
            )
        records = len({item.record_id for item in items})
        self.stdout.write(f"{records} record{'s' if records != 1 else ''} affected.")
        if fix_drafts:
            removed = draft_items_not_held_remove()
            self.stdout.write(f"Took {removed} case{'s' if removed != 1 else ''} off drafts.")
