"""Exporting the whole caseload in the import format, so that an export
imported into an empty database gives the same numbers on every page."""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from caseload.models import (
    Allocation,
    Case,
    CaseQuerySet,
    CaseTeamMove,
    Person,
    Service,
    Team,
    TeamMembership,
)
from caseload.tables import escape_formula
from exchange import format as fmt
from exchange.examples import CRITERIA as EXAMPLE_CRITERIA
from exchange.examples import EXAMPLES
from exchange.format import ANTICIPATED_SUFFIX, LIST_SEPARATOR
from weighting.models import (
    CasePause,
    Criterion,
    ExperienceFactor,
    Level,
    Rating,
    RatingLevel,
    Reduction,
    Scheme,
)

Sheets = dict[str, tuple[list[str], list[list[Any]]]]


def _number(value: Decimal | None) -> Decimal | None:
    """2.00 as 2, 0.80 as 0.8: the level a person would type."""
    if value is None:
        return None
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


LEFT_OUT = "left_out"  # the sheet saying how many restricted cases are not in the file


def cases_exported(
    teams: Iterable[int] | None = None, left_out: Iterable[int] = ()
) -> CaseQuerySet:
    """The cases an export of these teams (or the whole council) holds, less
    those `left_out` (restricted cases the person exporting is not named on)."""
    cases = Case.objects.all() if teams is None else Case.objects.filter(team_id__in=list(teams))
    left_out = list(left_out)
    return cases.exclude(pk__in=left_out) if left_out else cases


def collect(teams: Iterable[int] | None = None, left_out: Iterable[int] = ()) -> Sheets:
    """Every record the numbers depend on, for the given teams (a manager's
    export) or the whole council, less the cases `left_out` and their
    records; a last sheet says how many were left out."""
    team_qs = Team.objects.select_related("service").order_by("service__name", "name")
    if teams is not None:
        team_qs = team_qs.filter(pk__in=list(teams))
    team_list = list(team_qs)
    team_ids = [t.pk for t in team_list]
    service_ids = {t.service_id for t in team_list}
    services = Service.objects.order_by("name")
    if teams is not None:
        services = services.filter(pk__in=service_ids)
    sheets: Sheets = {}

    def sheet(spec: fmt.SheetSpec, rows: list[list[Any]], extra: list[str] | None = None) -> None:
        sheets[spec.name] = ([*spec.column_names, *(extra or [])], rows)

    sheet(
        fmt.SERVICES,
        [
            [s.name, s.kind, _number(s.band_green_from), _number(s.band_amber_above),
             _number(s.band_red_from), s.supervision_weeks, s.asye_supervision_weeks,
             _number(s.full_time_hours)]
            for s in services
        ],
    )  # fmt: skip
    managers: dict[int, list[str]] = defaultdict(list)
    for team_id, username in (
        Team.managers.through.objects.filter(team_id__in=team_ids)
        .order_by("person__user__username")
        .values_list("team_id", "person__user__username")
    ):
        managers[team_id].append(username)
    sheet(
        fmt.TEAMS,
        [
            [t.service.name, t.name, _number(t.aspiration),
             f"{LIST_SEPARATOR} ".join(managers[t.pk])]
            for t in team_list
        ],
    )  # fmt: skip

    schemes = list(
        Scheme.objects.exclude(status=Scheme.Status.DRAFT)
        .filter(Q(team_id__in=team_ids) | Q(team__isnull=True, service_id__in=service_ids))
        .select_related("service", "team")
        .order_by("service__name", "team__name", "version")
    )
    sheet(
        fmt.SCHEMES,
        [
            [s.service.name, s.team.name if s.team else "", s.version, s.name,
             _number(s.benchmark), s.agreed_on, s.unit, _number(s.non_case_hours)]
            for s in schemes
        ],
    )  # fmt: skip
    criteria = list(Criterion.objects.filter(scheme__in=schemes).order_by("scheme_id", "position"))
    levels: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(criterion__in=criteria).order_by("value"):
        levels[level.criterion_id].append(level)
    by_scheme = {s.pk: s for s in schemes}
    sheet(
        fmt.CRITERIA,
        [
            [by_scheme[c.scheme_id].service.name,
             by_scheme[c.scheme_id].team.name if by_scheme[c.scheme_id].team else "",
             by_scheme[c.scheme_id].version, c.name, c.description, _number(level.value),
             level.descriptor]
            for c in criteria
            for level in levels[c.pk]
        ],
    )  # fmt: skip

    memberships = TeamMembership.objects.select_related("person__user", "team__service").order_by(
        "person__user__username", "start_date"
    )
    left_out = list(left_out)
    cases = cases_exported(None if teams is None else team_ids, left_out).select_related(
        "service", "team"
    )
    cases = cases.order_by("service__name", "reference")
    if teams is not None:
        memberships = memberships.filter(team_id__in=team_ids)
    memberships = list(memberships)
    cases = list(cases)
    case_ids = [c.pk for c in cases]
    allocations = list(
        Allocation.objects.filter(case_id__in=case_ids)
        .select_related("case__service", "person__user")
        .order_by("case__service__name", "case__reference", "start_date", "pk")
    )
    ratings = list(
        Rating.objects.filter(case_id__in=case_ids)
        .select_related("case__service", "scheme__team", "rated_by__user", "agreed_with__user")
        .order_by("case__service__name", "case__reference", "rated_on", "pk")
    )
    # Today's FTE: the import of this file records it from the day it runs.
    people = (
        Person.objects.with_fte_on(timezone.localdate())
        .select_related("user", "service", "supervisor__user")
        .order_by("user__username")
    )
    if teams is not None:
        wanted = {m.person_id for m in memberships}
        wanted |= {a.person_id for a in allocations}
        wanted |= {p for r in ratings for p in (r.rated_by_id, r.agreed_with_id) if p}
        wanted |= set(
            Team.managers.through.objects.filter(team_id__in=team_ids).values_list(
                "person_id", flat=True
            )
        )
        supervisors = set(
            Person.objects.filter(pk__in=wanted, supervisor__isnull=False).values_list(
                "supervisor_id", flat=True
            )
        )
        people = people.filter(pk__in=wanted | supervisors)
    people = list(people)
    exported = {p.pk for p in people}
    sheet(
        fmt.PEOPLE,
        [
            [p.user.username, p.full_name, p.user.email, p.role,
             p.service.name if p.service else "", _number(p.fte_on_day),
             p.supervisor.user.username if p.supervisor_id in exported else "",
             p.asye_start_date]
            for p in people
        ],
    )  # fmt: skip
    sheet(
        fmt.MEMBERSHIPS,
        [
            [m.person.user.username, m.team.service.name, m.team.name, m.start_date, m.end_date]
            for m in memberships
            if m.person_id in exported
        ],
    )
    sheet(
        fmt.EXPERIENCE_FACTORS,
        [
            [f.person.user.username, _number(f.factor), f.start_date, f.end_date, f.reason]
            for f in ExperienceFactor.objects.filter(person_id__in=exported)
            .select_related("person__user")
            .order_by("person__user__username", "start_date")
        ],
    )
    sheet(
        fmt.REDUCTIONS,
        [
            [r.person.user.username, r.reason.name, r.detail, _number(r.hours_per_week),
             _number(r.percentage), r.start_date, r.end_date]
            for r in Reduction.objects.filter(person_id__in=exported)
            .select_related("person__user", "reason")
            .order_by("person__user__username", "start_date", "reason__name")
        ],
    )  # fmt: skip
    sheet(
        fmt.CASES,
        [
            [c.service.name, c.reference, c.label, c.case_type, c.people_count, c.team.name,
             c.priority, c.opened_on, c.closed_on, "yes" if c.restricted else "no"]
            for c in cases
        ],
    )  # fmt: skip
    sheet(
        fmt.CASE_MOVES,
        [
            [m.case.service.name, m.case.reference, m.from_team.name, m.to_team.name,
             m.moved_on, m.reason]
            for m in CaseTeamMove.objects.filter(case_id__in=case_ids)
            .select_related("case__service", "from_team", "to_team")
            .order_by("case__reference", "moved_on", "pk")
        ],
    )  # fmt: skip
    sheet(
        fmt.ALLOCATIONS,
        [
            [a.case.service.name, a.case.reference, a.person.user.username, a.kind,
             a.start_date, a.end_date]
            for a in allocations
        ],
    )  # fmt: skip

    names: list[str] = []
    for criterion in criteria:
        if criterion.name not in names:
            names.append(criterion.name)
    chosen: dict[int, dict[str, tuple]] = defaultdict(dict)
    for row in RatingLevel.objects.filter(rating__in=ratings).select_related(
        "criterion", "level", "anticipated_level"
    ):
        chosen[row.rating_id][row.criterion.name] = (
            _number(row.level.value),
            _number(row.anticipated_level.value) if row.anticipated_level else None,
        )
    sheet(
        fmt.RATINGS,
        [
            [r.case.service.name, r.case.reference, r.rated_on, r.status,
             r.rated_by.user.username if r.rated_by_id in exported else "",
             r.agreed_with.user.username if r.agreed_with_id in exported else "",
             r.scheme.team.name if r.scheme.team else "", r.scheme.version, r.anticipated_by,
             *(chosen[r.pk].get(n, (None, None))[0] for n in names),
             *(chosen[r.pk].get(n, (None, None))[1] for n in names)]
            for r in ratings
        ],
        extra=[*names, *(f"{n}{ANTICIPATED_SUFFIX}" for n in names)],
    )  # fmt: skip
    sheet(
        fmt.CASE_PAUSES,
        [
            [p.case.service.name, p.case.reference, p.reason.name, _number(p.factor),
             p.start_date, p.full_from, p.end_date]
            for p in CasePause.objects.filter(case_id__in=case_ids)
            .select_related("case__service", "reason")
            .order_by("case__service__name", "case__reference", "start_date")
        ],
    )  # fmt: skip
    if left_out:
        sheets[LEFT_OUT] = (["note"], [[left_out_note(len(left_out))]])
    return sheets


def left_out_note(count: int) -> str:
    many = count != 1
    return (
        f"{count} restricted case{'s' if many else ''} you are not named on "
        f"{'are' if many else 'is'} left out of this export, with "
        f"{'their' if many else 'its'} allocations, ratings and moves."
    )


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return escape_formula(value)
    return value


def _in_order(sheets: Sheets) -> list[tuple[str, tuple[list[str], list[list[Any]]]]]:
    """Every sheet of the format in its order (empty if `sheets` has none of
    it), then any note (`LEFT_OUT`)."""
    ordered = [
        (spec.name, sheets.get(spec.name, (list(spec.column_names), []))) for spec in fmt.SHEETS
    ]
    return ordered + [(name, sheet) for name, sheet in sheets.items() if name not in fmt.BY_NAME]


def as_xlsx(sheets: Sheets) -> bytes:
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, (headings, rows) in _in_order(sheets):
        worksheet = book.create_sheet(name)
        heading_cells = []
        for heading in headings:
            cell = WriteOnlyCell(worksheet, value=escape_formula(heading))
            cell.font = bold
            heading_cells.append(cell)
        worksheet.append(heading_cells)
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(worksheet, value=_cell(value))
                if hasattr(value, "isoformat"):
                    cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            worksheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return escape_formula(str(value))


def as_zip(sheets: Sheets) -> bytes:
    """The same sheets as CSV files (UTF-8 with a byte-order mark), zipped."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, (headings, rows) in _in_order(sheets):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow([escape_formula(h) for h in headings])
            writer.writerows([_csv_value(v) for v in row] for row in rows)
            archive.writestr(f"{name}.csv", "\ufeff" + text.getvalue())
    return out.getvalue()


def template() -> bytes:
    """An empty workbook of the format: each sheet's column names, the
    default scheme's criteria on the ratings sheet, and a read_me sheet (not
    imported) listing every column, with example rows of each sheet."""
    criteria = list(EXAMPLE_CRITERIA)
    sheets: Sheets = {spec.name: (list(spec.column_names), []) for spec in fmt.SHEETS}
    sheets["ratings"] = (
        [*fmt.RATINGS.column_names, *criteria, *(f"{c}{ANTICIPATED_SUFFIX}" for c in criteria)],
        [],
    )
    content = as_xlsx(sheets)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    notes = book.create_sheet("read_me", 0)
    notes.append(
        [
            "Caseload import template: fill in the sheets you need. The import page links "
            "to the format guide; the examples below show each sheet filled in."
        ]
    )
    notes.append([])
    notes.append(["sheet", "column", "required", "values"])
    for cell in notes[3]:
        cell.font = Font(bold=True)
    for spec in fmt.SHEETS:
        for col in spec.columns:
            values = (
                col.allowed
                or ", ".join(code for code, _ in col.choices)
                or {
                    "date": "a date: 2026-07-31 or 31/07/2026",
                    "decimal": "a number",
                    "int": "a whole number",
                    "list": "user names separated by ;",
                }.get(col.kind, "text")
            )
            notes.append([spec.name, col.name, "yes" if col.required else "", values])
    notes.append(["ratings", "<criterion name>", "yes", "the level given for that criterion"])
    notes.append(["ratings", "<criterion name> anticipated", "", "the level anticipated"])
    # Example rows of each sheet, to copy: a small team that imports as it is.
    notes.append([])
    notes.append(["Examples: a small team, each sheet's column names and rows to copy"])
    notes[notes.max_row][0].font = Font(bold=True)
    for name, rows in EXAMPLES.items():
        notes.append([])
        notes.append([name])
        notes[notes.max_row][0].font = Font(bold=True)
        notes.append(sheets[name][0])
        for row in rows:
            notes.append(row)
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 28
    notes.column_dimensions["D"].width = 60
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
