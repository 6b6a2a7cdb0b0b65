"""What an import knows as it checks a file: the stored records, loaded at once,
beside what the file brings; and the checks every sheet's rows share (scope,
dated records, the people a manager's import may change)."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from caseload import access
from caseload.dates import long_date
from caseload.models import (
    Allocation,
    Case,
    CaseTeamMove,
    FteChange,
    Person,
    Service,
    Team,
    TeamMembership,
)
from exchange import format as fmt
from exchange.format import CellError
from exchange.outcome import CREATED, UNCHANGED, UPDATED, Outcome
from exchange.reader import Row, Workbook
from weighting.models import (
    CasePause,
    Criterion,
    ExperienceFactor,
    Level,
    PauseReason,
    Rating,
    RatingLevel,
    Reduction,
    ReductionReason,
    Scheme,
)

# Roles whose records only an administrator's import changes.
MANAGING_ROLES = {
    Person.Role.TEAM_MANAGER: "a team manager",
    Person.Role.SENIOR_MANAGER: "a senior manager",
    Person.Role.ADMINISTRATOR: "an administrator",
}


@dataclass
class Interval:
    """A dated record: from start (inclusive) to end (exclusive, or open)."""

    start: datetime.date
    end: datetime.date | None

    def covers(self, day: datetime.date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)

    def overlaps(self, other: Interval) -> bool:
        return (other.end is None or self.start < other.end) and (
            self.end is None or other.start < self.end
        )


class ImportState:
    """What every sheet's checks share: the import's file, its scope, the
    records stored and those the file brings, and the writes queued."""

    def __init__(
        self,
        book: Workbook,
        *,
        teams: set[int] | None = None,
        by: Person | None = None,
        today: datetime.date | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.book = book
        self.scope = teams
        self.by = by
        self.today = today or timezone.localdate()
        self.progress = progress or (lambda done: None)
        self.outcome = Outcome()
        self.saves: list[Callable[[], None]] = []
        self.stale: dict[int, datetime.date] = {}
        self._done = 0
        self._new_ratings: list[tuple] = []
        self._intervals: dict[tuple, list[Interval]] = {}

    # Reading rows ---------------------------------------------------------------------

    def _tick(self) -> None:
        self._done += 1
        if self._done % 500 == 0:
            self.progress(self._done)

    def _error(self, sheet: str, row: Row | int, message: str) -> None:
        number = row.number if isinstance(row, Row) else row
        self.outcome.errors.append((sheet, number, message[:1].upper() + message[1:]))

    def _values(self, spec: fmt.SheetSpec, row: Row) -> dict[str, Any] | None:
        if row.problems:  # cells the reader could not take: the rest is not read
            for problem in row.problems:
                self._error(spec.name, row, problem)
            return None
        values, problems = {}, []
        for col in spec.columns:
            try:
                values[col.name] = fmt.parse(col, row.cells.get(col.name))
            except CellError as error:
                problems.append(str(error))
        if spec.open_columns:
            values["_extra"] = {k: v for k, v in row.cells.items() if k not in spec.column_names}
        for problem in problems:
            self._error(spec.name, row, problem)
        if problems:
            return None
        # Names as recorded, whatever their capitals in the file.
        service = values.get("service")
        if service:
            values["service"] = self.service_names.get(service.lower(), service)
            for name in ("team", "from_team", "to_team", "scheme_team"):
                if values.get(name):
                    key = (values["service"].lower(), values[name].lower())
                    values[name] = self.team_names.get(key, values[name])
        return values

    # What the database holds ----------------------------------------------------------

    def _load(self) -> None:
        self.services = {s.name: s for s in Service.objects.all()}
        self.teams = {(t.service.name, t.name): t for t in Team.objects.select_related("service")}
        self.service_names = {name.lower(): name for name in self.services}
        self.team_names = {(svc.lower(), name.lower()): name for svc, name in self.teams}
        self.managers = defaultdict(set)
        for team_id, username in Team.managers.through.objects.values_list(
            "team_id", "person__user__username"
        ):
            self.managers[team_id].add(username)
        self.schemes: dict[tuple, Scheme] = {}
        self.drafts = {
            (scheme.service.name, scheme.team.name if scheme.team else None, scheme.version)
            for scheme in Scheme.objects.filter(status=Scheme.Status.DRAFT).select_related(
                "service", "team"
            )
        }
        self.scheme_criteria: dict[int, list[tuple[str, str, dict[Decimal, str]]]] = {}
        criteria: dict[int, Criterion] = {}
        for scheme in Scheme.objects.exclude(status=Scheme.Status.DRAFT).select_related(
            "service", "team"
        ):
            self.schemes[(scheme.service.name, scheme.team.name if scheme.team else None,
                          scheme.version)] = scheme  # fmt: skip
        for criterion in Criterion.objects.filter(scheme__in=self.schemes.values()).order_by(
            "scheme_id", "position"
        ):
            criteria[criterion.pk] = criterion
        self.criteria_of: dict[int, list[Criterion]] = defaultdict(list)
        for criterion in criteria.values():
            self.criteria_of[criterion.scheme_id].append(criterion)
        self.levels_of: dict[int, dict[Decimal, Level]] = defaultdict(dict)
        for level in Level.objects.filter(criterion__in=list(criteria)):
            self.levels_of[level.criterion_id][level.value.normalize()] = level
        User = get_user_model()
        self.users = {u.username: u for u in User.objects.all()}
        # Each with their FTE on the import's day, and the day their latest starts.
        latest_fte = FteChange.objects.filter(person=OuterRef("pk"), end_date__isnull=True)
        self.people = {
            p.user.username: p
            for p in Person.objects.with_fte_on(self.today)
            .annotate(fte_open_from=Subquery(latest_fte.values("start_date")[:1]))
            .select_related("user", "service")
        }
        self.memberships: dict[int, list[TeamMembership]] = defaultdict(list)
        for m in TeamMembership.objects.all():
            self.memberships[m.person_id].append(m)
        self.reachable = self._reachable()
        self.factors = {(f.person_id, f.start_date): f for f in ExperienceFactor.objects.all()}
        # Each service's reasons for protected time by name, whatever its capitals.
        self.reasons: dict[str, dict[str, ReductionReason]] = defaultdict(dict)
        for reason in ReductionReason.objects.select_related("service"):
            self.reasons[reason.service.name][reason.name.lower()] = reason
        # Stored reductions by their reason's name: a person who has moved
        # service keeps theirs under the old service's reason of that name.
        self.reductions = {
            (r.person_id, r.reason.name.lower(), r.start_date): r
            for r in Reduction.objects.select_related("reason")
        }
        # Each service's reasons for pausing a case, and the pauses stored.
        self.pause_reasons: dict[str, dict[str, PauseReason]] = defaultdict(dict)
        for pause_reason in PauseReason.objects.select_related("service"):
            self.pause_reasons[pause_reason.service.name][pause_reason.name.lower()] = pause_reason
        self.pauses: dict[tuple[int, datetime.date], CasePause] = {
            (p.case_id, p.start_date): p for p in CasePause.objects.select_related("reason")
        }
        self.cases = {
            (c.service.name, c.reference): c for c in Case.objects.select_related("service")
        }
        # Restricted cases the importer is not named on: their rows are
        # refused, and the outcome never names them.
        self.hidden = (
            set(access.hidden_from(self.by.user).values_list("pk", flat=True))
            if self.by is not None
            else set()
        )
        self.moves: dict[int, list[CaseTeamMove]] = defaultdict(list)
        for move in CaseTeamMove.objects.order_by("moved_on", "pk"):
            self.moves[move.case_id].append(move)
        self.allocations: dict[int, list[Allocation]] = defaultdict(list)
        for allocation in Allocation.objects.all():
            self.allocations[allocation.case_id].append(allocation)
        self.ratings: dict[tuple, tuple[Rating, dict[str, tuple]]] = {}
        rating_levels: dict[int, dict[str, tuple]] = defaultdict(dict)
        for level in RatingLevel.objects.select_related("level", "anticipated_level", "criterion"):
            rating_levels[level.rating_id][level.criterion.name.lower()] = (
                level.level.value.normalize(),
                level.anticipated_level.value.normalize() if level.anticipated_level else None,
            )
        for rating in Rating.objects.select_related("rated_by__user", "agreed_with__user"):
            self.ratings[(rating.case_id, rating.rated_on, rating.status)] = (
                rating,
                rating_levels[rating.pk],
            )
        # What this file brings, beside what is stored.
        self.new_criteria: dict[tuple, list[tuple[str, str, list[tuple[Decimal, str]]]]] = {}
        self.seen: dict[str, set] = defaultdict(set)
        self.file_people: dict[str, dict] = {}
        self.file_cases: set[tuple] = set()
        # A case's team in the file, and its moves there, by the case's id():
        # kept beside the cases, as an attribute set on each would make every
        # case's own attributes take several times the memory.
        self.team_now: dict[int, Team] = {}
        self.file_moves: dict[int, list[tuple[Team, Team, datetime.date]]] = defaultdict(list)
        self.file_managers: dict[int, tuple] = {}
        # Rows are kept by their numbers: a row's cells are not kept once read.
        self.pending_allocations: list[tuple[int, Allocation]] = []
        self.ended: list[tuple[int, Allocation, datetime.date]] = []
        self.membership_rows: dict[str, list[tuple[Team, int, Interval]]] = defaultdict(list)

    # Scope ----------------------------------------------------------------------------

    def _in_scope(self, team: Team | None) -> bool:
        return self.scope is None or (team is not None and team.pk in self.scope)

    def _may_change(self, sheet: str, row: Row, case: Case) -> bool:
        """Whether the importer may change this case: one of their teams' (all,
        for an administrator), and not restricted from them."""
        if case.pk in self.hidden:
            self._error(sheet, row, f"case {case.reference} is restricted: it is not changed here")
            return False
        if not self._in_scope(self.team_now.get(id(case)) or case.team):
            self._error(sheet, row, f"case {case.reference} is in another team")
            return False
        return True

    def _duplicate(self, spec: fmt.SheetSpec, row: Row, values: dict) -> bool:
        key = tuple(
            (values[k].lower() if isinstance(values[k], str) else values[k]) for k in spec.key
        )
        if key in self.seen[spec.name]:
            self._error(spec.name, row, "the same record is in the file twice")
            return True
        self.seen[spec.name].add(key)
        return False

    def _team_of(self, sheet: str, row: Row, service_name: str, team_name: str) -> Team | None:
        if service_name not in self.services:
            self._error(sheet, row, f"there is no service {service_name!r}")
            return None
        team = self.teams.get((service_name, team_name))
        if team is None:
            self._error(sheet, row, f"there is no team {team_name!r} in {service_name!r}")
            return None
        if not self._in_scope(team):
            self._error(sheet, row, f"{team_name} is not one of your teams")
            return None
        return team

    def _person_of(
        self, sheet: str, row: Row | int, username: str, what: str = ""
    ) -> Person | None:
        person = self.people.get(username)
        if person is None:
            self._error(sheet, row, f"there is no person with user name {username!r}{what}")
        return person

    def _changed(self, obj: Any, fields: dict[str, Any]) -> list[str]:
        changed = []
        for name, value in fields.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed.append(name)
        return changed

    def _save_later(self, obj: Any, fields: list[str] | None = None) -> None:
        self.saves.append(lambda: obj.save(update_fields=fields) if fields else obj.save())

    # The people a manager's import may change -----------------------------------------

    def _reachable(self) -> set[int] | None:
        """The stored people a manager's import may change (None: anyone, for
        an administrator's): the workers in the manager's teams today, before
        anything in the file, and the manager themself. A membership the file
        adds brings no one in, nor does one added by an earlier import of a
        person who was not theirs: such a membership is refused."""
        if self.scope is None:
            return None
        reachable = {
            person.pk
            for person in self.people.values()
            if person.role in Person.INVOLVED_ROLES
            and any(
                m.team_id in self.scope and Interval(m.start_date, m.end_date).covers(self.today)
                for m in self.memberships[person.pk]
            )
        }
        if self.by is not None and self.by.pk:
            reachable.add(self.by.pk)
        return reachable

    def _outside(self, person: Person) -> str | None:
        """Why a manager's import may not change this stored person ("is a
        senior manager", "is not in one of your teams"), or None if it may."""
        if self.reachable is None or person.pk is None or person.pk in self.reachable:
            return None
        if person.role in MANAGING_ROLES:
            return f"is {MANAGING_ROLES[person.role]}"
        return "is not in one of your teams"

    def _refused_change(self, sheet: str, row: Row | int, person: Person) -> bool:
        """Refuse, on its row, a change to a person outside a manager's teams."""
        reason = self._outside(person)
        if reason is None:
            return False
        if person.role in MANAGING_ROLES:
            reason += ": only administrators change their records"
        self._error(sheet, row, f"{person} {reason}")
        return True

    # Dated records --------------------------------------------------------------------

    def _dated(
        self,
        sheet: str,
        row: Row,
        existing: Any,
        start: datetime.date,
        end: datetime.date | None,
        same: bool = True,
        planned: bool = False,
    ) -> str | None:
        """How a dated record in the file meets the stored one: unchanged,
        ended now (updated), or an error (history is not rewritten). `same`
        says whether the record's other values match the stored ones;
        `planned`, that it may start in the future (a planned starter, a
        factor or a reduction to come, which forecasts read)."""
        if start > self.today and not planned:
            self._error(sheet, row, "the start date is in the future")
            return None
        if end is not None and end < start:
            self._error(sheet, row, "the end date is before the start date")
            return None
        if existing is None:
            return CREATED
        if not same:
            self._error(
                sheet, row, "this record is stored with other values: history is not rewritten"
            )
            return None
        if existing.end_date == end:
            return UNCHANGED
        if existing.end_date is None:
            return UPDATED  # it has ended since the last import
        self._error(
            sheet,
            row,
            f"this record ended on {long_date(existing.end_date)}: history is not rewritten",
        )
        return None

    def _overlapping(
        self,
        sheet: str,
        row: Row,
        person: Person,
        stored: list[tuple[datetime.date, datetime.date | None]],
        interval: Interval,
        what: str,
    ) -> bool:
        """A new dated record that overlaps another of the same kind, stored
        or earlier in the file."""
        key = (sheet, id(person), what)
        earlier = self._intervals.setdefault(key, [])
        clash = any(interval.overlaps(Interval(a, b)) for a, b in stored) or any(
            interval.overlaps(other) for other in earlier
        )
        if clash:
            self._error(sheet, row, f"{person} has {what} at the same time")
            return True
        earlier.append(interval)
        return False

    def _stale(self, person: Person, day: datetime.date) -> None:
        if person.pk:
            self.stale[person.pk] = min(self.stale.get(person.pk, day), day)

    # A case's team, and its workers' teams, on a day ----------------------------------

    def _team_on(self, case: Case, day: datetime.date) -> int | None:
        """The case's team on `day`, from its moves between teams."""
        moves = sorted(self.moves[case.pk or id(case)], key=lambda m: m.moved_on)
        later = [m for m in moves if m.moved_on > day]
        if later:
            return later[0].from_team.pk if later[0].from_team.pk else id(later[0].from_team)
        team = self.team_now.get(id(case)) or case.team
        return team.pk or id(team)

    def _member_on(self, person: Person, team_id: int, day: datetime.date) -> bool:
        stored = self.memberships[person.pk] if person.pk else []
        if any(m.team_id == team_id and Interval(m.start_date, m.end_date).covers(day)
               for m in stored if m.pk):  # fmt: skip
            return True
        for team, _, interval in self.membership_rows[person.user.username]:
            if (team.pk or id(team)) == team_id and interval.covers(day):
                return True
        return False
