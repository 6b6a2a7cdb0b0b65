"""docs/import-format.md describes every column of the import format: each
sheet's table lists exactly the columns of `format.SHEETS`, whether each is
required, and every code (and label) a choice column takes."""

from __future__ import annotations

import datetime
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from caseload.models import Person
from exchange import exporter, importer, reader
from exchange.format import ANTICIPATED_SUFFIX, SHEETS, SheetSpec
from weighting.numbers import caseload_numbers

DOC = Path(__file__).resolve().parent.parent / "docs" / "import-format.md"
# The ratings sheet's open columns, named after the criteria of a scheme.
CRITERION = "<criterion>"
PLACEHOLDERS = (CRITERION, f"{CRITERION}{ANTICIPATED_SUFFIX}")
CODE = re.compile(r"`([^`]+)`")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _sections() -> dict[str, list[str]]:
    """The lines under each `### <sheet>` heading, up to the next heading."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line[level:].strip()
            current = None
            if level == 3:
                name = title.split()[0].strip("`") if title else ""
                assert name not in sections, f"### {name} appears twice in {DOC.name}"
                current = sections.setdefault(name, [])
            continue
        if current is not None:
            current.append(line)
    return sections


def _rows(lines: list[str]) -> dict[str, list[str]]:
    """A section's table rows by the column name in their first cell."""
    rows: dict[str, list[str]] = {}
    for line in lines:
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        match = re.fullmatch(r"`([^`]+)`", cells[0])
        if match is None:  # the header row and the row under it
            continue
        name = match.group(1)
        assert name not in rows, f"{name} is documented twice under one sheet"
        rows[name] = cells
    return rows


SECTIONS = _sections()
TABLES = {name: _rows(lines) for name, lines in SECTIONS.items()}


def test_every_sheet_has_its_heading_in_the_order_of_the_format() -> None:
    sheet_headings = [name for name in SECTIONS if name in {s.name for s in SHEETS}]
    assert sheet_headings == [s.name for s in SHEETS]


def test_every_sheet_heading_names_a_sheet_of_the_format() -> None:
    documented_with_tables = {name for name, rows in TABLES.items() if rows}
    assert documented_with_tables <= {s.name for s in SHEETS}


@pytest.mark.parametrize("spec", SHEETS, ids=lambda s: s.name)
def test_every_column_is_documented_under_its_sheet(spec: SheetSpec) -> None:
    documented = TABLES.get(spec.name, {})
    missing = [c.name for c in spec.columns if c.name not in documented]
    assert not missing, f"{spec.name}: not documented: {missing}"


@pytest.mark.parametrize("spec", SHEETS, ids=lambda s: s.name)
def test_every_documented_column_is_in_the_format(spec: SheetSpec) -> None:
    allowed = set(spec.column_names) | (set(PLACEHOLDERS) if spec.open_columns else set())
    unknown = [name for name in TABLES.get(spec.name, {}) if name not in allowed]
    assert not unknown, f"{spec.name}: documented but not in the format: {unknown}"


def test_the_criterion_columns_of_the_ratings_sheet_are_documented() -> None:
    open_sheets = [s for s in SHEETS if s.open_columns]
    assert open_sheets, "no sheet takes one column per criterion any more"
    for spec in open_sheets:
        assert set(PLACEHOLDERS) <= set(TABLES[spec.name]), spec.name


@pytest.mark.parametrize("spec", SHEETS, ids=lambda s: s.name)
def test_required_is_documented_as_the_format_has_it(spec: SheetSpec) -> None:
    rows = TABLES.get(spec.name, {})
    wrong = [
        c.name
        for c in spec.columns
        if c.name in rows and rows[c.name][1].lower().startswith("yes") != c.required
    ]
    assert not wrong, f"{spec.name}: 'required' is wrong for {wrong}"


@pytest.mark.parametrize("spec", SHEETS, ids=lambda s: s.name)
def test_every_choice_code_and_label_is_in_its_column_s_row(spec: SheetSpec) -> None:
    rows = TABLES.get(spec.name, {})
    for col in spec.columns:
        if not col.choices or col.name not in rows:
            continue
        row = " | ".join(rows[col.name])
        codes = set(CODE.findall(row))
        for code, label in col.choices:
            assert code in codes, f"{spec.name}.{col.name}: code `{code}` is not documented"
            assert label in row, f"{spec.name}.{col.name}: label {label!r} is not documented"


def test_every_choice_code_appears_in_the_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"{spec.name}.{col.name}: {code}"
        for spec in SHEETS
        for col in spec.columns
        for code, _ in col.choices
        if f"`{code}`" not in text
    ]
    assert not missing


def test_the_guide_is_a_page_of_the_site_with_each_sheet(client, team_manager):
    client.force_login(team_manager.user)
    start = client.get(reverse("import_start")).content.decode()
    assert f'href="{reverse("import_format")}"' in start
    page = client.get(reverse("import_format")).content.decode()
    assert '<h1 class="govuk-heading-l">The import format</h1>' in page
    for spec in SHEETS:
        assert f'id="{spec.name.replace("_", "-")}"' in page, spec.name
    assert '<table class="govuk-table">' in page and "<script" not in page.split("<main")[1]


def test_the_templates_examples_import_into_an_empty_caseload(db):
    """The read_me sheet's examples, copied into their sheets, import as they are."""
    notes = load_workbook(io.BytesIO(exporter.template()))["read_me"]
    rows = [list(r) for r in notes.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith("Examples"))
    book = Workbook()
    book.remove(book.active)
    sheet = None
    for row in rows[start + 1 :]:
        cells = [c for c in row if c is not None]
        if not cells:
            sheet = None
        elif sheet is None:
            sheet = book.create_sheet(cells[0])
        else:
            sheet.append(["" if c is None else c for c in row])
    out = io.BytesIO()
    book.save(out)
    book_read = reader.read("example.xlsx", out.getvalue(), max_rows=1000)
    outcome = importer.run(book_read, dry_run=False)
    assert outcome.errors == []
    assert sorted(book.sheetnames) == sorted(spec.name for spec in SHEETS)
    asha = Person.objects.get(user__username="asha.patel")
    numbers = caseload_numbers([asha], datetime.date(2026, 11, 2))[asha.pk]
    assert (numbers.case_count, numbers.weighted_load, numbers.capacity) == (1, 7, 72)
