"""Tables of values defined once and shown three ways: on the page, as CSV or
XLSX downloads, and in the DMT pack (PDF). A download holds exactly the
stored values (numbers as numbers); the page shows them to one decimal.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import HttpResponse
from django.utils.safestring import SafeString, mark_safe
from openpyxl import Workbook
from openpyxl.styles import Font

from caseload.dates import long_date
from caseload.markup import escaped, format_html

# A spreadsheet reads a cell starting with one of these as a formula (OWASP's
# list for CSV injection, and the full-width ＝ ＋ － ＠ that spreadsheets read
# as = + - @); and an apostrophe is doubled, so that reading the file back is
# exact. Every CSV and XLSX file Caseload writes goes through escape_formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", "'")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Link:
    """A cell that links to a page; downloads keep its text."""

    text: str
    url: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Tag:
    """A cell shown as a GOV.UK tag (a band, a status); downloads keep its text."""

    text: str
    colour: str = ""  # an app-band--* or govuk-tag--* modifier

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Column:
    heading: str
    kind: str = "text"  # text, integer, decimal, date, chart
    places: int | None = 1  # decimals shown on the page; None: as the value holds them

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    @property
    def exported(self) -> bool:
        return self.kind != "chart"


@dataclass
class Table:
    slug: str
    caption: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    totals: list[Any] | None = None
    empty: str = "Nothing to show."

    def cells(self, row: list[Any]) -> list[tuple[Column, Any]]:
        return list(zip(self.columns, row, strict=True))

    def only(self, headings: list[str]) -> Table:
        """The same table with only the columns of these headings (those it
        has), in its own order: a summary that fits a page beside the whole."""
        keep = [n for n, column in enumerate(self.columns) if column.heading in headings]
        return Table(
            self.slug,
            self.caption,
            [self.columns[n] for n in keep],
            [[row[n] for n in keep] for row in self.rows],
            [self.totals[n] for n in keep] if self.totals else None,
            self.empty,
        )

    @property
    def body_html(self) -> SafeString:
        """The table's rows as the page shows them. Built here rather than
        cell by cell in the template: the DMT tables of a large service have
        thousands of cells, and this is several times faster."""
        if not self.rows:
            return format_html(
                '<tr class="govuk-table__row"><td class="govuk-table__cell" colspan="{}">{}</td>'
                "</tr>",
                len(self.columns),
                self.empty,
            )
        rows = [self._row_html("govuk-table__row", row) for row in self.rows]
        if self.totals:
            rows.append(self._row_html("govuk-table__row app-table-totals", self.totals))
        # Every part is escaped by cell_html.
        return mark_safe("".join(rows))  # noqa: S308

    def _row_html(self, row_class: str, row: list[Any]) -> str:
        parts = [f'<tr class="{row_class}">']
        for n, (column, value) in enumerate(zip(self.columns, row, strict=True)):
            inner = cell_html(value, column)
            if n == 0:
                parts.append(f'<th scope="row" class="govuk-table__header">{inner}</th>')
            elif column.numeric:
                parts.append(
                    '<td class="govuk-table__cell govuk-table__cell--numeric app-numeric">'
                    f"{inner}</td>"
                )
            else:
                parts.append(f'<td class="govuk-table__cell">{inner}</td>')
        parts.append("</tr>")
        return "".join(parts)

    def exported_rows(self) -> list[list[Any]]:
        keep = [n for n, c in enumerate(self.columns) if c.exported]
        rows = [*self.rows, *([self.totals] if self.totals else [])]
        return [[_plain(row[n]) for n in keep] for row in rows]

    @property
    def exported_headings(self) -> list[str]:
        return [c.heading for c in self.columns if c.exported]


EXPORT_PLACES = Decimal("0.0001")


def _plain(value: Any) -> Any:
    if isinstance(value, Link | Tag):
        return value.text
    if isinstance(value, Decimal) and value.as_tuple().exponent < -4:
        # A figure computed today, to the places the stored reviews keep.
        return value.quantize(EXPORT_PLACES, rounding=ROUND_HALF_UP)
    return value


def cell_html(value: Any, column: Column) -> SafeString:
    """A cell's content as HTML: a link, a tag, a chart, or the value shown."""
    if isinstance(value, Link):
        return format_html('<a class="govuk-link" href="{}">{}</a>', value.url, value.text)
    if isinstance(value, Tag):
        return format_html('<strong class="govuk-tag {}">{}</strong>', value.colour, value.text)
    if isinstance(value, SafeString):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        # Digits, commas, a point and a sign: nothing to escape.
        return SafeString(shown(value, column))
    return SafeString(escaped(shown(value, column)))


def shown(value: Any, column: Column) -> str:
    """A cell as the page shows it."""
    if value is None:
        return "–" if column.numeric else ""
    if isinstance(value, Decimal) and column.places is None:
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value.quantize(_step(column.places), rounding=ROUND_HALF_UP):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, datetime.date):
        return long_date(value)
    return str(value)


@functools.cache
def _step(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def escape_formula(text: str) -> str:
    """Text that a spreadsheet would run as a formula is written as text."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | datetime.date):
        return str(value) if isinstance(value, int) else value.isoformat()
    return escape_formula(str(value))


def as_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads "–" and "£" right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([escape_formula(h) for h in table.exported_headings])
    for row in table.exported_rows():
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_title(text: str, taken: set[str]) -> str:
    """A sheet name (at most 31 characters, none of []:*?/\\) that reads as
    the caption does. "Asha Patel: the last 12 weeks" is "The last 12 weeks"
    (the file names whose numbers they are), and a long caption is cut at a
    word, never inside one."""
    text = text.rsplit(":", 1)[-1].strip()
    text = " ".join(re.sub(r"[\[\]*?/\\]", " ", text).split()).strip("'")
    text = text[:1].upper() + text[1:]
    if len(text) > 31:
        text = text[:32].rsplit(" ", 1)[0]
    base = text.rstrip(" -,(") or "Table"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
    taken.add(title.lower())
    return title


def _shown_width(value: Any) -> int:
    """About how many characters a cell shows."""
    if isinstance(value, datetime.date):
        return 17  # "30 September 2026"
    if isinstance(value, Decimal | float):
        return len(f"{value:.1f}")
    return len(str(value)) if value is not None else 0


def as_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table: numbers as numbers, dates as dates, text escaped."""
    book = Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.caption, taken))
        sheet.append([escape_formula(h) for h in table.exported_headings])
        for cell in sheet[1]:
            cell.font = bold
        columns = [c for c in table.columns if c.exported]
        for row in table.exported_rows():
            values = []
            for value in row:
                if isinstance(value, str):
                    value = escape_formula(value)
                elif isinstance(value, bool):
                    value = "yes" if value else "no"
                values.append(value)
            sheet.append(values)
            for cell, column in zip(sheet[sheet.max_row], columns, strict=True):
                if cell.data_type == "f":  # never: text is escaped above
                    cell.data_type = "s"
                if column.kind == "date" and cell.value is not None:
                    cell.number_format = "d mmmm yyyy"
                elif column.kind == "decimal":
                    cell.number_format = "0.0###"
        # Each column as wide as its widest cell, within reason.
        for cells in sheet.iter_cols():
            widest = max(_shown_width(cell.value) for cell in cells)
            sheet.column_dimensions[cells[0].column_letter].width = max(8, min(60, widest + 2))
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(tables: list[Table], file_stem: str, file_format: str) -> HttpResponse:
    """A CSV of the first table, or an XLSX workbook of them all."""
    if file_format == "csv":
        response = HttpResponse(as_csv(tables[0]), content_type=CSV_TYPE)
        name = f"{file_stem}.csv"
    else:
        response = HttpResponse(as_xlsx(tables), content_type=XLSX_TYPE)
        name = f"{file_stem}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
