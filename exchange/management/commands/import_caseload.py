"""Import the whole caseload from a workbook, a CSV file or a zip of CSV files."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseload.models import Person
from exchange import importer, runs
from exchange.reader import FileRefused, read


class Command(BaseCommand):
    help = (
        "Import services, teams, schemes, people, cases, allocations and ratings in the "
        "format of docs/import-format.md. Nothing is written unless the whole file is valid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="An .xlsx workbook, a .csv file or a .zip.")
        parser.add_argument(
            "--by",
            metavar="USERNAME",
            help="Whose import this is: recorded as who allocated and rated.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would be created, updated and left alone; write nothing.",
        )

    def handle(self, *args, file: Path, dry_run: bool, by: str | None, **options) -> None:  # type: ignore[no-untyped-def]
        if not file.is_file():
            raise CommandError(f"There is no file {file}.")
        person = None
        if by:
            person = Person.objects.filter(user__username=by).first()
            if person is None:
                raise CommandError(f"There is no person with user name {by!r}.")
        started = time.monotonic()

        def progress(done: int) -> None:
            if done % 10_000 == 0:
                self.stdout.write(f"Checked {done:,} rows…")

        try:
            book = read(file.name, file.read_bytes(), **runs.limits())
            outcome = importer.run(book, dry_run=dry_run, by=person, progress=progress)
        except FileRefused as error:
            raise CommandError(f"{file.name}: {error} Nothing was imported.") from None
        for sheet, created, updated, unchanged in outcome.rows:
            self.stdout.write(
                f"{sheet}: {created} created, {updated} updated, {unchanged} unchanged"
            )
        for note in outcome.notes:
            self.stdout.write(note)
        if not outcome.valid:
            for sheet, row, message in outcome.errors[:200]:
                where = f"{sheet}, row {row}" if row else sheet
                self.stderr.write(f"{where}: {message}")
            more = len(outcome.errors) - 200
            if more > 0:
                self.stderr.write(f"… and {more} more.")
            raise CommandError(
                f"{len(outcome.errors)} problem{'s' if len(outcome.errors) != 1 else ''} in "
                f"{file.name}. Nothing was imported."
            )
        took = time.monotonic() - started
        if dry_run:
            self.stdout.write(f"Dry run of {book.row_count} rows in {took:.1f} s: nothing written.")
        else:
            self.stdout.write(f"Imported {book.row_count} rows in {took:.1f} s.")
