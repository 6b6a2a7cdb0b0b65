"""Importing the whole caseload (exchange/): what a person reads when
a file is wrong, and that a wrong file changes nothing at all.

Every file here is built in the test: CSV bytes, a workbook made with
openpyxl in memory, or a zip of CSV files. A file that cannot be read at all
is refused (FileRefused) by `reader.read` as it opens it, or as its rows are
read; a file that can be read is checked row by row by `importer.run`, and
written only if no row is wrong. Then: a manager's import and the people it
may change, a confirmed import whose worker dies, and the memory a large
upload takes.
"""

from __future__ import annotations

import csv
import datetime
import gc
import io
import time
import tracemalloc
import zipfile
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from caseload import services
from caseload.dates import long_date
from caseload.models import (
    Allocation,
    Case,
    CaseTeamMove,
    FteChange,
    ImportRun,
    Notification,
    Person,
    Service,
    Team,
    TeamMembership,
)
from caseload.services import allocation_end
from exchange import exporter, importer, reader, runs
from exchange.format import RATINGS
from tests.conftest import TODAY, days_ago, empty_the_database
from tests.factories import CaseFactory, member
from tests.scenarios import CLOSES_C2, END, JAN_5, RATES_C3, START, TAKES_C3, build_small_team
from weighting import services as weighting
from weighting.forecast import forecast_members, team_forecast
from weighting.models import (
    Criterion,
    ExperienceFactor,
    Level,
    Rating,
    RatingLevel,
    Reduction,
    Scheme,
)
from weighting.numbers import caseload_numbers

D = Decimal
SERVICE = "Children's Social Care"
CP = "Child Protection"  # the `team` fixture
LAC = "Looked After Children"  # the `other_team` fixture

DOMAIN = (
    get_user_model(),
    Service,
    Team,
    Team.managers.through,
    Person,
    FteChange,
    TeamMembership,
    Case,
    CaseTeamMove,
    Allocation,
    Scheme,
    Criterion,
    Level,
    Rating,
    RatingLevel,
    ExperienceFactor,
    Reduction,
)


# Building files ------------------------------------------------------------------------


def day(days_back: int) -> str:
    """A date as a person types it in a CSV file."""
    return days_ago(days_back).isoformat()


def tomorrow() -> str:
    return (TODAY() + datetime.timedelta(days=1)).isoformat()


def csv_file(rows: list[list], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def workbook(**sheets: list[list]) -> bytes:
    """An .xlsx file with a sheet per keyword, its first row the headings."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title.replace("__", " "))
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zipped(**files: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(f"{name}.csv", content)
    return out.getvalue()


CASES = ["service", "reference", "label", "type", "people", "team", "priority", "opened_on",
         "closed_on"]  # fmt: skip
ALLOCATIONS = ["service", "reference", "username", "kind", "start_date", "end_date"]
PEOPLE = ["username", "full_name", "email", "role", "service", "fte", "supervisor",
          "asye_start_date"]  # fmt: skip
MEMBERSHIPS = ["username", "service", "team", "start_date", "end_date"]
RATING_COLUMNS = [*RATINGS.column_names, "Complexity", "Risk", "Travel"]


def case_row(
    reference,
    *,
    team=CP,
    opened=90,
    label="Family support",
    people=1,
    closed=None,
    service=SERVICE,
):
    return [service, reference, label, "cin", people, team, "", day(opened),
            day(closed) if closed is not None else ""]  # fmt: skip


def allocation_row(reference, username, *, start=30, end=None, kind="primary"):
    return [SERVICE, reference, username, kind, day(start), day(end) if end is not None else ""]


def rating_row(reference, levels, *, on=30, status="interim"):
    return [SERVICE, reference, day(on), status, "", "", "", "", "", *levels]


# Reading and importing -----------------------------------------------------------------


def read(name: str, content: bytes, max_rows: int = 1000) -> reader.Workbook:
    return reader.read(name, content, max_rows=max_rows)


def check(name: str, content: bytes, **scope) -> importer.Outcome:
    """A dry run, as the preview shows it."""
    return importer.run(read(name, content), dry_run=True, **scope)


def apply(name: str, content: bytes, **scope) -> importer.Outcome:
    return importer.run(read(name, content), dry_run=False, **scope)


def said(outcome: importer.Outcome) -> list[str]:
    """The errors as the import page and the command print them."""
    return [f"{sheet}, row {row}: {message}" if row else f"{sheet}: {message}"
            for sheet, row, message in outcome.errors]  # fmt: skip


def read_through(book: reader.Workbook) -> list[reader.Row]:
    """Every row of every sheet, as an import reads them."""
    return [row for name in book.sheets for row in book.rows(name)]


def refused(name: str, content: bytes, max_rows: int = 1000) -> str:
    """What the preview says of a file it cannot read: when it is opened, or
    as its rows are read."""
    with pytest.raises(reader.FileRefused) as refusal:
        read_through(read(name, content, max_rows))
    return str(refusal.value)


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table the import writes to."""
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in DOMAIN}


@pytest.fixture
def unchanged(db):
    """Asserts, after the test, that the database holds what it held before."""
    before = {}

    def take() -> None:
        before.update(snapshot())

    yield take
    assert before, "take the snapshot once the test's records are made"
    after = snapshot()
    for label, rows in before.items():
        assert len(after[label]) == len(rows), (
            f"{label}: {len(rows)} rows became {len(after[label])}"
        )
        assert after[label] == rows, f"{label} changed"


def nothing_written(outcome: importer.Outcome) -> None:
    assert not outcome.valid
    assert not outcome.applied


# Wrong columns -------------------------------------------------------------------------


def test_a_sheet_without_a_required_column_is_refused(team, unchanged):
    unchanged()
    content = csv_file([CASES[:-2], case_row("CP-1")[:-2]])  # no opened_on, no closed_on
    assert refused("cases.csv", content) == (
        "The cases sheet has no column opened_on. "
        "Its first row must hold the column names of the format."
    )


def test_a_column_that_is_not_in_the_format_is_refused(team, unchanged):
    unchanged()
    content = csv_file([[*CASES, "notes"], [*case_row("CP-1"), "Mother says…"]])
    assert refused("cases.csv", content) == (
        "The cases sheet has columns that are not in the format: notes."
    )


def test_a_wrongly_named_sheet_in_a_workbook_is_ignored(team, unchanged):
    unchanged()
    content = workbook(Case__list=[CASES, case_row("CP-1")], cases=[CASES])
    outcome = apply("extract.xlsx", content)
    assert outcome.valid and outcome.applied
    assert outcome.rows == []  # nothing created, updated or even seen
    assert outcome.counts["cases"] == {"created": 0, "updated": 0, "unchanged": 0}


def test_a_workbook_with_only_wrongly_named_sheets_is_refused(team, unchanged):
    unchanged()
    content = workbook(Case__list=[CASES, case_row("CP-1")])
    assert refused("extract.xlsx", content).startswith(
        "The file has none of the sheets of the format: services, teams, schemes,"
    )


def test_a_wrongly_named_csv_file_is_refused(team, unchanged):
    unchanged()
    content = csv_file([CASES, case_row("CP-1")])
    assert refused("case list.csv", content) == (
        "case list.csv is not named after a sheet of the format (for example cases.csv)."
    )


# Unknown references --------------------------------------------------------------------


def test_a_case_in_an_unknown_team_is_refused(team, unchanged):
    unchanged()
    outcome = apply("cases.csv", csv_file([CASES, case_row("CP-1", team="Duty and Assessment")]))
    nothing_written(outcome)
    assert said(outcome) == [
        "cases, row 2: There is no team 'Duty and Assessment' in \"Children's Social Care\""
    ]


def test_a_case_in_an_unknown_service_is_refused(team, unchanged):
    unchanged()
    outcome = apply("cases.csv", csv_file([CASES, case_row("CP-1", service="Adult Social Care")]))
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 2: There is no service 'Adult Social Care'"]


def test_a_team_in_an_unknown_service_is_refused(team, unchanged):
    unchanged()
    content = csv_file([["service", "team", "aspiration", "managers"],
                        ["Adult Social Care", "Reablement", 20, ""]])  # fmt: skip
    outcome = apply("teams.csv", content)
    nothing_written(outcome)
    assert said(outcome) == ["teams, row 2: There is no service 'Adult Social Care'"]


def test_an_allocation_to_an_unknown_person_is_refused(case, unchanged):
    unchanged()
    outcome = apply(
        "allocations.csv", csv_file([ALLOCATIONS, allocation_row("CP-1042", "a.nobody")])
    )
    nothing_written(outcome)
    assert said(outcome) == ["allocations, row 2: There is no person with user name 'a.nobody'"]


def test_an_allocation_of_an_unknown_case_is_refused(social_worker, unchanged):
    unchanged()
    outcome = apply("allocations.csv", csv_file([ALLOCATIONS, allocation_row("CP-9999", "worker")]))
    nothing_written(outcome)
    assert said(outcome) == ["allocations, row 2: There is no case 'CP-9999'"]


def test_an_unknown_supervisor_is_refused(team, unchanged):
    unchanged()
    content = csv_file([PEOPLE, ["new.worker", "Noor Ali", "", "social_worker", SERVICE, 1,
                                 "a.nobody", ""]])  # fmt: skip
    outcome = apply("people.csv", content)
    nothing_written(outcome)
    assert said(outcome) == [
        "people, row 2: There is no person with user name 'a.nobody' to supervise"
    ]


@pytest.mark.parametrize(
    ("fixture", "role"),
    [("dmt_member", "A senior manager (DMT)"), ("administrator", "An administrator")],
)
def test_a_senior_manager_or_administrator_as_supervisor_is_refused(
    social_worker, unchanged, fixture, role, request
):
    """The one rule of services.check_supervisor, as in the admin."""
    supervisor = request.getfixturevalue(fixture)
    unchanged()
    content = csv_file([PEOPLE, ["worker", "Asha Patel", "", "social_worker", SERVICE, 1,
                                 supervisor.user.username, ""]])  # fmt: skip
    outcome = apply("people.csv", content)
    nothing_written(outcome)
    assert said(outcome) == [
        f"people, row 2: {role} cannot supervise anyone: {supervisor} is one. "
        "Choose a social worker or team manager."
    ]


def test_an_import_keeps_administrators_log_ins_in_step_with_their_role(
    social_worker, administrator
):
    content = csv_file([PEOPLE,
                        ["worker", "Asha Patel", "", "administrator", "", 1, "", ""],
                        ["admin", "Alex Morgan", "", "social_worker", SERVICE, 1, "", ""],
                        ["new.admin", "Noor Ali", "", "administrator", "", 1, "", ""]])  # fmt: skip
    outcome = apply("people.csv", content)
    assert outcome.applied, said(outcome)
    users = {
        u.username: (u.is_staff, [g.name for g in u.groups.all()])
        for u in get_user_model().objects.filter(username__in=["worker", "admin", "new.admin"])
    }
    assert users == {
        "worker": (True, ["Administrators"]),
        "admin": (False, []),
        "new.admin": (True, ["Administrators"]),
    }


# FTE, dated ----------------------------------------------------------------------------


def fte_history(person: Person) -> list[tuple]:
    return list(person.fte_history.values_list("fte", "start_date", "end_date"))


def test_a_new_fte_is_recorded_from_the_day_of_the_import(social_worker, administrator):
    """Asha, at 1.0 for a year, is 0.6 in the file: 0.6 from today, 1.0 kept
    before it. Noor, new, starts her history today. The same file again
    changes nothing."""
    content = csv_file([
        PEOPLE,
        ["worker", "Asha Patel", "", "social_worker", SERVICE, "0.6", "", ""],
        ["noor.ali", "Noor Ali", "", "social_worker", SERVICE, "0.8", "", ""],
    ])  # fmt: skip
    outcome = importer.run(read("people.csv", content), dry_run=False, by=administrator)
    assert outcome.applied, said(outcome)
    assert outcome.counts["people"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert fte_history(social_worker) == [
        (D("1.00"), days_ago(365), TODAY()),
        (D("0.60"), TODAY(), None),
    ]
    assert social_worker.fte_history.get(end_date=None).recorded_by == administrator
    social_worker.refresh_from_db()
    assert social_worker.fte == D("0.6")
    assert fte_history(Person.objects.get(full_name="Noor Ali")) == [(D("0.80"), TODAY(), None)]
    assert check("people.csv", content).changes == 0


def test_a_planned_fte_change_is_kept_and_an_earlier_one_refused(social_worker, unchanged):
    """Asha goes to 0.6 in three weeks. A file with today's 1.0 leaves her
    alone; one with 0.8 would start before the planned change: refused."""
    ahead = TODAY() + datetime.timedelta(weeks=3)
    services.fte_change(person=social_worker, fte=D("0.6"), start_date=ahead, recorded_by=None)
    unchanged()
    row = ["worker", "Asha Patel", "", "social_worker", SERVICE, "1", "", ""]
    assert check("people.csv", csv_file([PEOPLE, row])).changes == 0
    row[5] = "0.8"
    outcome = apply("people.csv", csv_file([PEOPLE, row]))
    nothing_written(outcome)
    assert said(outcome) == [
        f"people, row 2: Asha Patel has an FTE change planned from {long_date(ahead)}: "
        "a new FTE cannot start before it"
    ]


# Duplicates in the file ----------------------------------------------------------------


def test_the_same_case_twice_in_the_file_is_refused(team, unchanged):
    unchanged()
    outcome = apply("cases.csv", csv_file([CASES, case_row("CP-1"), case_row("CP-1", people=3)]))
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 3: The same record is in the file twice"]


def test_the_same_person_twice_in_the_file_is_refused(team, unchanged):
    unchanged()
    noor = ["noor.ali", "Noor Ali", "", "social_worker", SERVICE, 1, "", ""]
    outcome = apply("people.csv", csv_file([PEOPLE, noor, noor]))
    nothing_written(outcome)
    assert said(outcome) == ["people, row 3: The same record is in the file twice"]


# Rating levels -------------------------------------------------------------------------


def test_a_level_above_the_criterion_s_range_is_refused(case, unchanged):
    unchanged()
    outcome = apply("ratings.csv", csv_file([RATING_COLUMNS, rating_row("CP-1042", [4, 2, 2])]))
    nothing_written(outcome)
    assert said(outcome) == [
        "ratings, row 2: Complexity is rated from 1 to 3: 4 is not one of its levels"
    ]


def test_a_rating_without_a_criterion_s_level_is_refused(case, unchanged):
    unchanged()
    outcome = apply("ratings.csv", csv_file([RATING_COLUMNS, rating_row("CP-1042", [3, 2, ""])]))
    nothing_written(outcome)
    assert said(outcome) == ["ratings, row 2: Travel is missing"]


# Dates in the future -------------------------------------------------------------------


def test_a_case_opened_in_the_future_is_refused(team, unchanged):
    unchanged()
    row = case_row("CP-1")
    row[7] = tomorrow()
    outcome = apply("cases.csv", csv_file([CASES, row]))
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 2: A case cannot be opened in the future"]


def test_an_allocation_starting_in_the_future_is_refused(case, social_worker, unchanged):
    unchanged()
    row = allocation_row("CP-1042", "worker")
    row[4] = tomorrow()
    outcome = apply("allocations.csv", csv_file([ALLOCATIONS, row]))
    nothing_written(outcome)
    assert said(outcome) == ["allocations, row 2: An allocation cannot start in the future"]


def test_a_rating_dated_in_the_future_is_refused(case, unchanged):
    unchanged()
    row = rating_row("CP-1042", [2, 2, 2])
    row[2] = tomorrow()
    outcome = apply("ratings.csv", csv_file([RATING_COLUMNS, row]))
    nothing_written(outcome)
    assert said(outcome) == ["ratings, row 2: A rating cannot be dated in the future"]


# Who may hold a case -------------------------------------------------------------------


def test_a_student_as_primary_worker_is_told_students_are_involved_workers(
    case, student, unchanged
):
    unchanged()
    outcome = apply(
        "allocations.csv", csv_file([ALLOCATIONS, allocation_row("CP-1042", "student")])
    )
    nothing_written(outcome)
    assert said(outcome) == [
        "allocations, row 2: Ella Shah is a student: students are recorded as involved "
        "workers, and the case is allocated to their supervisor"
    ]


def test_a_student_can_be_an_involved_worker(case, student, unchanged):
    unchanged()  # a dry run
    outcome = check(
        "allocations.csv",
        csv_file([ALLOCATIONS, allocation_row("CP-1042", "student", kind="involved")]),
    )
    assert outcome.valid
    assert outcome.counts["allocations"]["created"] == 1


def test_a_team_manager_as_primary_worker_is_refused(case, team, team_manager, unchanged):
    TeamMembership.objects.create(person=team_manager, team=team, start_date=days_ago(365))
    unchanged()
    outcome = apply(
        "allocations.csv", csv_file([ALLOCATIONS, allocation_row("CP-1042", "manager")])
    )
    nothing_written(outcome)
    assert said(outcome) == [
        "allocations, row 2: Claire Hughes is a team manager and carries no cases"
    ]


# One primary worker at a time ----------------------------------------------------------


def test_two_rows_giving_a_case_two_primary_workers_at_once_are_refused(
    case, social_worker, colleague, unchanged
):
    unchanged()
    content = csv_file([
        ALLOCATIONS,
        allocation_row("CP-1042", "worker", start=60),
        allocation_row("CP-1042", "colleague", start=30),
    ])  # fmt: skip
    outcome = apply("allocations.csv", content)
    nothing_written(outcome)
    assert said(outcome) == [
        "allocations, row 3: Case CP-1042 would have two primary workers at once: "
        "Daniel Reid and Asha Patel (row 2)"
    ]


def test_a_row_overlapping_an_allocation_already_recorded_is_refused(
    held_case, colleague, unchanged
):
    unchanged()
    content = csv_file([ALLOCATIONS, allocation_row("CP-1042", "colleague", start=30)])
    outcome = apply("allocations.csv", content)
    nothing_written(outcome)
    assert said(outcome) == [
        "allocations, row 2: Case CP-1042 would have two primary workers at once: "
        "Daniel Reid and Asha Patel (already recorded)"
    ]


def test_a_worker_taking_over_after_the_last_one_ended_is_accepted(case, social_worker, colleague):
    content = csv_file([
        ALLOCATIONS,
        allocation_row("CP-1042", "worker", start=60, end=30),
        allocation_row("CP-1042", "colleague", start=30),
    ])  # fmt: skip
    outcome = apply("allocations.csv", content)
    assert said(outcome) == []
    assert outcome.counts["allocations"]["created"] == 2


# Files too large, formulas, encodings --------------------------------------------------


def six_cases() -> bytes:
    return csv_file([CASES, *(case_row(f"CP-{n}") for n in range(6))])


def test_a_file_over_the_row_limit_is_refused(team, unchanged):
    unchanged()
    assert refused("cases.csv", six_cases(), max_rows=5) == (
        "The file has more than 5 rows, the most one import takes. Split it into smaller files."
    )


@override_settings(IMPORT_MAX_ROWS=5)
def test_the_command_refuses_a_file_over_the_row_limit(team, unchanged, tmp_path):
    unchanged()
    path = tmp_path / "cases.csv"
    path.write_bytes(six_cases())
    with pytest.raises(CommandError) as refusal:
        call_command("import_caseload", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert str(refusal.value) == (
        "cases.csv: The file has more than 5 rows, the most one import takes. "
        "Split it into smaller files. Nothing was imported."
    )


@override_settings(IMPORT_MAX_ROWS=6)
def test_the_command_takes_a_file_at_the_row_limit(team, tmp_path):
    path = tmp_path / "cases.csv"
    path.write_bytes(six_cases())
    out = io.StringIO()
    call_command("import_caseload", str(path), stdout=out)
    assert "cases: 6 created, 0 updated, 0 unchanged" in out.getvalue()
    assert Case.objects.count() == 6


def test_a_formula_in_a_workbook_cell_is_refused(team, unchanged):
    unchanged()
    content = workbook(cases=[CASES, case_row("CP-1", label="=1+1")])
    assert load_workbook(io.BytesIO(content))["cases"]["C2"].data_type == "f"  # a formula
    outcome = apply("extract.xlsx", content)
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 2: The label cell holds a formula: type the value itself"]


@pytest.mark.parametrize("formula", ["=1+1", '=HYPERLINK("https://example.org")'])
def test_a_formula_in_a_csv_cell_is_refused(team, formula, unchanged):
    unchanged()
    outcome = apply("cases.csv", csv_file([CASES, case_row("CP-1", label=formula)]))
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 2: The label cell holds a formula: type the value itself"]


def test_a_csv_file_that_is_not_text_is_refused(team, unchanged):
    unchanged()
    content = csv_file([CASES]) + b"Children's Social Care,CP-1,\x81\x8d,cin,1\r\n"
    assert refused("cases.csv", content) == (
        "cases.csv is not text that can be read: save it from Excel as "
        "\u201cCSV UTF-8 (comma delimited)\u201d."
    )


LABEL = "Café – étude"  # an accent and an en dash: both in Windows-1252


@pytest.mark.parametrize(
    "encoding",
    [
        pytest.param("utf-8-sig", id="Excel CSV UTF-8, with a byte-order mark"),
        pytest.param("utf-8", id="UTF-8 without a byte-order mark"),
        pytest.param("cp1252", id="Windows-1252, Excel's older CSV"),
    ],
)
def test_csv_from_excel_imports_its_text_exactly(team, encoding):
    content = csv_file([CASES, case_row("CP-1", label=LABEL)], encoding=encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")
    outcome = apply("cases.csv", content)
    assert said(outcome) == []
    assert outcome.counts["cases"]["created"] == 1
    assert Case.objects.get(reference="CP-1").label == LABEL


def test_a_zip_of_csv_files_from_excel_imports(team, social_worker):
    content = zipped(
        cases=csv_file([CASES, case_row("CP-1", label=LABEL)], encoding="cp1252"),
        allocations=csv_file([ALLOCATIONS, allocation_row("CP-1", "worker")], encoding="utf-8-sig"),
    )
    outcome = apply("extract.zip", content)
    assert said(outcome) == []
    assert Allocation.objects.get(case__reference="CP-1").person == social_worker


def test_csv_with_semicolons_from_a_european_excel_imports(team):
    text = ";".join(CASES) + "\r\n" + ";".join(map(str, case_row("CP-1", label="Twins, A and B")))
    outcome = apply("cases.csv", text.encode("utf-8-sig"))
    assert said(outcome) == []
    assert Case.objects.get(reference="CP-1").label == "Twins, A and B"


@pytest.mark.parametrize(
    "label",
    ['Says "no", often', "'Baby X'", "Twins 'A' and 'B'", "Parents' home, weekends"],
)
def test_quotes_in_csv_text_are_kept_exactly_however_far_down_the_file(team, label):
    """Excel quotes with " and doubles it inside a value; the first rows, which
    hold no quotes, must not make the reader guess otherwise."""
    rows = [CASES, *(case_row(f"CP-{n}", label="Family support " * 3) for n in range(100))]
    content = csv_file([*rows, case_row("CP-X", label=label)])
    assert len(content) > 4096  # past the sample the delimiter is guessed from
    outcome = apply("cases.csv", content)
    assert said(outcome) == []
    assert Case.objects.get(reference="CP-X").label == label


# A dry run, a second import, a newer extract -------------------------------------------


@pytest.fixture
def extract(case, social_worker, team_manager) -> bytes:
    """A small extract of the team: Asha and CP-1042 as stored, and a new
    worker, Noor, holding a new case that is rated."""
    return workbook(
        people=[
            PEOPLE,
            ["worker", "Asha Patel", "worker@example.org", "social_worker", SERVICE, 1,
             "manager", ""],
            ["noor.ali", "Noor Ali", "noor.ali@example.org", "social_worker", SERVICE, "0.5",
             "manager", ""],
        ],
        memberships=[MEMBERSHIPS, ["noor.ali", SERVICE, CP, day(100), ""]],
        cases=[
            CASES,
            case_row("CP-1042", label="Sibling group, neglect", people=2),
            case_row("CP-7", label="Baby, pre-birth", opened=40),
        ],
        allocations=[ALLOCATIONS, allocation_row("CP-7", "noor.ali", start=40)],
        ratings=[RATING_COLUMNS, rating_row("CP-7", [3, 2, 1], on=40)],
    )  # fmt: skip


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(extract, unchanged):
    unchanged()
    outcome = check("extract.xlsx", extract)
    assert said(outcome) == []
    assert not outcome.applied
    assert outcome.rows == [
        # sheet, created, updated, unchanged
        ("people", 1, 0, 1),
        ("memberships", 1, 0, 0),
        ("cases", 1, 0, 1),
        ("allocations", 1, 0, 0),
        ("ratings", 1, 0, 0),
    ]


def test_the_import_writes_what_the_dry_run_said(extract):
    outcome = apply("extract.xlsx", extract)
    assert said(outcome) == [] and outcome.applied
    noor = Person.objects.get(user__username="noor.ali")
    assert (noor.full_name, noor.fte, noor.supervisor.full_name) == ("Noor Ali", D("0.5"),
                                                                      "Claire Hughes")  # fmt: skip
    held = Allocation.objects.get(case__reference="CP-7")
    assert (held.person, held.kind, held.start_date, held.end_date) == (
        noor,
        "primary",
        days_ago(40),
        None,
    )
    assert Rating.objects.get(case__reference="CP-7").total == 6


def test_importing_the_same_file_again_changes_nothing(extract, unchanged):
    apply("extract.xlsx", extract)
    unchanged()
    outcome = apply("extract.xlsx", extract)
    assert said(outcome) == [] and outcome.notes == []
    assert outcome.changes == 0
    assert outcome.rows == [
        ("people", 0, 0, 2),
        ("memberships", 0, 0, 1),
        ("cases", 0, 0, 2),
        ("allocations", 0, 0, 1),
        ("ratings", 0, 0, 1),
    ]


def test_a_newer_extract_ends_an_open_allocation_and_deletes_nothing(held_case, student):
    involved = Allocation.objects.create(
        case=held_case, person=student, kind="involved", start_date=days_ago(30)
    )
    first = csv_file([ALLOCATIONS, allocation_row("CP-1042", "worker", start=60)])
    assert apply("allocations.csv", first).rows == [("allocations", 0, 0, 1)]

    # The student is not in the newer extract: their allocation is left alone.
    newer = csv_file([ALLOCATIONS, allocation_row("CP-1042", "worker", start=60, end=10)])
    outcome = apply("allocations.csv", newer)
    assert said(outcome) == []
    assert outcome.rows == [("allocations", 0, 1, 0)]
    ended = Allocation.objects.get(case=held_case, kind="primary")
    assert (ended.start_date, ended.end_date) == (days_ago(60), days_ago(10))
    assert Allocation.objects.count() == 2
    involved.refresh_from_db()
    assert involved.end_date is None
    assert Case.objects.get(pk=held_case.pk).status == "open"


def test_an_ended_allocation_is_not_given_another_end_date(held_case, team_manager, unchanged):
    allocation_end(
        allocation=held_case.allocations.get(), end_date=days_ago(20), ended_by=team_manager
    )
    unchanged()
    newer = csv_file([ALLOCATIONS, allocation_row("CP-1042", "worker", start=60, end=10)])
    outcome = apply("allocations.csv", newer)
    nothing_written(outcome)
    assert said(outcome) == [
        f"allocations, row 2: This record ended on {long_date(days_ago(20))}: "
        "history is not rewritten"
    ]


def test_cases_missing_from_a_newer_extract_are_listed_and_stay_open(team, unchanged):
    for reference in ("CP-1", "CP-2", "CP-3"):
        CaseFactory(team=team, reference=reference)
    unchanged()
    newer = csv_file([CASES, case_row("CP-1", label="Family support", people=2)])
    outcome = apply("cases.csv", newer)
    assert said(outcome) == [] and outcome.applied
    assert outcome.rows == [("cases", 0, 0, 1)]
    assert outcome.notes == [
        "2 open cases of the teams in the file are not in it and are left as they are: CP-2, CP-3."
    ]
    assert set(Case.objects.values_list("status", flat=True)) == {"open"}


# A manager's import --------------------------------------------------------------------


@pytest.fixture
def other_case(other_team, outsider) -> Case:
    return CaseFactory(team=other_team, reference="LAC-7", label="Care leaver, 17")


def test_a_manager_s_import_cannot_touch_a_case_in_another_team(
    team, team_manager, other_case, unchanged
):
    unchanged()
    content = workbook(
        cases=[CASES, case_row("LAC-7", team=LAC, label="Care leaver, 17", people=3)],
        allocations=[ALLOCATIONS, allocation_row("LAC-7", "outsider", start=10)],
    )
    outcome = apply("extract.xlsx", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == [
        "cases, row 2: Looked After Children is not one of your teams",
        "allocations, row 2: Case LAC-7 is in another team",
    ]


def test_a_manager_s_import_cannot_move_another_team_s_case_into_theirs(
    team, team_manager, other_case, unchanged
):
    unchanged()
    content = csv_file([CASES, case_row("LAC-7", team=CP, label="Care leaver, 17", people=2)])
    outcome = apply("cases.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["cases, row 2: Case LAC-7 is in another team"]


def test_a_manager_s_import_cannot_add_a_team(team, team_manager, unchanged):
    unchanged()
    content = csv_file([["service", "team", "aspiration", "managers"],
                        [SERVICE, "Family Support", 20, "manager"]])  # fmt: skip
    outcome = apply("teams.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["teams, row 2: Only administrators add teams"]


def test_a_manager_s_import_cannot_change_a_person_in_another_team(
    team, team_manager, outsider, unchanged
):
    unchanged()
    content = csv_file([PEOPLE, ["outsider", "Katie Lewis", "", "social_worker", SERVICE,
                                 "0.5", "other.manager", ""]])  # fmt: skip
    outcome = apply("people.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["people, row 2: Katie Lewis is not in one of your teams"]


@pytest.mark.parametrize("role", ["administrator", "senior_manager", "team_manager"])
def test_a_manager_s_import_cannot_give_a_manager_s_or_administrator_s_role(
    team, team_manager, social_worker, role, unchanged
):
    unchanged()
    content = csv_file([
        PEOPLE,
        ["worker", "Asha Patel", "", role, SERVICE, 1, "manager", ""],
        ["new.admin", "Nia Admin", "", role, SERVICE, 1, "", ""],
    ])  # fmt: skip
    outcome = apply("people.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    label = Person.Role(role).label.lower()
    assert said(outcome) == [
        f"people, row 2: Only administrators make someone a {label}",
        f"people, row 3: Only administrators make someone a {label}",
    ]


def test_a_manager_s_import_cannot_reduce_the_capacity_of_a_person_in_another_team(
    team, team_manager, outsider, unchanged
):
    unchanged()
    content = csv_file([
        ["username", "reason", "detail", "hours_per_week", "percentage", "start_date",
         "end_date"],
        ["outsider", "training", "", "7.4", "", day(5), ""],
    ])  # fmt: skip
    outcome = apply("reductions.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["reductions, row 2: Katie Lewis is not in one of your teams"]


def test_a_manager_s_import_cannot_agree_a_service_wide_scheme(team, team_manager, unchanged):
    unchanged()
    content = workbook(
        schemes=[["service", "team", "version", "name", "benchmark", "agreed_on"],
                 [SERVICE, "", 2, "Lighter travel", 100, day(1)]],
        criteria=[["service", "team", "version", "criterion", "description", "level",
                   "descriptor"],
                  [SERVICE, "", 2, "Travel", "", 0, "None"],
                  [SERVICE, "", 2, "Travel", "", 1, "Some"]],
    )  # fmt: skip
    outcome = apply("scheme.xlsx", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == [
        "schemes, row 2: Only administrators change a service-wide scheme",
        "criteria, row 2: Only administrators change a service-wide scheme",
        "criteria, row 3: Only administrators change a service-wide scheme",
    ]


def test_a_manager_s_import_can_add_a_worker_to_their_team(team, team_manager, social_worker):
    content = workbook(
        people=[PEOPLE, ["noor.ali", "Noor Ali", "", "asye", SERVICE, 1, "worker", day(30)]],
        memberships=[MEMBERSHIPS, ["noor.ali", SERVICE, CP, day(30), ""]],
    )
    outcome = apply("extract.xlsx", content, teams={team.pk}, by=team_manager)
    assert said(outcome) == [] and outcome.applied
    assert TeamMembership.objects.get(person__user__username="noor.ali").team == team


# A manager's import changes only the people already in their teams ----------------------

FACTORS = ["username", "factor", "start_date", "end_date", "reason"]
REDUCTIONS = ["username", "reason", "detail", "hours_per_week", "percentage", "start_date",
              "end_date"]  # fmt: skip


def upload_and_confirm(client, name: str, content: bytes) -> ImportRun:
    """What a person does on the Import page: check the file, then confirm
    it if the check lets them, and the worker writes it."""
    client.post(reverse("import_start"), {"file": SimpleUploadedFile(name, content)})
    run = ImportRun.objects.latest("pk")
    if run.status == ImportRun.Status.PREVIEWED:
        client.post(reverse("import_confirm", args=[run.pk]))
        runs.apply_queued()
        run.refresh_from_db()
    return run


def as_stored(person: Person) -> tuple:
    person = Person.objects.select_related("user").get(pk=person.pk)
    return (person.role, person.user.email, person.supervisor_id, person.fte,
            list(person.memberships.values_list("team__name", flat=True)))  # fmt: skip


@pytest.fixture
def target(request, dmt_member, other_manager, outsider, administrator) -> Person:
    return {"dmt": dmt_member, "other.manager": other_manager, "outsider": outsider,
            "admin": administrator}[request.param]  # fmt: skip


REFUSALS = {
    "dmt": "Dana Morris is a senior manager: only administrators change their records",
    "other.manager": "James Carter is a team manager: only administrators change their records",
    "admin": "Alex Morgan is an administrator: only administrators change their records",
    "outsider": "Katie Lewis is not in one of your teams",
}


@pytest.mark.parametrize("target", ["dmt", "other.manager", "admin"], indirect=True)
def test_a_manager_cannot_bring_a_senior_manager_into_their_team_and_demote_them(
    client, team, team_manager, target
):
    """The attack of issue 22, step by step through the Import page, against
    the senior manager, another team's manager and an administrator."""
    before = as_stored(target)
    username = target.user.username
    client.force_login(team_manager.user)
    first = upload_and_confirm(
        client, "memberships.csv", csv_file([MEMBERSHIPS, [username, SERVICE, CP, day(0), ""]])
    )
    demoted = [username, target.full_name, "someone@example.org", "social_worker", SERVICE, 1,
               "manager", ""]  # fmt: skip
    second = upload_and_confirm(client, "people.csv", csv_file([PEOPLE, demoted]))
    assert as_stored(target) == before
    assert first.status == second.status == ImportRun.Status.INVALID
    refusal = REFUSALS[username]
    assert first.summary["errors"] == [["memberships", 2, refusal]]
    assert second.summary["errors"] == [["people", 2, refusal]]
    page = client.get(reverse("import_detail", args=[first.pk])).content.decode()
    assert refusal in page.replace("&#x27;", "'")


@pytest.mark.parametrize("target", list(REFUSALS), indirect=True)
def test_a_manager_s_import_cannot_add_someone_from_outside_their_teams_to_them(
    team, team_manager, target, unchanged
):
    unchanged()
    username = target.user.username
    content = csv_file([MEMBERSHIPS, [username, SERVICE, CP, day(0), ""]])
    outcome = apply("memberships.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == [f"memberships, row 2: {REFUSALS[username]}"]


@pytest.mark.parametrize("target", list(REFUSALS), indirect=True)
def test_a_membership_row_in_the_same_file_brings_no_one_into_a_manager_s_scope(
    team, team_manager, target, unchanged
):
    """The membership, and everything else the file says about them, is
    refused row by row: the person was not in the team before the import."""
    unchanged()
    username = target.user.username
    content = workbook(
        people=[PEOPLE, [username, target.full_name, "someone@example.org", "social_worker",
                         SERVICE, "0.5", "manager", ""]],
        memberships=[MEMBERSHIPS, [username, SERVICE, CP, day(10), ""]],
        experience_factors=[FACTORS, [username, "0.5", day(5), "", "Step down"]],
        reductions=[REDUCTIONS, [username, "training", "", "7.4", "", day(5), ""]],
    )  # fmt: skip
    outcome = apply("extract.xlsx", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    refusal = REFUSALS[username]
    assert said(outcome) == [
        f"people, row 2: {refusal}",
        f"memberships, row 2: {refusal}",
        f"experience_factors, row 2: {refusal}",
        f"reductions, row 2: {refusal}",
    ]


@pytest.mark.parametrize("target", ["dmt", "other.manager", "admin"], indirect=True)
def test_a_manager_s_import_never_changes_a_manager_or_administrator_in_their_team(
    team, team_manager, target, unchanged
):
    """Someone of a managing role is outside the import's scope even when they are a member
    of the manager's team: their email, their supervisor, their time."""
    TeamMembership.objects.create(person=target, team=team, start_date=days_ago(200))
    unchanged()
    username = target.user.username
    content = workbook(
        people=[PEOPLE, [username, target.full_name, "someone@example.org", target.role,
                         SERVICE, 1, "", ""]],
        reductions=[REDUCTIONS, [username, "training", "", "7.4", "", day(5), ""]],
        memberships=[MEMBERSHIPS, [username, SERVICE, CP, day(200), day(1)]],
    )  # fmt: skip
    outcome = apply("extract.xlsx", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    refusal = REFUSALS[username]
    assert said(outcome) == [
        f"people, row 2: {refusal}",
        f"memberships, row 2: {refusal}",
        f"reductions, row 2: {refusal}",
    ]


def test_a_manager_s_import_sets_supervisors_only_from_their_teams(
    team, team_manager, social_worker, colleague, dmt_member, outsider, unchanged
):
    unchanged()
    content = csv_file([
        PEOPLE,
        ["worker", "Asha Patel", "", "social_worker", SERVICE, 1, "dmt", ""],
        ["colleague", "Daniel Reid", "", "social_worker", SERVICE, 1, "outsider", ""],
    ])  # fmt: skip
    outcome = apply("people.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == [
        # Nobody makes a senior manager a supervisor (services.check_supervisor).
        "people, row 2: A senior manager (DMT) cannot supervise anyone: Dana Morris is one. "
        "Choose a social worker or team manager.",
        "people, row 3: Katie Lewis is not in one of your teams: only administrators make "
        "them a supervisor",
    ]


def test_a_manager_s_import_changes_their_own_people_and_themselves(
    team, team_manager, social_worker, colleague
):
    content = workbook(
        people=[
            PEOPLE,
            ["manager", "Claire Hughes", "claire@example.org", "team_manager", SERVICE,
             "0.8", "", ""],
            ["worker", "Asha Patel", "asha@example.org", "asye", SERVICE, 1, "colleague",
             day(20)],
            ["noor.ali", "Noor Ali", "", "social_worker", SERVICE, 1, "worker", ""],
        ],
        memberships=[MEMBERSHIPS, ["noor.ali", SERVICE, CP, day(3), ""],
                     ["manager", SERVICE, CP, day(3), ""]],
        reductions=[REDUCTIONS, ["worker", "training", "", "3.7", "", day(5), ""]],
    )  # fmt: skip
    outcome = apply("extract.xlsx", content, teams={team.pk}, by=team_manager)
    assert said(outcome) == [] and outcome.applied
    asha = Person.objects.select_related("user", "supervisor").get(pk=social_worker.pk)
    assert (asha.role, asha.user.email, asha.supervisor) == ("asye", "asha@example.org", colleague)
    assert Person.objects.get(pk=team_manager.pk).fte == D("0.8")
    assert Person.objects.get(user__username="noor.ali").supervisor == social_worker


def test_a_manager_s_import_cannot_change_the_manager_s_own_role(team, team_manager, unchanged):
    unchanged()
    content = csv_file([PEOPLE, ["manager", "Claire Hughes", "", "social_worker", SERVICE, 1,
                                 "", ""]])  # fmt: skip
    outcome = apply("people.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["people, row 2: Only administrators change the role of a team manager"]


def test_a_manager_s_import_allocates_no_case_to_someone_who_has_left_their_team(
    team, other_team, team_manager, unchanged
):
    """Katie was in Child Protection until 100 days ago: an open allocation
    from then would load her caseload in Looked After Children today."""
    katie = member(team, since=days_ago(300), full_name="Katie Lewis", user__username="katie")
    TeamMembership.objects.filter(person=katie).update(end_date=days_ago(100))
    TeamMembership.objects.create(person=katie, team=other_team, start_date=days_ago(100))
    CaseFactory(team=team, reference="CP-9", opened_on=days_ago(200))
    unchanged()
    content = csv_file([ALLOCATIONS, allocation_row("CP-9", "katie", start=150)])
    outcome = apply("allocations.csv", content, teams={team.pk}, by=team_manager)
    nothing_written(outcome)
    assert said(outcome) == ["allocations, row 2: Katie Lewis is not in one of your teams"]


def test_an_administrator_s_import_still_changes_anyone(client, team, administrator, dmt_member):
    client.force_login(administrator.user)
    upload_and_confirm(
        client, "memberships.csv", csv_file([MEMBERSHIPS, ["dmt", SERVICE, CP, day(0), ""]])
    )
    demoted = ["dmt", "Dana Morris", "someone@example.org", "social_worker", SERVICE, 1, "", ""]
    run = upload_and_confirm(client, "people.csv", csv_file([PEOPLE, demoted]))
    assert run.status == ImportRun.Status.DONE
    assert as_stored(dmt_member)[:2] == ("social_worker", "someone@example.org")
    assert as_stored(dmt_member)[-1] == [CP]


# Log-ins of imported people ------------------------------------------------------------


def test_imported_people_get_a_log_in_without_a_usable_password(team):
    content = csv_file([PEOPLE, ["noor.ali", "Noor Ali", "noor.ali@example.org",
                                 "social_worker", SERVICE, 1, "", ""]])  # fmt: skip
    outcome = apply("people.csv", content)
    assert said(outcome) == []
    user = get_user_model().objects.get(username="noor.ali")
    assert user.email == "noor.ali@example.org"
    assert not user.has_usable_password()
    assert user.person.full_name == "Noor Ali"


# A new team, imported, gives the numbers computed by hand ----------------------------


def test_a_new_team_imports_with_the_weighted_load_worked_out_by_hand(default_scheme):
    """Family Support, under the default scheme (benchmark 100):

    - Ruth, social worker, 0.5 FTE, 3.7 hours a week as practice educator:
      capacity = 100 × 0.5 × (1 − 3.7 ÷ (37 × 0.5)) = 50 × 0.8 = 40.
      She holds FS-1 (3 children, rated 3+2+2 = 7) and FS-2 (1 child, rated
      3+3+3 = 9, re-rated 1+1+1 = 3 ten days ago).
      Today: load 7 + 3 = 10, 4 children, 10 ÷ 40 = 25%.
      Twenty days ago: load 7 + 9 = 16, 16 ÷ 40 = 40%.
    - Sam, ASYE, 1.0 FTE, experience factor 0.8: capacity 100 × 0.8 = 80.
      He holds FS-3 (2 children, unrated, so 2+2+2 = 6) and is involved in
      FS-1 (not counted): load 6, 6 ÷ 80 = 7.5%.
    - Fiona, their team manager, holds nothing.
    """
    content = workbook(
        teams=[["service", "team", "aspiration", "managers"],
               [SERVICE, "Family Support", 18, "fs.manager"]],
        people=[
            PEOPLE,
            ["fs.manager", "Fiona Grant", "", "team_manager", SERVICE, 1, "", ""],
            ["ruth", "Ruth Evans", "", "social_worker", SERVICE, "0.5", "fs.manager", ""],
            ["sam", "Sam Obi", "", "asye", SERVICE, 1, "fs.manager", day(100)],
        ],
        memberships=[
            MEMBERSHIPS,
            ["ruth", SERVICE, "Family Support", day(100), ""],
            ["sam", SERVICE, "Family Support", day(100), ""],
        ],
        experience_factors=[
            ["username", "factor", "start_date", "end_date", "reason"],
            ["sam", "0.8", day(100), "", "ASYE year"],
        ],
        reductions=[
            ["username", "reason", "detail", "hours_per_week", "percentage", "start_date",
             "end_date"],
            ["ruth", "practice_educator", "Two students", "3.7", "", day(100), ""],
        ],
        cases=[
            CASES,
            case_row("FS-1", team="Family Support", people=3, opened=60),
            case_row("FS-2", team="Family Support", people=1, opened=60),
            case_row("FS-3", team="Family Support", people=2, opened=60),
        ],
        allocations=[
            ALLOCATIONS,
            allocation_row("FS-1", "ruth", start=50),
            allocation_row("FS-2", "ruth", start=50),
            allocation_row("FS-3", "sam", start=40),
            allocation_row("FS-1", "sam", start=40, kind="involved"),
        ],
        ratings=[
            RATING_COLUMNS,
            rating_row("FS-1", [3, 2, 2], on=50),
            rating_row("FS-2", [3, 3, 3], on=50),
            rating_row("FS-2", [1, 1, 1], on=10),
        ],
    )  # fmt: skip
    outcome = apply("family support.xlsx", content)
    assert said(outcome) == [] and outcome.applied
    team = Team.objects.get(name="Family Support")
    assert [m.full_name for m in team.managers.all()] == ["Fiona Grant"]
    people = {p.user.username: p for p in Person.objects.filter(memberships__team=team)}

    def numbers(username: str, on: datetime.date) -> tuple:
        n = caseload_numbers([people[username]], on)[people[username].pk]
        assert n.team_id == team.pk
        return n.case_count, n.people_count, n.weighted_load, n.unrated_count, n.capacity, n.percent

    # cases, children, weighted load, unrated, capacity, capacity %
    assert numbers("ruth", TODAY()) == (2, 4, D(10), 0, D(40), D(25))
    assert numbers("ruth", days_ago(20)) == (2, 4, D(16), 0, D(40), D(40))
    assert numbers("sam", TODAY()) == (1, 2, D(6), 1, D(80), D("7.5"))


# Export, empty the database, import: the same numbers ----------------------------------


def numbers_by_username(days: list[datetime.date]) -> dict[tuple[str, datetime.date], tuple]:
    people = list(Person.objects.select_related("user"))
    teams = dict(Team.objects.values_list("pk", "name"))
    numbers = {}
    for on in days:
        for person_id, n in caseload_numbers(people, on).items():
            username = next(p.user.username for p in people if p.pk == person_id)
            numbers[(username, on)] = (
                n.case_count, n.people_count, n.weighted_load, n.capacity, n.unrated_count,
                n.provisional_count, n.percent, n.band, n.has_scheme, teams.get(n.team_id),
            )  # fmt: skip
    return numbers


def test_an_export_imported_into_an_empty_database_gives_the_same_numbers(
    default_scheme, team, other_team, team_manager, emptied_afterwards
):
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    days = [JAN_5, START, TAKES_C3, RATES_C3, CLOSES_C2, END, TODAY()]
    before = numbers_by_username(days)
    asha = Person.objects.get(full_name="Asha Patel").user.username
    # Asha's load as tests/scenarios.py works it out: 18, then 24 with C3, 12 once C2 closes.
    assert [before[(asha, on)][2] for on in (START, TAKES_C3, END)] == [18, 24, 12]
    assert before[("manager", TODAY())][0] == 0  # the manager holds nothing
    content = exporter.as_xlsx(exporter.collect())

    empty_the_database()
    assert not Person.objects.exists() and not Case.objects.exists()

    outcome = apply("caseload.xlsx", content)
    assert said(outcome) == [] and outcome.applied
    assert numbers_by_username(days) == before


def test_importing_an_export_into_the_database_it_came_from_changes_nothing(
    default_scheme, team, other_team, team_manager, unchanged
):
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    unchanged()
    for name, content in [
        ("caseload.xlsx", exporter.as_xlsx(exporter.collect())),
        ("caseload.zip", exporter.as_zip(exporter.collect())),
        ("team.xlsx", exporter.as_xlsx(exporter.collect(teams=[team.pk]))),
    ]:
        scope = {"teams": {team.pk}, "by": team_manager} if name == "team.xlsx" else {}
        outcome = apply(name, content, **scope)
        assert said(outcome) == [] and outcome.notes == [], name
        assert outcome.changes == 0, name
        assert outcome.counts["allocations"]["unchanged"] > 0, name


# Numbers, names and blanks as people type them ------------------------------------------


def test_a_decimal_comma_is_refused_rather_than_read_as_another_number(team, unchanged):
    unchanged()
    content = csv_file([PEOPLE, ["ann.lee", "Ann Lee", "", "social_worker", SERVICE, "0,8", "",
                                 ""]])  # fmt: skip
    assert said(check("people.csv", content)) == [
        "people, row 2: Fte must be a number written like 0.8, not '0,8'"
    ]


def test_more_decimal_places_than_are_kept_are_refused(team, unchanged):
    unchanged()
    content = csv_file([PEOPLE, ["ann.lee", "Ann Lee", "", "social_worker", SERVICE, "0.833", "",
                                 ""]])  # fmt: skip
    assert said(check("people.csv", content)) == [
        "people, row 2: Fte has more than 2 decimal places: 0.833"
    ]


def test_service_and_team_names_match_whatever_their_capitals(team, case, unchanged):
    unchanged()
    row = case_row(
        case.reference, service=SERVICE.upper(), team=CP.lower(), label=case.label, people=2
    )
    row[7] = case.opened_on.isoformat()
    outcome = check("cases.csv", csv_file([CASES, row]))
    assert outcome.errors == []
    assert outcome.counts["cases"]["unchanged"] == 1


def test_blank_priority_and_label_keep_what_is_recorded(team, case):
    Case.objects.filter(pk=case.pk).update(priority=Case.Priority.URGENT)
    row = [SERVICE, case.reference, "", case.case_type, case.people_count, CP, "",
           case.opened_on.isoformat(), ""]  # fmt: skip
    outcome = apply("cases.csv", csv_file([CASES, row]))
    assert outcome.errors == [] and outcome.counts["cases"]["unchanged"] == 1
    case.refresh_from_db()
    assert (case.priority, case.label) == (Case.Priority.URGENT, "Sibling group, neglect")


def test_the_same_worker_twice_on_a_case_at_once_is_refused(case, social_worker, unchanged):
    unchanged()
    content = csv_file(
        [
            ALLOCATIONS,
            allocation_row(case.reference, social_worker.user.username, start=30),
            allocation_row(case.reference, social_worker.user.username, start=20, kind="involved"),
        ]
    )
    assert said(check("allocations.csv", content)) == [
        f"allocations, row 3: {social_worker} is already allocated to case {case.reference} "
        "at that time"
    ]


def test_two_experience_factors_at_once_are_refused(social_worker, unchanged):
    unchanged()
    username = social_worker.user.username
    content = csv_file(
        [
            ["username", "factor", "start_date", "end_date", "reason"],
            [username, "0.8", day(60), "", "ASYE"],
            [username, "0.9", day(30), "", "ASYE, later"],
        ]
    )
    assert said(check("experience_factors.csv", content)) == [
        f"experience_factors, row 3: {social_worker} has another experience factor at the same time"
    ]


def test_a_recorded_factor_given_another_value_is_not_rewritten(social_worker, unchanged):
    ExperienceFactor.objects.create(person=social_worker, factor=D("0.8"), start_date=days_ago(60))
    unchanged()
    content = csv_file(
        [
            ["username", "factor", "start_date", "end_date", "reason"],
            [social_worker.user.username, "0.6", day(60), "", ""],
        ]
    )
    assert said(check("experience_factors.csv", content)) == [
        "experience_factors, row 2: This record is stored with other values: "
        "history is not rewritten"
    ]


def test_a_move_to_the_same_team_is_refused(case, unchanged):
    unchanged()
    content = csv_file(
        [
            ["service", "reference", "from_team", "to_team", "moved_on", "reason"],
            [SERVICE, case.reference, CP, CP, day(10), "Tidy up"],
        ]
    )
    assert said(check("case_moves.csv", content)) == [
        "case_moves, row 2: A move goes to another team"
    ]


def test_a_version_number_a_draft_already_has_is_refused(team, default_scheme, unchanged):
    from weighting import services as weighting

    draft = weighting.scheme_draft_new_version(team=team, by=None)
    unchanged()
    content = csv_file(
        [
            ["service", "team", "version", "name", "benchmark", "agreed_on"],
            [SERVICE, CP, draft.version, "Ours", 100, day(5)],
        ]
    )
    assert said(check("schemes.csv", content)) == [
        f"schemes, row 2: Version {draft.version} is a draft in Caseload: give the agreed "
        "version another number, or agree the draft first"
    ]


def test_a_file_larger_than_the_limit_is_refused(team, unchanged):
    unchanged()
    content = csv_file([CASES, *(case_row(f"CP-{n}") for n in range(50))])
    with pytest.raises(reader.FileRefused, match="larger than 0 MB"):
        reader.read("cases.csv", content, max_rows=1000, max_bytes=1000)


def test_text_that_starts_like_a_formula_comes_back_exactly_from_an_export(team, unchanged):
    labels = ["=SUM(A1)", "'quoted", "-minus", "@at"]
    for n, label in enumerate(labels):
        CaseFactory(team=team, reference=f"Q-{n}", label=label)
    unchanged()
    content = exporter.as_zip(exporter.collect())
    outcome = check("export.zip", content)
    assert outcome.errors == []
    assert outcome.counts["cases"]["unchanged"] == len(labels)


# What OWASP lists as a formula's first character (CSV injection), and the
# full-width forms a spreadsheet also reads as =, +, - and @.
FORMULA_LEADS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]


def _exported_with(lead: str, team, default_scheme) -> exporter.Sheets:  # type: ignore[no-untyped-def]
    """A case label and a criterion's name (a ratings column) that start with
    `lead`, and the case rated on that criterion."""
    case = CaseFactory(team=team, reference="Q-1", label=f"{lead}1+1")
    default_scheme.criteria.filter(name="Travel").update(name=f"{lead}Travel")
    weighting.rating_create(
        case=case,
        levels={c.pk: c.levels.first().value for c in default_scheme.criteria.all()},
        rated_on=days_ago(5),
        rated_by=None,
        status="provisional",
    )
    return exporter.collect()


@pytest.mark.parametrize("lead", FORMULA_LEADS, ids=repr)
def test_an_exported_workbook_writes_text_a_spreadsheet_would_run_as_text(
    team, default_scheme, lead
):
    book = load_workbook(io.BytesIO(exporter.as_xlsx(_exported_with(lead, team, default_scheme))))
    lead = lead.replace("\r", "\n")  # XML reads a carriage return as a line feed
    cases = book["cases"]
    label = cases.cell(2, [c.value for c in cases[1]].index("label") + 1)
    assert (label.value, label.data_type) == (f"'{lead}1+1", "s")
    travel = [(c.value, c.data_type) for c in book["ratings"][1] if "Travel" in str(c.value)]
    assert travel == [(f"'{lead}Travel", "s"), (f"'{lead}Travel anticipated", "s")]


@pytest.mark.parametrize("lead", FORMULA_LEADS, ids=repr)
def test_exported_csv_files_write_text_a_spreadsheet_would_run_as_text(team, default_scheme, lead):
    content = exporter.as_zip(_exported_with(lead, team, default_scheme))
    with zipfile.ZipFile(io.BytesIO(content)) as archive:

        def rows(name: str) -> list[list[str]]:
            text = archive.read(name).decode().removeprefix("\ufeff")
            return list(csv.reader(io.StringIO(text, newline="")))

        cases = rows("cases.csv")
        assert cases[1][cases[0].index("label")] == f"'{lead}1+1"
        assert f"'{lead}Travel" in rows("ratings.csv")[0]


@pytest.mark.parametrize("lead", ["＝", "＋", "－", "＠"], ids=repr)
@pytest.mark.parametrize("file_type", ["xlsx", "zip"])
def test_full_width_formula_text_comes_back_exactly_from_an_export(
    team, default_scheme, unchanged, lead, file_type
):
    sheets = _exported_with(lead, team, default_scheme)
    unchanged()
    content = exporter.as_xlsx(sheets) if file_type == "xlsx" else exporter.as_zip(sheets)
    outcome = check(f"export.{file_type}", content)
    assert outcome.errors == []
    assert outcome.counts["cases"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert outcome.counts["schemes"]["unchanged"] == 1
    assert outcome.counts["ratings"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_a_sheet_that_is_not_in_the_format_is_named_in_a_note(team, unchanged):
    unchanged()
    content = workbook(Case__list=[CASES, case_row("CP-1")], cases=[CASES])
    assert check("extract.xlsx", content).notes == [
        "Sheets not in the format were not read: Case list."
    ]


# The pages ----------------------------------------------------------------------------


def test_the_import_pages_by_role(
    client, team, team_manager, social_worker, dmt_member, administrator
):
    expected = {administrator: 200, team_manager: 200, social_worker: 403, dmt_member: 403}
    for url_name in ("import_start", "import_template", "export_download"):
        seen = {}
        for person in expected:
            client.force_login(person.user)
            seen[person] = client.get(reverse(url_name)).status_code
        assert seen == expected, url_name


def test_an_upload_is_previewed_then_written_when_confirmed(client, team, team_manager):
    client.force_login(team_manager.user)
    upload = SimpleUploadedFile("cases.csv", csv_file([CASES, case_row("CP-77")]))
    response = client.post(reverse("import_start"), {"file": upload})
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("import_detail", args=[run.pk])
    assert run.status == ImportRun.Status.PREVIEWED and run.team_ids == [team.pk]
    preview = client.get(response["Location"]).content.decode()
    assert "Check what the import will do" in preview and "Confirm and import" in preview
    assert not Case.objects.filter(reference="CP-77").exists()

    client.post(reverse("import_confirm", args=[run.pk]))
    runs.apply_queued()  # what the worker, or the sweep, does
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert bytes(run.content) == b""  # the file, with its case labels, is not kept
    assert Case.objects.filter(reference="CP-77", team=team).exists()
    assert "Import complete" in client.get(response["Location"]).content.decode()
    # Confirming twice writes nothing more.
    client.post(reverse("import_confirm", args=[run.pk]))
    assert runs.apply_queued() == 0


def test_someone_else_s_import_is_not_found(client, team, team_manager, administrator):

    run = runs.import_preview(
        user=administrator.user,
        name="cases.csv",
        content=csv_file([CASES, case_row("CP-78")]),
        team_ids=None,
    )
    client.force_login(team_manager.user)
    assert client.get(reverse("import_detail", args=[run.pk])).status_code == 404
    assert client.post(reverse("import_confirm", args=[run.pk])).status_code == 404


def test_a_manager_s_export_holds_their_teams_only(client, team, other_team, team_manager):
    CaseFactory(team=team, reference="OURS-1")
    CaseFactory(team=other_team, reference="THEIRS-1")
    client.force_login(team_manager.user)
    book = load_workbook(io.BytesIO(client.get(reverse("export_download")).content))
    references = [row[1] for row in book["cases"].iter_rows(min_row=2, values_only=True)]
    assert references == ["OURS-1"]
    assert [row[1] for row in book["teams"].iter_rows(min_row=2, values_only=True)] == [CP]


@pytest.mark.parametrize("blank", ["\xa0", "\u200b", " \u3000\ufeff"], ids=repr)
def test_an_imported_scheme_level_or_name_that_says_nothing_is_a_row_error(team, unchanged, blank):
    """The import refuses what the scheme edit page refuses (caseload.fields.is_blank)."""
    unchanged()
    content = workbook(
        schemes=[["service", "team", "version", "name", "benchmark", "agreed_on"],
                 [SERVICE, "", 2, blank, 100, day(1)]],
        criteria=[["service", "team", "version", "criterion", "description", "level",
                   "descriptor"],
                  [SERVICE, "", 2, "Travel", "", 0, blank],
                  [SERVICE, "", 2, "Travel", "", 1, "Some"]],
    )  # fmt: skip
    outcome = apply("scheme.xlsx", content)
    nothing_written(outcome)
    assert said(outcome) == [
        "schemes, row 2: Name is missing",
        "criteria, row 2: Descriptor is missing",
        "criteria, row 3: Version 2 is not in the schemes sheet",
    ]


# A confirmed import: its worker dies, it fails, or it is never confirmed ---------------


class WorkerDied(BaseException):
    """The process writing an import stops where this is raised: nothing
    after it runs, not even an `except Exception`."""


def confirmed(user, *references: str) -> ImportRun:
    """A cases file checked and confirmed, as the Import page does it."""
    rows = [case_row(reference) for reference in references]
    run = runs.import_preview(
        user=user, name="cases.csv", content=csv_file([CASES, *rows]), team_ids=None
    )
    assert run.status == ImportRun.Status.PREVIEWED, run.summary
    return runs.import_confirm(run=run)


def long_ago() -> datetime.datetime:
    """A start so long ago that even without PostgreSQL's lock to tell (on
    SQLite) the run's worker is known to be gone."""
    return timezone.now() - datetime.timedelta(days=1)


def stored(run: ImportRun) -> ImportRun:
    return ImportRun.objects.get(pk=run.pk)


def test_a_crash_between_the_writes_and_done_writes_nothing_and_the_sweep_imports_it(
    team, administrator, monkeypatch
):
    run = confirmed(administrator.user, "CP-77", "CP-78")

    def crash(*args, **kwargs):
        raise WorkerDied

    # The worker dies once the records are written, before the run says so.
    monkeypatch.setattr(runs, "_teams_named", crash)
    with pytest.raises(WorkerDied):
        runs.apply_queued()
    assert not Case.objects.filter(reference__in=["CP-77", "CP-78"]).exists()
    assert stored(run).status == ImportRun.Status.RUNNING

    monkeypatch.undo()
    ImportRun.objects.filter(pk=run.pk).update(started_at=long_ago())
    assert runs.apply_queued() == 1  # the sweep, a minute later
    run = stored(run)
    assert (run.status, run.attempts, bytes(run.content)) == (ImportRun.Status.DONE, 2, b"")
    assert run.summary["counts"] == [["cases", 2, 0, 0]]
    assert Case.objects.filter(reference__in=["CP-77", "CP-78"]).count() == 2


def test_a_run_whose_worker_keeps_dying_fails_with_its_file_deleted(client, team, administrator):
    run = confirmed(administrator.user, "CP-77")
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING, attempts=3, started_at=long_ago()
    )
    assert runs.apply_queued() == 1
    run = stored(run)
    assert (run.status, bytes(run.content)) == (ImportRun.Status.FAILED, b"")
    assert run.failure == (
        "The import stopped 3 times before it finished (the server writing it stopped). "
        "Nothing was written. Upload the file again to import it."
    )
    assert not Case.objects.filter(reference="CP-77").exists()
    client.force_login(administrator.user)
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "The import failed" in page and "The import stopped 3 times" in page
    assert f'href="{reverse("import_start")}">Upload the file again' in page


def test_an_import_that_breaks_fails_with_its_file_deleted(
    client, team, administrator, monkeypatch
):
    run = confirmed(administrator.user, "CP-77")

    def broken(self):
        raise RuntimeError("a fault in Caseload")

    monkeypatch.setattr(importer.Import, "_save_new_cases", lambda self: self.saves.append(
        lambda: broken(self)))  # fmt: skip
    assert runs.apply_queued() == 1
    run = stored(run)
    assert (run.status, bytes(run.content)) == (ImportRun.Status.FAILED, b"")
    assert run.failure.startswith("The import failed because of a fault in Caseload.")
    assert not Case.objects.filter(reference="CP-77").exists()
    client.force_login(administrator.user)
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "a fault in Caseload. Nothing was written" in page


@pytest.mark.postgres
def test_a_run_its_worker_is_writing_is_left_to_it(team, administrator):
    """Another database session holds the run's lock, as a live worker does."""
    import psycopg2

    from tests.brokers import database_url_of_the_tests

    run = confirmed(administrator.user, "CP-77")
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING, attempts=1, started_at=long_ago()
    )
    worker = psycopg2.connect(database_url_of_the_tests())
    try:
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [runs.LOCK_BASE + run.pk])
        assert runs.apply_queued() == 0
        assert runs.import_apply(run.pk) == "taken"
    finally:
        worker.close()  # the worker dies: its lock goes with it
    assert (stored(run).status, stored(run).attempts) == (ImportRun.Status.RUNNING, 1)
    assert runs.apply_queued() == 1
    assert stored(run).status == ImportRun.Status.DONE


def test_a_preview_not_confirmed_within_a_day_expires_with_its_file(
    client, settings, team, administrator
):
    def previewed(reference: str) -> ImportRun:
        content = csv_file([CASES, case_row(reference)])
        return runs.import_preview(
            user=administrator.user, name="cases.csv", content=content, team_ids=None
        )

    old, fresh = previewed("CP-77"), previewed("CP-78")
    ImportRun.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=24, minutes=1)
    )
    assert runs.expire_previews() == 1
    old, fresh = stored(old), stored(fresh)
    assert (old.status, bytes(old.content)) == (ImportRun.Status.EXPIRED, b"")
    assert fresh.status == ImportRun.Status.PREVIEWED and bytes(fresh.content)

    client.force_login(administrator.user)
    response = client.post(reverse("import_confirm", args=[old.pk]), follow=True)
    page = response.content.decode()
    assert "This check has expired" in page
    assert "more than 24 hours old and its file has been deleted" in page
    assert stored(old).status == ImportRun.Status.EXPIRED
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "caseload.expire_import_previews" in tasks


def test_an_import_says_how_far_it_has_got(client, team, administrator):
    run = confirmed(administrator.user, *(f"CP-{n}" for n in range(1200)))
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING, rows_done=500)
    client.force_login(administrator.user)
    progress = client.get(reverse("import_progress", args=[run.pk])).json()
    assert progress["in_progress"] and progress["percent"] == 41
    assert progress["progress_text"] == "Checked 500 of 1,200 rows (41%)."
    ImportRun.objects.filter(pk=run.pk).update(rows_done=1200)
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Checked all 1,200 rows: writing them." in page


# A real worker, killed while it writes an import ------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_is_killed_is_taken_up_by_the_sweep(
    client, team, administrator, tmp_path
):
    from config.celery import app
    from tests.brokers import own_redis, publishing_to, wait_for, worker_process

    references = [f"CP-{n:05}" for n in range(20_000)]
    log = tmp_path / "worker.log"
    client.force_login(administrator.user)
    with own_redis(tmp_path) as redis, publishing_to(redis.url):
        with worker_process(redis.url, log) as worker:
            run = confirmed(administrator.user, *references)  # sends the task
            wait_for(lambda: stored(run).rows_done > 0, 120, f"the first rows (log: {log})")
            # The page follows it while it runs.
            progress = client.get(reverse("import_progress", args=[run.pk])).json()
            assert progress["in_progress"] and progress["rows_done"] > 0
            worker.kill()
        assert stored(run).status == ImportRun.Status.RUNNING
        assert not Case.objects.filter(reference__in=references[:10]).exists()

        with worker_process(redis.url, log):
            sent = [0.0]

            def imported() -> bool:
                # What beat sends every minute, here every 5 seconds.
                if time.monotonic() - sent[0] > 5:
                    app.send_task("caseload.apply_queued_imports")
                    sent[0] = time.monotonic()
                return stored(run).status == ImportRun.Status.DONE

            wait_for(imported, 240, f"the sweep to import it (log: {log})")
    run = stored(run)
    assert (run.attempts, bytes(run.content), run.rows_done) == (2, b"", 20_000)
    assert Case.objects.filter(reference__in=references).count() == 20_000
    page = client.get(reverse("import_detail", args=[run.pk])).content.decode()
    assert "Import complete" in page


# Memory: a large upload is read a row at a time, and let go -----------------------------


def large_upload(kind: str, rows: int) -> tuple[str, bytes]:
    """`rows` new cases, as Excel saves them."""
    cases = [case_row(f"CP-{n:06}", people=1 + n % 4, opened=1 + n % 300) for n in range(rows)]
    if kind == "csv":
        return "cases.csv", csv_file([CASES, *cases])
    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    for row in [CASES, *cases]:
        sheet.append([cell if cell != "" else None for cell in row])
    out = io.BytesIO()
    book.save(out)
    return "cases.xlsx", out.getvalue()


def preview_memory(user, kind: str, rows: int) -> tuple[int, int]:
    """Python's own allocations while a file of `rows` new cases is checked
    (the preview), at their peak and as held once it is over, without the
    garbage collector's help."""
    name, content = large_upload(kind, rows)
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run = runs.import_preview(user=user, name=name, content=content, team_ids=None)
        held, peak = (n - before for n in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()
        gc.enable()
    assert run.status == ImportRun.Status.PREVIEWED and run.row_count == rows
    return peak, held


@pytest.mark.parametrize(("kind", "rows", "peak_kb"), [("csv", 9_000, 1.4), ("xlsx", 4_000, 1.4)])
def test_a_large_upload_is_checked_a_row_at_a_time_and_nothing_of_it_is_kept(
    team, administrator, kind, rows, peak_kb
):
    """The memory a preview takes at its peak for each row beyond what a
    small file takes (what Caseload holds is read either way), and what it
    holds once it is over. Before the reader read one row at a time, every
    row was held at the peak: 2.0 kB a row of a CSV file and 1.7 of a
    workbook, now 1.1 and 1.2 (in a process whose cases have had other
    attributes set, as a web worker's have); and everything the check made
    stayed until the collector's next full pass, rare in the web and Celery
    workers (ADR 0013): 15 MB for a 9,000-row CSV file, 7 for a 4,000-row
    workbook; now none."""
    small, _ = preview_memory(administrator.user, kind, 100)
    peak, held = preview_memory(administrator.user, kind, rows)
    per_row = (peak - small) / (rows - 100) / 1024
    assert per_row < peak_kb, f"{per_row:.1f} kB a row at the peak"
    assert held < 2 * 2**20, f"{held / 2**20:.1f} MB held after the preview"


# New people with an email are invited to set their password ------------------------------


def new_people_file() -> bytes:
    return workbook(
        people=[
            PEOPLE,
            ["noor.ali", "Noor Ali", "noor.ali@example.org", "social_worker", SERVICE, 1, "", ""],
            ["sam.green", "Sam Green", "", "social_worker", SERVICE, 1, "", ""],
        ],
        memberships=[MEMBERSHIPS, ["noor.ali", SERVICE, CP, day(3), ""],
                     ["sam.green", SERVICE, CP, day(3), ""]],
    )  # fmt: skip


@pytest.mark.parametrize("invite", [True, False])
def test_an_import_offers_to_invite_new_people_with_an_email(
    client, team, team_manager, administrator, invite
):
    client.force_login(team_manager.user)
    upload = SimpleUploadedFile("people.xlsx", new_people_file())
    response = client.post(reverse("import_start"), {"file": upload})
    preview = client.get(response["Location"]).content.decode()
    assert "1 new person has an email address" in preview
    run = ImportRun.objects.get()
    client.post(reverse("import_confirm", args=[run.pk]), {"invite": "yes"} if invite else {})
    runs.apply_queued()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    sent = list(Notification.objects.values_list("recipient__full_name", "subject"))
    if invite:
        assert sent == [("Noor Ali", "Set your password for Caseload")]
        assert (
            "Invitations sent to 1 new person" in client.get(response["Location"]).content.decode()
        )
    else:
        assert sent == []


def test_an_import_invites_nobody_who_already_has_a_log_in(client, team, team_manager, colleague):
    colleague.user.email = "daniel@example.org"
    colleague.user.save()
    client.force_login(team_manager.user)
    content = csv_file([PEOPLE, ["colleague", "Daniel Reid", "daniel.reid@example.org",
                                 "social_worker", SERVICE, 1, "", ""]])  # fmt: skip
    response = client.post(
        reverse("import_start"), {"file": SimpleUploadedFile("people.csv", content)}
    )
    assert "new person has an email" not in client.get(response["Location"]).content.decode()
    run = ImportRun.objects.get()
    client.post(reverse("import_confirm", args=[run.pk]), {"invite": "yes"})
    runs.apply_queued()
    assert Notification.objects.count() == 0


def test_an_import_changes_a_role_only_as_the_admin_would(team, team_manager, social_worker):
    """The rules on a new role (services.check_role_change) hold in an import:
    someone who supervises people or manages a team keeps a role that may."""
    content = csv_file([PEOPLE, ["manager", "Claire Hughes", "", "senior_manager", SERVICE, 1,
                                 "", ""]])  # fmt: skip
    outcome = apply("people.csv", content)
    nothing_written(outcome)
    assert said(outcome) == [
        "people, row 2: Claire Hughes supervises Asha Patel; a senior manager (dmt) "
        "supervises nobody. Give them another supervisor first."
    ]
    assert Person.objects.get(pk=team_manager.pk).role == Person.Role.TEAM_MANAGER


def test_a_planned_starter_factor_and_reduction_import_and_reach_the_forecast(
    team, team_manager, social_worker, case, default_scheme
):
    """Memberships, experience factors and reductions may start in the future
    (issue 26): Noor joins in three weeks; Asha's 20% training starts in two;
    an allocation still may not."""
    in_3_weeks = (TODAY() + datetime.timedelta(weeks=3)).isoformat()
    in_2_weeks = (TODAY() + datetime.timedelta(weeks=2)).isoformat()
    content = workbook(
        people=[PEOPLE, ["noor.ali", "Noor Ali", "", "asye", SERVICE, 1, "manager", day(10)]],
        memberships=[MEMBERSHIPS, ["noor.ali", SERVICE, CP, in_3_weeks, ""]],
        experience_factors=[FACTORS, ["noor.ali", "0.8", in_3_weeks, "", "ASYE year"]],
        reductions=[REDUCTIONS, ["worker", "training", "", "", "20", in_2_weeks, ""]],
    )  # fmt: skip
    outcome = apply("planned.xlsx", content)
    assert said(outcome) == []
    _today, _terms, forecast = team_forecast(
        forecast_members(team, TODAY()), TODAY(), team.service_id, team.pk
    )
    points = {m.person.full_name: m.points for m in forecast.members}
    assert [p is not None for p in points["Noor Ali"][2:5]] == [False, True, True]
    assert points["Noor Ali"][3].capacity == 80
    assert [p.capacity for p in points["Asha Patel"][1:4]] == [100, 80, 80]

    future = workbook(allocations=[ALLOCATIONS, allocation_row("CP-1042", "worker", start=-7)])
    assert said(check("a.xlsx", future)) == [
        "allocations, row 2: An allocation cannot start in the future"
    ]
