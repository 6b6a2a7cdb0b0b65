"""Work out and keep every service overview's parts for the new release."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from caseload import changes
from reports import tasks


class Command(BaseCommand):
    help = (
        "Work out each service overview of today and keep its parts in the database "
        "(ADR 0015), as the minute's job does: run after `migrate` in a release, so "
        "that the DMT's first views of the new release find them kept."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not changes.keeps():
            self.stdout.write("This database keeps no parts (SQLite): nothing to do.")
            return
        looked_at = tasks.keep_overviews()
        services = "service" if looked_at == 1 else "services"
        self.stdout.write(self.style.SUCCESS(f"Kept the overviews of {looked_at} {services}."))
