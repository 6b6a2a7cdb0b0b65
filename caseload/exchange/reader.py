"""Reading an uploaded workbook, CSV file or zip of CSV files into rows."""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from dataclasses import dataclass, field
from typing import Any

from caseload.exchange.format import SHEETS, SheetSpec, column_key, sheet_for
from reports.tables import FORMULA_STARTS as ESCAPED  # an export writes these behind a '

logger = logging.getLogger(__name__)

FORMULA_STARTS = ("=",)
FORMULA = object()  # a workbook cell that holds a formula, not a value


def _unescaped(value: Any) -> Any:
    """Text as it was before an export wrote it behind an apostrophe."""
    if isinstance(value, str) and value.startswith("'") and value[1:2] in ESCAPED:
        return value[1:]
    return value


class FileRefused(ValueError):
    """The file as a whole cannot be read: nothing in it is imported."""


@dataclass
class Row:
    number: int  # as the spreadsheet numbers it: the headings are row 1
    cells: dict[str, Any]


@dataclass
class Sheet:
    spec: SheetSpec
    headings: list[str]
    rows: list[Row] = field(default_factory=list)


@dataclass
class Workbook:
    sheets: dict[str, Sheet] = field(default_factory=dict)
    errors: list[tuple[str, int, str]] = field(default_factory=list)  # sheet, row, message
    ignored: list[str] = field(default_factory=list)  # sheets not of the format

    @property
    def row_count(self) -> int:
        return sum(len(sheet.rows) for sheet in self.sheets.values())


def _unpacked_size(content: bytes) -> int:
    """What a zip (an .xlsx is one) holds once unpacked, from its directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return 0


def read(name: str, content: bytes, *, max_rows: int, max_bytes: int | None = None) -> Workbook:
    """Read an .xlsx workbook, a .csv file named after its sheet, or a .zip of
    them. Raises FileRefused when the file cannot be read at all, or is larger
    than `max_bytes` (packed or, for a zip or workbook, unpacked)."""
    try:
        return _read(name, content, max_rows=max_rows, max_bytes=max_bytes)
    except FileRefused:
        raise
    except Exception:
        logger.warning("Could not read the uploaded file %s", name, exc_info=True)
        raise FileRefused(
            "The file could not be read: it may be damaged. Save it again from the "
            "spreadsheet and upload it once more."
        ) from None


def _read(name: str, content: bytes, *, max_rows: int, max_bytes: int | None) -> Workbook:
    lower = name.lower()
    book = Workbook()
    if max_bytes is not None:
        size = max(
            len(content), _unpacked_size(content) if lower.endswith((".xlsx", ".zip")) else 0
        )
        if size > max_bytes:
            raise FileRefused(
                f"The file is larger than {max_bytes // (1024 * 1024)} MB, the most one "
                "import takes. Split it into smaller files."
            )
    if lower.endswith(".xlsx"):
        _read_xlsx(content, book, max_rows)
    elif lower.endswith(".csv"):
        _read_csv(name, content, book, max_rows)
    elif lower.endswith(".zip"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(content))
        except zipfile.BadZipFile:
            raise FileRefused("The file is not a zip archive.") from None
        for member in archive.namelist():
            if member.endswith("/") or member.startswith("__MACOSX"):
                continue
            if not member.lower().endswith(".csv"):
                raise FileRefused(f"{member} in the zip is not a CSV file.")
            _read_csv(member.rsplit("/", 1)[-1], archive.read(member), book, max_rows)
    else:
        raise FileRefused("Upload an .xlsx workbook, a .csv file, or a .zip of CSV files.")
    if not book.sheets:
        raise FileRefused(
            "The file has none of the sheets of the format: "
            + ", ".join(spec.name for spec in SHEETS)
            + "."
        )
    return book


def _add(book: Workbook, spec: SheetSpec, headings: list[Any], rows, max_rows: int) -> None:  # type: ignore[no-untyped-def]
    if spec.name in book.sheets:
        raise FileRefused(f"The file has the {spec.name} sheet twice.")
    headings = [_unescaped(h) for h in headings]
    keys = [column_key(h) for h in headings]
    while keys and not keys[-1]:
        keys.pop()
    missing = [c.name for c in spec.columns if c.required and c.name not in keys]
    if missing:
        raise FileRefused(
            f"The {spec.name} sheet has no column {', '.join(missing)}. "
            "Its first row must hold the column names of the format."
        )
    unknown = [k for k in keys if k and k not in spec.column_names]
    if unknown and not spec.open_columns:
        raise FileRefused(
            f"The {spec.name} sheet has columns that are not in the format: {', '.join(unknown)}."
        )
    if len(set(filter(None, keys))) != len(list(filter(None, keys))):
        raise FileRefused(f"The {spec.name} sheet has a column twice.")
    sheet = Sheet(spec, [str(h).strip() if h is not None else "" for h in headings[: len(keys)]])
    book.sheets[spec.name] = sheet
    for number, values in rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue
        if book.row_count >= max_rows:
            raise FileRefused(
                f"The file has more than {max_rows:,} rows, the most one import takes. "
                "Split it into smaller files."
            )
        cells = {}
        for index, key in enumerate(keys):
            if not key:
                continue
            value = values[index] if index < len(values) else None
            if value is FORMULA or (
                isinstance(value, str) and value.startswith(FORMULA_STARTS) and len(value) > 1
            ):
                book.errors.append(
                    (spec.name, number, f"The {key} cell holds a formula: type the value itself")
                )
                value = None
            else:
                value = _unescaped(value)  # written as text by an export
            cells[key] = value
        sheet.rows.append(Row(number, cells))


def _read_xlsx(content: bytes, book: Workbook, max_rows: int) -> None:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:
        raise FileRefused("The file is not a workbook that can be read (.xlsx).") from None
    for worksheet in workbook.worksheets:
        spec = sheet_for(worksheet.title)
        if spec is None:
            if worksheet.title.strip().lower() not in ("read_me", "readme", "notes"):
                book.ignored.append(worksheet.title)
            continue  # notes, instructions: not part of the format
        rows = worksheet.iter_rows()
        try:
            headings = [cell.value for cell in next(rows)]
        except StopIteration:
            continue
        _add(book, spec, headings, _xlsx_rows(rows), max_rows)


def _xlsx_rows(rows):  # type: ignore[no-untyped-def]
    for number, row in enumerate(rows, start=2):
        yield (
            number,
            [FORMULA if getattr(cell, "data_type", None) == "f" else cell.value for cell in row],
        )


def _decode(name: str, content: bytes) -> str:
    """UTF-8 (with or without a byte-order mark, as Excel saves it), else
    Windows-1252, the older Excel "CSV" on Windows."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        raise FileRefused(
            f"{name} is not text that can be read: save it from Excel as "
            "“CSV UTF-8 (comma delimited)”."
        ) from None


def _read_csv(name: str, content: bytes, book: Workbook, max_rows: int) -> None:
    spec = sheet_for(name)
    if spec is None:
        raise FileRefused(
            f"{name} is not named after a sheet of the format (for example cases.csv)."
        )
    text = _decode(name, content)
    if "\x00" in text:
        raise FileRefused(f"{name} is not a text file.")
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # Only the delimiter is guessed: Excel always quotes with " and doubles it
    # inside a value, whatever the first rows happen to hold.
    reader = csv.reader(io.StringIO(text), csv.excel, delimiter=delimiter)
    try:
        headings = next(reader)
    except StopIteration:
        raise FileRefused(f"{name} is empty.") from None
    _add(book, spec, headings, ((n, row) for n, row in enumerate(reader, start=2)), max_rows)
