"""Reading an uploaded workbook, CSV file or zip of CSV files into rows.

`read` opens the file and checks its sheets and their headings; the rows are
read one at a time, when the import comes to each sheet, so that a large file
is never held as rows in memory (only the upload's own bytes are)."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from caseload.tables import FORMULA_STARTS as ESCAPED  # an export writes these behind a '
from exchange.format import SHEETS, SheetSpec, column_key, sheet_for

logger = logging.getLogger(__name__)

FORMULA_STARTS = ("=",)
FORMULA = object()  # a workbook cell that holds a formula, not a value
CHUNK = 1024 * 1024  # bytes of a CSV file decoded at a time
DAMAGED = (
    "The file could not be read: it may be damaged. Save it again from the "
    "spreadsheet and upload it once more."
)

# A pass over a sheet's data rows: (row number, cell values) from row 2.
RowSource = Callable[[], Iterator[tuple[int, Sequence[Any]]]]
# A CSV file opened afresh, as bytes: the upload itself, or a member of a zip.
Opener = Callable[[], IO[bytes]]


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
    problems: list[str] = field(default_factory=list)  # cells that cannot be read


class Sheet:
    """One sheet of the format in the upload: its headings, checked when the
    file is opened, and a way to read its rows (`Workbook.rows`)."""

    def __init__(self, spec: SheetSpec, headings: list[Any], source: RowSource) -> None:
        self.spec = spec
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
                f"The {spec.name} sheet has columns that are not in the format: "
                f"{', '.join(unknown)}."
            )
        if len(set(filter(None, keys))) != len(list(filter(None, keys))):
            raise FileRefused(f"The {spec.name} sheet has a column twice.")
        self.keys = keys
        self.headings = [str(h).strip() if h is not None else "" for h in headings[: len(keys)]]
        self.source = source

    def row(self, number: int, values: Sequence[Any]) -> Row:
        row = Row(number, {})
        for index, key in enumerate(self.keys):
            if not key:
                continue
            value = values[index] if index < len(values) else None
            if value is FORMULA or (
                isinstance(value, str) and value.startswith(FORMULA_STARTS) and len(value) > 1
            ):
                row.problems.append(f"The {key} cell holds a formula: type the value itself")
                value = None
            else:
                value = _unescaped(value)  # written as text by an export
            row.cells[key] = value
        return row


@dataclass
class Workbook:
    max_rows: int
    sheets: dict[str, Sheet] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # sheets not of the format
    counted: dict[str, int] = field(default_factory=dict)  # rows read, by sheet

    @property
    def row_count(self) -> int:
        """The rows read so far: all of them once every sheet has been read."""
        return sum(self.counted.values())

    def add(self, spec: SheetSpec, headings: list[Any], source: RowSource) -> None:
        if spec.name in self.sheets:
            raise FileRefused(f"The file has the {spec.name} sheet twice.")
        self.sheets[spec.name] = Sheet(spec, headings, source)

    def rows(self, name: str) -> Iterator[Row]:
        """A sheet's rows, blank ones skipped, one at a time (none if the
        file has no such sheet). Raises FileRefused when the file turns out
        to be unreadable, or to hold more rows than one import takes."""
        sheet = self.sheets.get(name)
        if sheet is None:
            return
        self.counted[name] = 0
        try:
            for number, values in sheet.source():
                if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                    continue
                self.counted[name] += 1
                if self.row_count > self.max_rows:
                    raise FileRefused(
                        f"The file has more than {self.max_rows:,} rows, the most one "
                        "import takes. Split it into smaller files."
                    )
                yield sheet.row(number, values)
        except FileRefused:
            raise
        except Exception:
            # A workbook or zip is parsed while its rows are read.
            logger.warning("Could not read a row of the %s sheet", name, exc_info=True)
            raise FileRefused(DAMAGED) from None


def _unpacked_size(content: bytes) -> int:
    """What a zip (an .xlsx is one) holds once unpacked, from its directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        return 0


def read(name: str, content: bytes, *, max_rows: int, max_bytes: int | None = None) -> Workbook:
    """Open an .xlsx workbook, a .csv file named after its sheet, or a .zip of
    them, and check its sheets' headings. Raises FileRefused when the file
    cannot be read at all, or is larger than `max_bytes` (packed or, for a zip
    or workbook, unpacked); its rows are read by `Sheet.rows`."""
    try:
        return _read(name, content, max_rows=max_rows, max_bytes=max_bytes)
    except FileRefused:
        raise
    except Exception:
        logger.warning("Could not read the uploaded file %s", name, exc_info=True)
        raise FileRefused(DAMAGED) from None


def _read(name: str, content: bytes, *, max_rows: int, max_bytes: int | None) -> Workbook:
    lower = name.lower()
    book = Workbook(max_rows=max_rows)
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
        _read_xlsx(content, book)
    elif lower.endswith(".csv"):
        _read_csv(name, lambda: io.BytesIO(content), book)  # BytesIO shares the bytes
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
            _read_csv(member.rsplit("/", 1)[-1], lambda member=member: archive.open(member), book)
    else:
        raise FileRefused("Upload an .xlsx workbook, a .csv file, or a .zip of CSV files.")
    if not book.sheets:
        raise FileRefused(
            "The file has none of the sheets of the format: "
            + ", ".join(spec.name for spec in SHEETS)
            + "."
        )
    return book


def _read_xlsx(content: bytes, book: Workbook) -> None:
    from openpyxl import load_workbook

    try:
        # Read-only: each sheet is parsed as its rows are read, never held whole.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:
        raise FileRefused("The file is not a workbook that can be read (.xlsx).") from None
    for worksheet in workbook.worksheets:
        spec = sheet_for(worksheet.title)
        if spec is None:
            if worksheet.title.strip().lower() not in ("read_me", "readme", "notes"):
                book.ignored.append(worksheet.title)
            continue  # notes, instructions: not part of the format
        first = next(worksheet.iter_rows(max_row=1), None)
        if first is None:
            continue
        book.add(spec, [cell.value for cell in first], lambda ws=worksheet: _xlsx_rows(ws))


def _xlsx_rows(worksheet) -> Iterator[tuple[int, list[Any]]]:  # type: ignore[no-untyped-def]
    for number, row in enumerate(worksheet.iter_rows(min_row=2), start=2):
        yield (
            number,
            [FORMULA if getattr(cell, "data_type", None) == "f" else cell.value for cell in row],
        )


def _encoding(name: str, opened: Opener) -> str:
    """UTF-8 (with or without a byte-order mark, as Excel saves it), else
    Windows-1252, the older Excel "CSV" on Windows. The file is decoded a
    chunk at a time to tell, and the text thrown away."""
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        nul = False
        try:
            with opened() as stream:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    decoder.decode(chunk)
                    nul = nul or b"\x00" in chunk
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if nul:  # both encodings write a NUL character as a zero byte
            raise FileRefused(f"{name} is not a text file.")
        return encoding
    raise FileRefused(
        f"{name} is not text that can be read: save it from Excel as “CSV UTF-8 (comma delimited)”."
    )


def _read_csv(name: str, opened: Opener, book: Workbook) -> None:
    spec = sheet_for(name)
    if spec is None:
        raise FileRefused(
            f"{name} is not named after a sheet of the format (for example cases.csv)."
        )
    encoding = _encoding(name, opened)

    def text() -> io.TextIOWrapper:
        # Decoded as it is read. Lines end at "\n" only, as Excel writes them:
        # a bare "\r" inside an unquoted value is an error, not a new row.
        return io.TextIOWrapper(opened(), encoding=encoding, newline="\n")

    try:
        delimiter = csv.Sniffer().sniff(text().read(4096), delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    # Only the delimiter is guessed: Excel always quotes with " and doubles it
    # inside a value, whatever the first rows happen to hold.

    def rows() -> Iterator[tuple[int, list[str]]]:
        reader = csv.reader(text(), csv.excel, delimiter=delimiter)
        next(reader, None)  # the headings
        return enumerate(reader, start=2)

    headings = next(csv.reader(text(), csv.excel, delimiter=delimiter), None)
    if headings is None:
        raise FileRefused(f"{name} is empty.")
    book.add(spec, headings, rows)
