"""The one import and export format: a workbook with a sheet per kind of
record, or the same sheets as CSV files. docs/import-format.md describes every
column; a test keeps the two in step."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from caseload.fields import is_blank
from caseload.models import AllocationKind, CaseType, Priority, Role, ServiceKind
from weighting.models import PauseReason, RatingStatus, ReductionReason, SchemeUnit

LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Col:
    name: str
    kind: str = "text"  # text, int, decimal, date, choice, list
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (code, label)
    max_length: int | None = None
    places: int = 2  # decimals kept, for decimal columns
    digits: int = 7  # digits in all, for decimal columns
    allowed: str = ""  # the values, in words, where the kind does not say them


@dataclass(frozen=True)
class SheetSpec:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    # Ratings take one column per criterion (and per anticipated criterion).
    open_columns: bool = False
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))

    def column(self, name: str) -> Col | None:
        return next((c for c in self.columns if c.name == name), None)


def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), str(label)) for value, label in enum.choices)


SERVICES = SheetSpec(
    "services",
    (
        Col("service", required=True, max_length=120),
        Col("kind", "choice", True, _choices(ServiceKind)),
        Col("band_green_from", "decimal", places=1, digits=5),
        Col("band_amber_above", "decimal", places=1, digits=5),
        Col("band_red_from", "decimal", places=1, digits=5),
        Col("supervision_weeks", "int"),
        Col("asye_supervision_weeks", "int"),
        Col("full_time_hours", "decimal", places=2, digits=4),
    ),
    key=("service",),
)
TEAMS = SheetSpec(
    "teams",
    (
        Col("service", required=True),
        Col("team", required=True, max_length=120),
        Col("aspiration", "decimal", True, places=1, digits=5),
        Col("managers", "list"),
    ),
    key=("service", "team"),
)
SCHEMES = SheetSpec(
    "schemes",
    (
        Col("service", required=True),
        Col("team"),
        Col("version", "int", True),
        Col("name", required=True, max_length=120),
        Col("benchmark", "decimal", True),
        Col("agreed_on", "date", True),
        Col("unit", "choice", False, _choices(SchemeUnit)),
        Col("non_case_hours", "decimal", places=2, digits=4),
    ),
    key=("service", "team", "version"),
)
CRITERIA = SheetSpec(
    "criteria",
    (
        Col("service", required=True),
        Col("team"),
        Col("version", "int", True),
        Col("criterion", required=True, max_length=60),
        Col("description", max_length=200),
        Col("level", "decimal", True, digits=5),
        Col("descriptor", required=True, max_length=500),
    ),
    key=("service", "team", "version", "criterion", "level"),
)
PEOPLE = SheetSpec(
    "people",
    (
        Col("username", required=True, max_length=150),
        Col("full_name", required=True, max_length=150),
        Col("email", max_length=254),
        Col("role", "choice", True, _choices(Role)),
        Col("service"),
        Col("fte", "decimal", True, digits=3),
        Col("supervisor"),
        Col("asye_start_date", "date"),
    ),
    key=("username",),
)
MEMBERSHIPS = SheetSpec(
    "memberships",
    (
        Col("username", required=True),
        Col("service", required=True),
        Col("team", required=True),
        Col("start_date", "date", True),
        Col("end_date", "date"),
    ),
    key=("username", "service", "team", "start_date"),
)
EXPERIENCE_FACTORS = SheetSpec(
    "experience_factors",
    (
        Col("username", required=True),
        Col("factor", "decimal", True, digits=3),
        Col("start_date", "date", True),
        Col("end_date", "date"),
        Col("reason", max_length=200),
    ),
    key=("username", "start_date"),
)
REDUCTIONS = SheetSpec(
    "reductions",
    (
        Col("username", required=True),
        Col(
            "reason",
            required=True,
            max_length=ReductionReason._meta.get_field("name").max_length,
            allowed="a reason's name on the list of the person's service, in any capitals",
        ),
        Col("detail", max_length=120),
        Col("hours_per_week", "decimal", digits=4),
        Col("percentage", "decimal", digits=5),
        Col("start_date", "date", True),
        Col("end_date", "date"),
    ),
    key=("username", "reason", "start_date"),
)
CASES = SheetSpec(
    "cases",
    (
        Col("service", required=True),
        Col("reference", required=True, max_length=40),
        Col("label", max_length=60),
        Col("type", "choice", True, _choices(CaseType)),
        Col("people", "int", True),
        Col("team", required=True),
        Col("priority", "choice", False, tuple((str(v), str(lab)) for v, lab in Priority.choices)),
        Col("opened_on", "date", True),
        Col("closed_on", "date"),
        Col("restricted", "choice", False, (("yes", "Yes"), ("no", "No"))),
    ),
    key=("service", "reference"),
)
CASE_MOVES = SheetSpec(
    "case_moves",
    (
        Col("service", required=True),
        Col("reference", required=True),
        Col("from_team", required=True),
        Col("to_team", required=True),
        Col("moved_on", "date", True),
        Col("reason", required=True),
    ),
    key=("service", "reference", "moved_on"),
)
ALLOCATIONS = SheetSpec(
    "allocations",
    (
        Col("service", required=True),
        Col("reference", required=True),
        Col("username", required=True),
        Col("kind", "choice", True, _choices(AllocationKind)),
        Col("start_date", "date", True),
        Col("end_date", "date"),
    ),
    key=("service", "reference", "username", "kind", "start_date"),
)
RATINGS = SheetSpec(
    "ratings",
    (
        Col("service", required=True),
        Col("reference", required=True),
        Col("rated_on", "date", True),
        Col("status", "choice", True, _choices(RatingStatus)),
        Col("rated_by"),
        Col("agreed_with"),
        Col("scheme_team"),
        Col("scheme_version", "int"),
        Col("anticipated_by", "date"),
    ),
    key=("service", "reference", "rated_on", "status"),
    open_columns=True,
)
ANTICIPATED_SUFFIX = " anticipated"  # "Risk anticipated": the level expected by a date
ANTICIPATED_KEY = "_anticipated"  # the same, as a column key

CASE_PAUSES = SheetSpec(
    "case_pauses",
    (
        Col("service", required=True),
        Col("reference", required=True),
        Col(
            "reason",
            required=True,
            max_length=PauseReason._meta.get_field("name").max_length,
            allowed="a reason's name on the list of the case's service, in any capitals",
        ),
        Col("factor", "decimal", digits=3),
        Col("start_date", "date", True),
        Col("counts_in_full_from", "date"),
        Col("end_date", "date"),
    ),
    key=("service", "reference", "start_date"),
)

SHEETS: tuple[SheetSpec, ...] = (
    SERVICES,
    TEAMS,
    SCHEMES,
    CRITERIA,
    PEOPLE,
    MEMBERSHIPS,
    EXPERIENCE_FACTORS,
    REDUCTIONS,
    CASES,
    CASE_MOVES,
    ALLOCATIONS,
    RATINGS,
    CASE_PAUSES,
)
BY_NAME = {sheet.name: sheet for sheet in SHEETS}


def sheet_for(title: str) -> SheetSpec | None:
    """A sheet or CSV file name as people write it: "Case moves", "case_moves.csv"."""
    key = re.sub(r"[\s\-]+", "_", title.strip().lower().removesuffix(".csv"))
    return BY_NAME.get(key)


def column_key(heading: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(heading or "").strip().lower())


# Cells ---------------------------------------------------------------------------


class CellError(ValueError):
    pass


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and is_blank(value))


def parse(col: Col, value: Any) -> Any:
    """A cell's value as the column's type, or CellError with a plain message."""
    if blank(value):
        if col.required:
            raise CellError(f"{col.name} is missing")
        return [] if col.kind == "list" else None
    if col.kind == "text":
        text = str(value).strip() if not isinstance(value, float) else _number_text(value)
        if col.max_length and len(text) > col.max_length:
            raise CellError(f"{col.name} is longer than {col.max_length} characters")
        return text
    if col.kind == "list":
        return [part.strip() for part in str(value).split(LIST_SEPARATOR) if part.strip()]
    if col.kind == "int":
        number = _decimal(col, value)
        if number != number.to_integral_value():
            raise CellError(f"{col.name} must be a whole number, not {value}")
        return int(number)
    if col.kind == "decimal":
        number = _decimal(col, value)
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > col.places:
            raise CellError(f"{col.name} has more than {col.places} decimal places: {value}")
        if abs(number) >= Decimal(10) ** (col.digits - col.places):
            raise CellError(f"{col.name} is too large: {value}")
        return number
    if col.kind == "date":
        return _date(col, value)
    if col.kind == "choice":
        text = str(value).strip().lower() if not isinstance(value, float) else _number_text(value)
        for code, label in col.choices:
            if text in (code.lower(), label.lower()):
                return code
        allowed = ", ".join(code for code, _ in col.choices)
        raise CellError(f"{col.name} {str(value).strip()!r} is not one of: {allowed}")
    raise AssertionError(col.kind)


def _number_text(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite
        raise CellError(f"{value} is not a value")
    return str(int(value)) if value == int(value) else str(value)


def _decimal(col: Col, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"{col.name} must be a number")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError(f"{col.name} must be a number")
        return value
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise CellError(f"{col.name} must be a number")
    text = str(value).strip()
    if "," in text:
        raise CellError(f"{col.name} must be a number written like 0.8, not {text!r}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CellError(f"{col.name} must be a number, not {str(value).strip()!r}") from None
    if not number.is_finite():
        raise CellError(f"{col.name} must be a number")
    if isinstance(value, float):
        number = Decimal(repr(value))  # 0.8 from a spreadsheet, not 0.8000000000000000444
    return number


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y")


def _date(col: Col, value: Any) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellError(f"{col.name} {text!r} is not a date: write 2026-07-31 or 31/07/2026")
