"""Export the whole caseload in the import format."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseload import audit
from exchange import exporter


class Command(BaseCommand):
    help = "Export every record the numbers depend on, as an .xlsx workbook or a .zip of CSVs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Where to write: a name ending .xlsx or .zip.")

    def handle(self, *args, file: Path, **options) -> None:  # type: ignore[no-untyped-def]
        sheets = exporter.collect()
        audit.record_listing(None, audit.Listing.EXPORT, exporter.cases_exported())
        if file.suffix.lower() == ".xlsx":
            file.write_bytes(exporter.as_xlsx(sheets))
        elif file.suffix.lower() == ".zip":
            file.write_bytes(exporter.as_zip(sheets))
        else:
            raise CommandError("Name the file .xlsx (a workbook) or .zip (CSV files).")
        rows = sum(len(rows) for _, rows in sheets.values())
        self.stdout.write(f"Exported {rows} rows to {file}.")
