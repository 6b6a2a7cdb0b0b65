"""Importing the whole caseload: check every row first, write nothing unless
the whole file is valid, then write it in one transaction.

Records are matched by their references (service and team names, user names,
case references, and the dates that key dated history), so importing the same
file twice changes nothing, and a newer extract updates what changed: it ends
allocations, memberships and other dated records that have ended, never
deletes or rewrites history, and lists the cases it no longer holds.

The rules that the write functions keep for one record at a time (students
are never primary workers, managers carry no cases, workers belong to the
case's team, one primary worker at a time, no dates in the future, levels
from the scheme) are checked here for the whole file at once.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from caseload import audit, services
from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import (
    Allocation,
    Case,
    CaseTeamMove,
    Person,
    Service,
    Team,
    TeamMembership,
)
from exchange import format as fmt
from exchange.format import ANTICIPATED_KEY, ANTICIPATED_SUFFIX, CellError
from exchange.reader import Row, Workbook
from reports.stale import stale_from
from weighting.models import (
    Criterion,
    ExperienceFactor,
    Level,
    Rating,
    RatingLevel,
    Reduction,
    Scheme,
)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
MAX_PEOPLE = 99  # children (or adults) one case covers
# Roles whose records only an administrator's import changes.
MANAGING_ROLES = {
    Person.Role.TEAM_MANAGER: "a team manager",
    Person.Role.SENIOR_MANAGER: "a senior manager",
    Person.Role.ADMINISTRATOR: "an administrator",
}


@dataclass
class Outcome:
    """What an import does (or would do, in a dry run)."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            s.name: dict.fromkeys((CREATED, UPDATED, UNCHANGED), 0) for s in fmt.SHEETS
        }
    )
    errors: list[tuple[str, int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False
    teams: list[tuple[str, str]] = field(default_factory=list)  # the teams sheet's teams
    new_people: list[Person] = field(default_factory=list)  # saved, once applied

    @property
    def new_with_email(self) -> int:
        """New people who can be sent an invitation to set their password."""
        return sum(1 for person in self.new_people if person.user.email)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def changes(self) -> int:
        return sum(c[CREATED] + c[UPDATED] for c in self.counts.values())

    def count(self, sheet: str, what: str) -> None:
        self.counts[sheet][what] += 1

    @property
    def rows(self) -> list[tuple[str, int, int, int]]:
        return [
            (name, c[CREATED], c[UPDATED], c[UNCHANGED])
            for name, c in self.counts.items()
            if any(c.values())
        ]


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


class Import:
    """One import of a workbook. `teams` limits it to those teams (a manager's
    import); None means the whole council (an administrator's)."""

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

    # Entry points -----------------------------------------------------------------

    def check(self) -> Outcome:
        """A dry run: what would be created, updated and left alone, and every
        row error. Nothing is written."""
        self._load()
        for spec, handle in (
            (fmt.SERVICES, self._service),
            (fmt.TEAMS, self._team),
            (fmt.SCHEMES, self._scheme),
            (fmt.CRITERIA, self._criterion),
            (fmt.PEOPLE, self._person),
            (fmt.MEMBERSHIPS, self._membership),
            (fmt.EXPERIENCE_FACTORS, self._factor),
            (fmt.REDUCTIONS, self._reduction),
            (fmt.CASES, self._case),
            (fmt.CASE_MOVES, self._move),
            (fmt.ALLOCATIONS, self._allocation),
            (fmt.RATINGS, self._rating),
        ):
            if spec is fmt.TEAMS:
                self._finish_services()
            if spec is fmt.PEOPLE:
                self._finish_schemes()
            if spec is fmt.MEMBERSHIPS:
                self._finish_people()
            if spec is fmt.CASE_MOVES:
                self._save_new_cases()
            if spec is fmt.ALLOCATIONS:
                self._finish_cases()
            for row in self.book.rows(spec.name):
                values = self._values(spec, row)
                if values is not None:
                    try:
                        handle(row, values)
                    except CellError as error:
                        self._error(spec.name, row, str(error))
                self._tick()
        self._finish_allocations()
        self._finish_teams()
        self._note_missing_cases()
        if self.book.ignored:
            self.outcome.notes.append(
                "Sheets not in the format were not read: " + ", ".join(self.book.ignored) + "."
            )
        return self.outcome

    def apply(self, written: Callable[[Outcome], None] | None = None) -> Outcome:
        """Check, then write everything in one transaction if nothing is wrong.
        `written` is called in that transaction, after the writes: what it
        writes is committed with them, or not at all."""
        self.check()
        if not self.outcome.valid:
            return self.outcome
        try:
            with transaction.atomic():
                for save in self.saves:
                    save()
                stale_from(self.stale)
                self.outcome.applied = True
                if written is not None:
                    written(self.outcome)
        except IntegrityError as error:
            # A rule the checks above missed, or a change made meanwhile:
            # the database refuses, and nothing is written.
            self.outcome.applied = False
            self.outcome.errors.append(("", 0, f"The database refused the import: {error}"))
        return self.outcome

    # Reading rows -----------------------------------------------------------------

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

    # What the database holds --------------------------------------------------------

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
        self.people = {p.user.username: p for p in Person.objects.select_related("user", "service")}
        self.memberships: dict[int, list[TeamMembership]] = defaultdict(list)
        for m in TeamMembership.objects.all():
            self.memberships[m.person_id].append(m)
        self.reachable = self._reachable()
        self.factors = {(f.person_id, f.start_date): f for f in ExperienceFactor.objects.all()}
        self.reductions = {
            (r.person_id, r.reason, r.start_date): r for r in Reduction.objects.all()
        }
        self.cases = {
            (c.service.name, c.reference): c for c in Case.objects.select_related("service")
        }
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

    # Scope -----------------------------------------------------------------------------

    def _in_scope(self, team: Team | None) -> bool:
        return self.scope is None or (team is not None and team.pk in self.scope)

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

    # Services and teams ----------------------------------------------------------------

    def _service(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.SERVICES, row, v):
            return
        fields = {"kind": v["kind"]}
        for name in (
            "band_green_from",
            "band_amber_above",
            "band_red_from",
            "supervision_weeks",
            "asye_supervision_weeks",
        ):
            if v[name] is not None:
                fields[name] = v[name]
        service = self.services.get(v["service"])
        if service is None:
            if self.scope is not None:
                self._error("services", row, "only administrators add services")
                return
            service = Service(name=v["service"], **fields)
            self.services[service.name] = service
            self.service_names[service.name.lower()] = service.name
            self._save_later(service)
            self.outcome.count("services", CREATED)
            self._check_bands(row, service)
            return
        before = {k: getattr(service, k) for k in fields}
        changed = self._changed(service, fields)
        if not changed:
            self.outcome.count("services", UNCHANGED)
        elif self.scope is not None:
            for k, value in before.items():
                setattr(service, k, value)
            self._error("services", row, "only administrators change a service")
        else:
            self._check_bands(row, service)
            self._save_later(service, changed)
            self.outcome.count("services", UPDATED)

    def _check_bands(self, row: Row, service: Service) -> None:
        if not 0 < service.band_green_from <= service.band_amber_above < service.band_red_from:
            self._error("services", row, "the bands must rise: green from, amber above, red from")

    def _finish_services(self) -> None:
        pass

    def _team(self, row: Row, v: dict) -> None:
        self.outcome.teams.append((v["service"], v["team"]))
        if self._duplicate(fmt.TEAMS, row, v):
            return
        service = self.services.get(v["service"])
        if service is None:
            self._error("teams", row, f"there is no service {v['service']!r}")
            return
        if v["aspiration"] <= 0:
            self._error("teams", row, "the aspiration must be more than 0")
            return
        team = self.teams.get((service.name, v["team"]))
        if team is None:
            if self.scope is not None:
                self._error("teams", row, "only administrators add teams")
                return
            team = Team(service=service, name=v["team"], aspiration=v["aspiration"])
            self.teams[(service.name, team.name)] = team
            self.team_names[(service.name.lower(), team.name.lower())] = team.name
            self._save_later(team)
            what = CREATED
        elif not self._in_scope(team):
            self._error("teams", row, f"{team.name} is not one of your teams")
            return
        else:
            changed = self._changed(team, {"aspiration": v["aspiration"]})
            if changed:
                self._save_later(team, changed)
            what = UPDATED if changed else UNCHANGED
        self.outcome.count("teams", what)
        if v["managers"]:  # a blank column leaves the managers as they are
            self.file_managers[id(team)] = (row, team, v["managers"], what)

    def _finish_teams(self) -> None:
        """Managers are people, so they are set once the people are known."""
        for row, team, usernames, what in self.file_managers.values():
            managers = []
            for username in usernames:
                person = self._person_of("teams", row, username, " to manage the team")
                if person is None:
                    continue
                if person.role != Person.Role.TEAM_MANAGER:
                    self._error("teams", row, f"{username} is not a team manager")
                    continue
                managers.append(person)
            current = self.managers.get(team.pk, set()) if team.pk else set()
            if {p.user.username for p in managers} == current:
                continue
            if self.scope is not None:
                self._error("teams", row, "only administrators change a team's managers")
                continue
            if what == UNCHANGED:
                self.outcome.counts["teams"][UNCHANGED] -= 1
                self.outcome.counts["teams"][UPDATED] += 1
            self.saves.append(lambda team=team, managers=managers: team.managers.set(managers))

    # Schemes ---------------------------------------------------------------------------

    def _scheme_key(self, sheet: str, row: Row, v: dict) -> tuple | None:
        service = self.services.get(v["service"])
        if service is None:
            self._error(sheet, row, f"there is no service {v['service']!r}")
            return None
        team = None
        if v["team"]:
            team = self._team_of(sheet, row, service.name, v["team"])
            if team is None:
                return None
        elif self.scope is not None:
            # A team's export holds the service-wide scheme its ratings use:
            # a version already agreed is only compared, never changed.
            stored = self.schemes.get((service.name, None, v["version"]))
            if stored is None or not stored.pk:
                self._error(sheet, row, "only administrators change a service-wide scheme")
                return None
        return (service.name, team.name if team else None, v["version"])

    def _scheme(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.SCHEMES, row, v):
            return
        key = self._scheme_key("schemes", row, v)
        if key is None:
            return
        if v["agreed_on"] > self.today:
            self._error("schemes", row, "a scheme cannot be agreed in the future")
            return
        if v["benchmark"] <= 0:
            self._error("schemes", row, "the benchmark must be more than 0")
            return
        if key in self.drafts:
            self._error(
                "schemes",
                row,
                f"version {v['version']} is a draft in Caseload: give the agreed version "
                "another number, or agree the draft first",
            )
            return
        existing = self.schemes.get(key)
        if existing is not None and existing.pk:
            same = (existing.name, existing.benchmark, existing.agreed_on) == (
                v["name"],
                v["benchmark"],
                v["agreed_on"],
            )
            if not same:
                self._error(
                    "schemes",
                    row,
                    f"version {v['version']} is already agreed as it stands: "
                    "a changed scheme is a new version",
                )
            else:
                self.outcome.count("schemes", UNCHANGED)
            return
        service = self.services[key[0]]
        team = self.teams[(key[0], key[1])] if key[1] else None
        scheme = Scheme(
            service=service,
            team=team,
            name=v["name"],
            version=v["version"],
            status=Scheme.Status.AGREED,
            agreed_on=v["agreed_on"],
            benchmark=v["benchmark"],
            recorded_by=self.by,
        )
        self.schemes[key] = scheme
        self.new_criteria[key] = []
        self.outcome.count("schemes", CREATED)

    def _criterion(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.CRITERIA, row, v):
            return
        key = self._scheme_key("criteria", row, v)
        if key is None:
            return
        scheme = self.schemes.get(key)
        if scheme is None:
            self._error("criteria", row, f"version {v['version']} is not in the schemes sheet")
            return
        level = v["level"].normalize()
        if level < 0:
            self._error("criteria", row, "a level cannot be below 0")
            return
        if scheme.pk:  # agreed already: the file must say the same
            criterion = next(
                (
                    c
                    for c in self.criteria_of[scheme.pk]
                    if c.name.lower() == v["criterion"].lower()
                ),
                None,
            )
            stored = self.levels_of[criterion.pk].get(level) if criterion else None
            if stored is None or stored.descriptor.strip() != v["descriptor"].strip():
                self._error(
                    "criteria",
                    row,
                    f"version {v['version']} is agreed without this level: "
                    "a changed scheme is a new version",
                )
            else:
                self.outcome.count("criteria", UNCHANGED)
            return
        criteria = self.new_criteria[key]
        entry = next((c for c in criteria if c[0].lower() == v["criterion"].lower()), None)
        if entry is None:
            entry = (v["criterion"], v["description"] or "", [])
            criteria.append(entry)
        entry[2].append((level, v["descriptor"]))
        self.outcome.count("criteria", CREATED)

    def _finish_schemes(self) -> None:
        """New versions are written with their criteria; per owner the latest
        version is the one agreed, earlier ones retired."""
        latest: dict[tuple, tuple] = {}
        for key in self.schemes:
            owner = key[:2]
            if owner not in latest or key[2] > latest[owner][2]:
                latest[owner] = key
        for key, criteria in self.new_criteria.items():
            scheme = self.schemes[key]
            if not criteria:
                self._error("schemes", 0, f"version {key[2]} of {key[1] or key[0]} has no criteria")
                continue
            for name, _, levels in criteria:
                if len(levels) < 2:
                    self._error(
                        "criteria", 0, f"{name} (version {key[2]}) needs two levels or more"
                    )
            self.criteria_of[id(scheme)] = criteria
        for owner, key in latest.items():
            for other_key, scheme in self.schemes.items():
                if other_key[:2] != owner:
                    continue
                status = Scheme.Status.AGREED if other_key == key else Scheme.Status.RETIRED
                if scheme.pk and scheme.status != status:
                    scheme.status = status
                    self.saves.append(
                        lambda s=scheme: Scheme.objects.filter(pk=s.pk).update(status=s.status)
                    )
                elif not scheme.pk:
                    scheme.status = status
        # Retired above, before the new versions are written: one agreed at a time.
        for key, criteria in self.new_criteria.items():
            self.saves.append(lambda key=key, criteria=criteria: self._write_scheme(key, criteria))

    def _write_scheme(self, key: tuple, criteria: list) -> None:
        scheme = self.schemes[key]
        if scheme.team_id is None and scheme.team is not None:
            scheme.team_id = scheme.team.pk
        scheme.service_id = scheme.service.pk
        scheme.save()
        for position, (name, description, levels) in enumerate(criteria, start=1):
            criterion = Criterion.objects.create(
                scheme=scheme, position=position, name=name, description=description
            )
            made = Level.objects.bulk_create(
                Level(criterion=criterion, value=value, descriptor=descriptor)
                for value, descriptor in levels
            )
            self.criteria_of[scheme.pk].append(criterion)
            for level in made:
                self.levels_of[criterion.pk][level.value.normalize()] = level

    # People ---------------------------------------------------------------------------

    def _person(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.PEOPLE, row, v):
            return
        service = None
        if v["service"]:
            service = self.services.get(v["service"])
            if service is None:
                self._error("people", row, f"there is no service {v['service']!r}")
                return
        if not Decimal(0) < v["fte"] <= 1:
            self._error("people", row, "FTE must be more than 0 and no more than 1")
            return
        if v["asye_start_date"] and v["asye_start_date"] > self.today:
            self._error("people", row, "the ASYE start date cannot be in the future")
            return
        person = self.people.get(v["username"])
        if person is not None:
            # Blank optional cells keep what is recorded.
            if not v["service"]:
                service = person.service
            if v["asye_start_date"] is None:
                v["asye_start_date"] = person.asye_start_date
        wanted = {
            "full_name": v["full_name"],
            "role": v["role"],
            "service": service,
            "fte": v["fte"],
            "asye_start_date": v["asye_start_date"],
        }
        if self.scope is not None:
            differs = person is not None and (
                any(getattr(person, k) != value for k, value in wanted.items())
                or bool(v["email"] and person.user.email != v["email"])
            )
            if differs and self._refused_change("people", row, person):
                return
            if v["role"] not in Person.INVOLVED_ROLES and (
                person is None or person.role != v["role"]
            ):
                label = Person.Role(v["role"]).label.lower()
                self._error("people", row, f"only administrators make someone a {label}")
                return
            if person is not None and person.role in MANAGING_ROLES and person.role != v["role"]:
                self._error(
                    "people",
                    row,
                    f"only administrators change the role of {MANAGING_ROLES[person.role]}",
                )
                return
        self.file_people[v["username"]] = {"row": row.number, "values": v, "service": service}
        if person is None:
            person = Person(**wanted)
            person._new_user = get_user_model()(username=v["username"], email=v["email"] or "")
            person._new_user.set_unusable_password()  # they set one, or sign in with SSO later
            person.user = person._new_user
            self.people[v["username"]] = person
            self.file_people[v["username"]]["what"] = CREATED
            self.outcome.count("people", CREATED)
            self.outcome.new_people.append(person)
            return
        if person.role != v["role"]:
            # As in the admin: a new role that the person's cases, supervisees
            # or teams forbid is refused (a query or two, for the rare row).
            try:
                services.check_role_change(person=person, role=v["role"])
            except services.RuleBroken as error:
                self._error("people", row, " ".join(error.messages))
                return
        changed = self._changed(person, wanted)
        email_changed = v["email"] and person.user.email != v["email"]
        if email_changed:
            person.user.email = v["email"]
            self.saves.append(lambda user=person.user: user.save(update_fields=["email"]))
        if changed:
            self._save_later(person, changed)
            if "role" in changed:  # an administrator's log-in is staff in their group
                self.saves.append(lambda person=person: services.person_keep_access(person))
            if "fte" in changed:
                self.stale[person.pk] = min(self.stale.get(person.pk, self.today), self.today)
        what = UPDATED if changed or email_changed else UNCHANGED
        self.file_people[v["username"]]["what"] = what
        self.outcome.count("people", what)

    def _finish_people(self) -> None:
        """Supervisors are people too: set once everyone is known."""
        new = [p for p in self.people.values() if p.pk is None]

        def save_new() -> None:
            for person in new:
                person._new_user.save()
                person.user = person._new_user
            Person.objects.bulk_create(new)
            for person in new:
                if person.role == Person.Role.ADMINISTRATOR:
                    services.person_keep_access(person)

        self.saves.append(save_new)
        for username, entry in self.file_people.items():
            person, wanted = self.people[username], entry["values"]["supervisor"]
            if not wanted:
                continue  # a blank supervisor leaves the one recorded
            supervisor = self._person_of("people", entry["row"], wanted, " to supervise")
            if supervisor is None:
                continue
            if supervisor is person:
                self._error("people", entry["row"], "nobody can supervise themselves")
                continue
            try:
                services.check_supervisor(person=person, supervisor=supervisor)
            except services.RuleBroken as error:
                self._error("people", entry["row"], " ".join(error.messages))
                continue
            if (
                person.supervisor_id is not None
                and supervisor is not None
                and (person.supervisor_id == supervisor.pk)
            ):
                continue
            if person.pk and person.supervisor_id is None and supervisor is None:
                continue
            if self._refused_change("people", entry["row"], person):
                continue
            reason = self._outside(supervisor)
            if reason is not None:
                self._error(
                    "people",
                    entry["row"],
                    f"{supervisor} {reason}: only administrators make them a supervisor",
                )
                continue
            if person.pk and entry["what"] == UNCHANGED:
                entry["what"] = UPDATED
                self.outcome.counts["people"][UNCHANGED] -= 1
                self.outcome.counts["people"][UPDATED] += 1
            self.saves.append(
                lambda person=person, supervisor=supervisor: Person.objects.filter(
                    pk=person.pk
                ).update(supervisor=supervisor.pk if supervisor else None)
            )

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

    def _dated(
        self,
        sheet: str,
        row: Row,
        existing: Any,
        start: datetime.date,
        end: datetime.date | None,
        same: bool = True,
    ) -> str | None:
        """How a dated record in the file meets the stored one: unchanged,
        ended now (updated), or an error (history is not rewritten). `same`
        says whether the record's other values match the stored ones."""
        if start > self.today:
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

    def _membership(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.MEMBERSHIPS, row, v):
            return
        person = self._person_of("memberships", row, v["username"])
        team = self._team_of("memberships", row, v["service"], v["team"])
        if person is None or team is None:
            return
        stored = (
            [m for m in self.memberships[person.pk] if m.team_id == team.pk] if person.pk else []
        )
        existing = next((m for m in stored if m.start_date == v["start_date"]), None)
        what = self._dated("memberships", row, existing, v["start_date"], v["end_date"])
        if what is None:
            return
        if what != UNCHANGED and self._refused_change("memberships", row, person):
            return
        interval = Interval(v["start_date"], v["end_date"])
        for other in self.memberships[person.pk] if person.pk else []:
            if other is existing:
                continue
            if interval.overlaps(Interval(other.start_date, other.end_date)):
                self._error(
                    "memberships",
                    row,
                    f"{person} is in another team from {long_date(other.start_date)}",
                )
                return
        for _, other_row, other in self.membership_rows[v["username"]]:
            if interval.overlaps(other):
                self._error(
                    "memberships",
                    row,
                    f"{person} is in two teams at once (see row {other_row})",
                )
                return
        self.membership_rows[v["username"]].append((team, row.number, interval))
        self.outcome.count("memberships", what)
        if what == CREATED:
            membership = TeamMembership(
                person=person, team=team, start_date=v["start_date"], end_date=v["end_date"]
            )
            self.saves.append(lambda m=membership: m.save())
            self.memberships[person.pk or id(person)].append(membership)
            if person.pk:
                self._stale(person, v["start_date"])
        elif what == UPDATED:
            existing.end_date = v["end_date"]
            self._save_later(existing, ["end_date"])
            self._stale(person, v["end_date"])

    def _stale(self, person: Person, day: datetime.date) -> None:
        if person.pk:
            self.stale[person.pk] = min(self.stale.get(person.pk, day), day)

    def _factor(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.EXPERIENCE_FACTORS, row, v):
            return
        person = self._person_of("experience_factors", row, v["username"])
        if person is None:
            return
        if not Decimal(0) < v["factor"] <= 1:
            self._error("experience_factors", row, "the factor must be more than 0 and up to 1")
            return
        existing = self.factors.get((person.pk, v["start_date"])) if person.pk else None
        what = self._dated(
            "experience_factors", row, existing, v["start_date"], v["end_date"],
            same=existing is None or existing.factor == v["factor"],
        )  # fmt: skip
        if what not in (None, UNCHANGED) and self._refused_change(
            "experience_factors", row, person
        ):
            return
        if what == CREATED and self._overlapping(
            "experience_factors", row, person,
            [(f.start_date, f.end_date) for (pk, _), f in self.factors.items() if pk == person.pk],
            Interval(v["start_date"], v["end_date"]), "another experience factor",
        ):  # fmt: skip
            return
        if what is None:
            return
        self.outcome.count("experience_factors", what)
        if what == CREATED:
            factor = ExperienceFactor(
                person=person,
                factor=v["factor"],
                start_date=v["start_date"],
                end_date=v["end_date"],
                reason=v["reason"] or "",
                recorded_by=self.by,
            )
            self.saves.append(lambda f=factor: f.save())
            self._stale(person, v["start_date"])
        elif what == UPDATED:
            existing.end_date = v["end_date"]
            self._save_later(existing, ["end_date"])
            self._stale(person, v["end_date"])

    def _reduction(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.REDUCTIONS, row, v):
            return
        person = self._person_of("reductions", row, v["username"])
        if person is None:
            return
        hours, percentage = v["hours_per_week"], v["percentage"]
        if (hours is None) == (percentage is None):
            self._error(
                "reductions", row, "give the time as hours_per_week or as a percentage: one of them"
            )
            return
        if (hours is not None and not 0 < hours <= 37) or (
            percentage is not None and not 0 < percentage <= 100
        ):
            self._error("reductions", row, "hours a week up to 37, or a percentage up to 100")
            return
        key = (person.pk, v["reason"], v["start_date"])
        existing = self.reductions.get(key) if person.pk else None
        what = self._dated(
            "reductions", row, existing, v["start_date"], v["end_date"],
            same=existing is None
            or (existing.hours_per_week, existing.percentage) == (hours, percentage),
        )  # fmt: skip
        if what not in (None, UNCHANGED) and self._refused_change("reductions", row, person):
            return
        if what == CREATED and self._overlapping(
            "reductions", row, person,
            [(r.start_date, r.end_date) for (pk, reason, _), r in self.reductions.items()
             if pk == person.pk and reason == v["reason"]],
            Interval(v["start_date"], v["end_date"]), "protected time for the same reason",
        ):  # fmt: skip
            return
        if what is None:
            return
        self.outcome.count("reductions", what)
        if what == CREATED:
            reduction = Reduction(
                person=person,
                reason=v["reason"],
                detail=v["detail"] or "",
                hours_per_week=hours,
                percentage=percentage,
                start_date=v["start_date"],
                end_date=v["end_date"],
                recorded_by=self.by,
            )
            self.saves.append(lambda r=reduction: r.save())
            self._stale(person, v["start_date"])
        elif what == UPDATED:
            existing.end_date = v["end_date"]
            self._save_later(existing, ["end_date"])
            self._stale(person, v["end_date"])

    # Cases ---------------------------------------------------------------------------

    def _case(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.CASES, row, v):
            return
        team = self._team_of("cases", row, v["service"], v["team"])
        if team is None:
            return
        if v["opened_on"] > self.today:
            self._error("cases", row, "a case cannot be opened in the future")
            return
        if v["closed_on"] and (v["closed_on"] > self.today or v["closed_on"] < v["opened_on"]):
            self._error("cases", row, "the closing date is in the future or before the opening")
            return
        if not 1 <= v["people"] <= MAX_PEOPLE:
            self._error("cases", row, f"a case covers between 1 and {MAX_PEOPLE} people")
            return
        key = (v["service"], v["reference"])
        self.file_cases.add(key)
        fields = {
            "label": v["label"] or "",
            "case_type": v["type"],
            "people_count": v["people"],
            "priority": int(v["priority"] or Case.Priority.NORMAL),
            "opened_on": v["opened_on"],
        }
        case = self.cases.get(key)
        if case is not None:
            # A blank label or priority leaves the one recorded (extracts
            # from case-management systems seldom carry managers' priorities).
            for name, given in (("label", v["label"]), ("priority", v["priority"])):
                if fmt.blank(given):
                    fields[name] = getattr(case, name)
        if case is None and not v["label"]:
            self._error("cases", row, "a new case needs a label: a few words that identify no one")
            return
        if case is None:
            case = Case(service=team.service, team=team, reference=v["reference"], **fields)
            if v["closed_on"]:
                case.closed_on, case.status = v["closed_on"], Case.Status.CLOSED
            self.team_now[id(case)] = team
            self.cases[key] = case
            self.outcome.count("cases", CREATED)
            return
        if not self._in_scope(case.team):
            self._error("cases", row, f"case {case.reference} is in another team")
            return
        self.team_now[id(case)] = team
        if case.opened_on != v["opened_on"]:
            self._error("cases", row, "the opening date differs from the one recorded")
            return
        changed = self._changed(case, {k: f for k, f in fields.items() if k != "opened_on"})
        if case.closed_on != v["closed_on"]:
            if case.closed_on is not None:
                self._error("cases", row, "the case was closed on another day: not rewritten")
                return
            case.closed_on, case.status = v["closed_on"], Case.Status.CLOSED
            changed += ["closed_on", "status"]
        if changed:
            self._save_later(case, changed)
            action = audit.Action.END if "closed_on" in changed else audit.Action.CHANGE
            self.saves.append(lambda case=case, action=action: audit.record(self.by, action, case))
            for person_id in {a.person_id for a in self.allocations[case.pk]}:
                self.stale[person_id] = min(self.stale.get(person_id, self.today), self.today)
        self.outcome.count("cases", UPDATED if changed else UNCHANGED)

    def _save_new_cases(self) -> None:
        new = [c for c in self.cases.values() if c.pk is None]

        def save() -> None:
            Case.objects.bulk_create(new)
            audit.record_many(self.by, audit.Action.CREATE, new)

        self.saves.append(save)

    def _finish_cases(self) -> None:
        for case in self.cases.values():
            team_now = self.team_now.get(id(case))
            if case.pk and team_now is not None and team_now.pk != case.team_id:
                moved = [m for m in self.file_moves[id(case)] if m[1].pk == team_now.pk]
                if not moved:
                    self._error(
                        "cases",
                        0,
                        f"case {case.reference} is in {case.team} here: give its move to "
                        f"{team_now} in the case_moves sheet",
                    )
                    continue
                case.team = team_now
                self._save_later(case, ["team"])
                self.saves.append(
                    lambda case=case: audit.record(self.by, audit.Action.CHANGE, case)
                )

    def _move(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.CASE_MOVES, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        if case is None:
            self._error("case_moves", row, f"there is no case {v['reference']!r}")
            return
        stored = [m for m in self.moves[case.pk] if m.moved_on == v["moved_on"]] if case.pk else []
        if stored:
            same = (stored[0].from_team.name, stored[0].to_team.name) == (
                v["from_team"],
                v["to_team"],
            )
            if same:
                self.outcome.count("case_moves", UNCHANGED)
            else:
                self._error(
                    "case_moves", row, "this move is stored with other teams: not rewritten"
                )
            return
        if v["from_team"] == v["to_team"]:
            self._error("case_moves", row, "a move goes to another team")
            return
        from_team = self._team_of("case_moves", row, v["service"], v["from_team"])
        to_team = self._team_of("case_moves", row, v["service"], v["to_team"])
        if from_team is None or to_team is None:
            return
        if v["moved_on"] > self.today or v["moved_on"] < case.opened_on:
            self._error("case_moves", row, "the move is in the future or before the case opened")
            return
        move = CaseTeamMove(
            case=case,
            from_team=from_team,
            to_team=to_team,
            moved_on=v["moved_on"],
            moved_by=self.by,
            reason=v["reason"],
        )
        self.file_moves[id(case)].append((from_team, to_team, v["moved_on"]))
        self.moves[case.pk or id(case)].append(move)
        self.saves.append(lambda m=move: m.save())
        self.outcome.count("case_moves", CREATED)

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

    # Allocations ---------------------------------------------------------------------

    def _allocation(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.ALLOCATIONS, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        person = self._person_of("allocations", row, v["username"])
        if case is None:
            self._error("allocations", row, f"there is no case {v['reference']!r}")
        if case is None or person is None:
            return
        if not self._in_scope(self.team_now.get(id(case)) or case.team):
            self._error("allocations", row, f"case {case.reference} is in another team")
            return
        start, end = v["start_date"], v["end_date"]
        if start > self.today:
            self._error("allocations", row, "an allocation cannot start in the future")
            return
        if start < case.opened_on:
            self._error(
                "allocations", row, f"case {case.reference} opened on {long_date(case.opened_on)}"
            )
            return
        if end is not None and end < start:
            self._error("allocations", row, "the end date is before the start date")
            return
        if case.closed_on and end is None:
            end = case.closed_on  # closing a case ends its allocations
        stored = self.allocations[case.pk] if case.pk and person.pk else []
        existing = next(
            (
                a
                for a in stored
                if a.person_id == person.pk and a.kind == v["kind"] and a.start_date == start
            ),
            None,
        )
        what = self._dated("allocations", row, existing, start, end)
        if what is None:
            return
        # A new allocation loads the worker's caseload: only someone in the
        # manager's teams now. Ending one on the team's case is the team's.
        if what == CREATED and self._refused_change("allocations", row, person):
            return
        if what == CREATED:
            allocation = Allocation(
                case=case, person=person, kind=v["kind"], start_date=start, end_date=end,
                allocated_by=self.by, reason="Imported",
            )  # fmt: skip
            self.pending_allocations.append((row.number, allocation))
        elif what == UPDATED:
            self.ended.append((row.number, existing, end))
        self.outcome.count("allocations", what)

    def _finish_allocations(self) -> None:
        """The rules over all allocations at once: who may hold a case, in
        which team, and one primary worker at a time."""
        by_case: dict[int, list[tuple[int | None, Allocation, Interval]]] = defaultdict(list)
        for case_id, stored in self.allocations.items():
            for allocation in stored:
                end = next((e for r, a, e in self.ended if a is allocation), allocation.end_date)
                by_case[case_id].append((None, allocation, Interval(allocation.start_date, end)))
        for row, allocation in self.pending_allocations:
            key = allocation.case.pk or id(allocation.case)
            by_case[key].append(
                (row, allocation, Interval(allocation.start_date, allocation.end_date))
            )
        people_role = {id(p): p.role for p in self.people.values()}
        for entries in by_case.values():
            for index, (row, allocation, interval) in enumerate(entries):
                if row is None:
                    continue
                for _, other, other_interval in entries[:index]:
                    same_person = other.person is allocation.person or (
                        other.person_id and other.person_id == allocation.person.pk
                    )
                    if same_person and interval.overlaps(other_interval):
                        self._error(
                            "allocations",
                            row,
                            f"{allocation.person} is already allocated to case "
                            f"{allocation.case.reference} at that time",
                        )
                        break
            primaries = [e for e in entries if e[1].kind == Allocation.Kind.PRIMARY]
            for index, (row, allocation, interval) in enumerate(primaries):
                if row is None:
                    continue
                for other_row, other, other_interval in primaries[:index] + primaries[index + 1 :]:
                    if interval.overlaps(other_interval) and (other_row is None or other_row < row):
                        where = f"row {other_row}" if other_row else "already recorded"
                        self._error(
                            "allocations",
                            row,
                            f"case {allocation.case.reference} would have two primary workers at "
                            f"once: {allocation.person} and {other.person} ({where})",
                        )
                        break
        for row, allocation in self.pending_allocations:
            person, case = allocation.person, allocation.case
            role = people_role.get(id(person), person.role)
            no_cases = f"{person} is a {Person.Role(role).label.lower()} and carries no cases"
            if allocation.kind == Allocation.Kind.PRIMARY and role not in Person.CASE_HOLDING_ROLES:
                if role == Person.Role.STUDENT:
                    self._error(
                        "allocations",
                        row,
                        f"{person} is a student: students are recorded as involved workers, "
                        "and the case is allocated to their supervisor",
                    )
                else:
                    self._error("allocations", row, no_cases)
                continue
            if allocation.kind == Allocation.Kind.INVOLVED and role not in Person.INVOLVED_ROLES:
                self._error("allocations", row, no_cases)
                continue
            team_id = self._team_on(case, allocation.start_date)
            if not self._member_on(person, team_id, allocation.start_date):
                self._error(
                    "allocations",
                    row,
                    f"{person} is not in the case's team on {long_date(allocation.start_date)}",
                )
        # Someone whose role changes in this file may not keep primary cases.
        for username, entry in self.file_people.items():
            person = self.people[username]
            if person.role in Person.CASE_HOLDING_ROLES or not person.pk:
                continue
            still = [
                a
                for case_allocations in self.allocations.values()
                for a in case_allocations
                if a.person_id == person.pk
                and a.kind == Allocation.Kind.PRIMARY
                and next((e for _, x, e in self.ended if x is a), a.end_date) is None
            ]
            if still:
                self._error(
                    "people",
                    entry["row"],
                    f"{person} is the primary worker on open cases; a "
                    f"{Person.Role(person.role).label.lower()} cannot be",
                )
        pending = [a for _, a in self.pending_allocations]

        def save_allocations() -> None:
            for allocation in pending:
                allocation.case_id = allocation.case.pk
                allocation.person_id = allocation.person.pk
            Allocation.objects.bulk_create(pending)
            audit.record_many(self.by, audit.Action.CREATE, pending)
            for allocation in pending:
                if allocation.kind == Allocation.Kind.PRIMARY:
                    self.stale[allocation.person_id] = min(
                        self.stale.get(allocation.person_id, allocation.start_date),
                        allocation.start_date,
                    )

        self.saves.append(save_allocations)
        for _, allocation, end in self.ended:
            allocation.end_date = end
            self._save_later(allocation, ["end_date"])
            self.saves.append(
                lambda allocation=allocation: audit.record(self.by, audit.Action.END, allocation)
            )
            self.stale[allocation.person_id] = min(self.stale.get(allocation.person_id, end), end)
        self.saves.append(self._save_ratings)

    # Ratings --------------------------------------------------------------------------

    def _rating(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.RATINGS, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        if case is None:
            self._error("ratings", row, f"there is no case {v['reference']!r}")
            return
        if not self._in_scope(self.team_now.get(id(case)) or case.team):
            self._error("ratings", row, f"case {case.reference} is in another team")
            return
        if v["rated_on"] > self.today:
            self._error("ratings", row, "a rating cannot be dated in the future")
            return
        if v["rated_on"] < case.opened_on:
            self._error(
                "ratings", row, f"case {case.reference} opened on {long_date(case.opened_on)}"
            )
            return
        scheme = self._scheme_for_rating(row, v, case)
        if scheme is None:
            return
        criteria = self.criteria_of.get(scheme.pk or id(scheme), [])
        levels: dict[str, tuple] = {}
        extra = {fmt.column_key(k): val for k, val in v["_extra"].items()}
        for criterion in criteria:
            name = criterion.name if isinstance(criterion, Criterion) else criterion[0]
            allowed = (
                set(self.levels_of[criterion.pk])
                if isinstance(criterion, Criterion)
                else {value for value, _ in criterion[2]}
            )
            column = fmt.column_key(name)
            chosen = self._level(row, name, extra.get(column), allowed, required=True)
            anticipated = self._level(
                row, f"{name}{ANTICIPATED_SUFFIX}",
                extra.get(column + ANTICIPATED_KEY), allowed, required=False,
            )  # fmt: skip
            if chosen is None:
                return
            levels[name.lower()] = (chosen, anticipated)
        unknown = [
            k for k, val in extra.items()
            if not fmt.blank(val)
            and k.removesuffix(ANTICIPATED_KEY)
            not in {fmt.column_key(n) for n in levels}
        ]  # fmt: skip
        if unknown:
            self._error("ratings", row, f"{', '.join(unknown)} is not a criterion of the scheme")
            return
        anticipating = any(a is not None for _, a in levels.values())
        if anticipating != (v["anticipated_by"] is not None):
            self._error(
                "ratings", row, "an anticipated rating needs every level and the date it is due"
            )
            return
        if anticipating and (
            any(a is None for _, a in levels.values()) or v["anticipated_by"] <= v["rated_on"]
        ):
            self._error("ratings", row, "an anticipated rating needs every level and a later date")
            return
        rated_by = self.people.get(v["rated_by"]) if v["rated_by"] else None
        agreed_with = self.people.get(v["agreed_with"]) if v["agreed_with"] else None
        if (v["rated_by"] and rated_by is None) or (v["agreed_with"] and agreed_with is None):
            self._error("ratings", row, "rated_by or agreed_with is not a user name in Caseload")
            return
        if v["status"] == Rating.Status.AGREED and agreed_with is None:
            self._error("ratings", row, "an agreed rating names the worker it was agreed with")
            return
        existing = self.ratings.get((case.pk, v["rated_on"], v["status"])) if case.pk else None
        if existing is not None:
            if existing[1] != levels:
                self._error(
                    "ratings", row, "this rating is recorded with other levels: not rewritten"
                )
            else:
                self.outcome.count("ratings", UNCHANGED)
            return
        self.outcome.count("ratings", CREATED)
        self._new_ratings.append((case, scheme, v, levels, rated_by, agreed_with))

    def _level(
        self, row: Row, name: str, value: Any, allowed: set, *, required: bool
    ) -> Decimal | None:
        if fmt.blank(value):
            if required:
                self._error("ratings", row, f"{name} is missing")
            return None
        try:
            level = fmt.parse(fmt.Col(name, "decimal"), value).normalize()
        except CellError as error:
            self._error("ratings", row, str(error))
            return None
        if level not in allowed:
            low, high = plain_number(min(allowed)), plain_number(max(allowed))
            level_text = plain_number(level)
            self._error(
                "ratings",
                row,
                f"{name} is rated from {low} to {high}: {level_text} is not one of its levels",
            )
            return None
        return level

    def _scheme_for_rating(self, row: Row, v: dict, case: Case) -> Scheme | None:
        service = case.service.name if case.service_id else v["service"]
        if v["scheme_version"] is not None:
            key = (service, v["scheme_team"] or None, v["scheme_version"])
            scheme = self.schemes.get(key)
            if scheme is None:
                self._error("ratings", row, f"there is no scheme version {v['scheme_version']}")
            return scheme
        # The scheme in force for the case's team that day.
        team_id = self._team_on(case, v["rated_on"])
        candidates = []
        for (svc, team_name, _), scheme in self.schemes.items():
            if svc != service:
                continue
            team = self.teams.get((svc, team_name)) if team_name else None
            if team is not None and (team.pk or id(team)) != team_id:
                continue
            candidates.append((team is not None, scheme))
        in_force = [c for c in candidates if c[1].agreed_on <= v["rated_on"]]
        pool = in_force or candidates
        if not pool:
            self._error("ratings", row, "the case's team has no agreed weighting scheme")
            return None
        own = [s for is_team, s in pool if is_team] or [s for _, s in pool]
        chooser = max if in_force else min
        return chooser(own, key=lambda s: (s.agreed_on, s.version))

    def _save_ratings(self) -> None:
        ratings, level_rows = [], []
        for case, scheme, v, levels, rated_by, agreed_with in self._new_ratings:
            chosen = {name: value for name, (value, _) in levels.items()}
            anticipated = {name: a for name, (_, a) in levels.items() if a is not None}
            rating = Rating(
                case=case,
                scheme_id=scheme.pk,
                rated_on=v["rated_on"],
                rated_by=rated_by,
                status=v["status"],
                agreed_with=agreed_with if v["status"] == Rating.Status.AGREED else None,
                total=sum(chosen.values(), Decimal(0)),
                anticipated_by=v["anticipated_by"] if anticipated else None,
                anticipated_total=sum(anticipated.values(), Decimal(0)) if anticipated else None,
            )
            ratings.append(rating)
            level_rows.append((rating, scheme, chosen, anticipated))
        Rating.objects.bulk_create(ratings)
        audit.record_many(self.by, audit.Action.CREATE, ratings)
        rows = []
        for rating, scheme, chosen, anticipated in level_rows:
            for criterion in self.criteria_of[scheme.pk]:
                found = self.levels_of[criterion.pk]
                name = criterion.name.lower()
                rows.append(
                    RatingLevel(
                        rating=rating,
                        criterion=criterion,
                        level=found[chosen[name]],
                        anticipated_level=found[anticipated[name]] if name in anticipated else None,
                    )
                )
        RatingLevel.objects.bulk_create(rows)
        held = defaultdict(list)
        for case_allocations in self.allocations.values():
            for a in case_allocations:
                if a.kind == Allocation.Kind.PRIMARY:
                    held[a.case_id].append(a)
        for rating in ratings:
            for allocation in held.get(rating.case_id, []):
                if allocation.end_date is None or allocation.end_date > rating.rated_on:
                    day = max(rating.rated_on, allocation.start_date)
                    current = self.stale.get(allocation.person_id, day)
                    self.stale[allocation.person_id] = min(current, day)

    # What the file leaves out -------------------------------------------------------

    def _note_missing_cases(self) -> None:
        if not self.book.sheets.get("cases"):
            return
        # An extract covers the teams it names: their other open cases are listed.
        covered = {
            team.pk
            for key in self.file_cases
            if (case := self.cases.get(key)) is not None
            and (team := self.team_now.get(id(case))) is not None
            and team.pk
        }
        missing = sorted(
            reference
            for (service, reference), case in self.cases.items()
            if case.pk
            and case.status == Case.Status.OPEN
            and (service, reference) not in self.file_cases
            and case.team_id in covered
        )
        if missing:
            shown = ", ".join(missing[:20]) + (" and more" if len(missing) > 20 else "")
            many = len(missing) != 1
            self.outcome.notes.append(
                f"{len(missing)} open case{'s' if many else ''} of the teams in the file "
                f"{'are' if many else 'is'} not in it and {'are' if many else 'is'} left "
                f"as {'they are' if many else 'it is'}: {shown}."
            )


def run(
    book: Workbook,
    *,
    dry_run: bool,
    teams: Iterable[int] | None = None,
    by: Person | None = None,
    progress: Callable[[int], None] | None = None,
    written: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Check a file read by `reader.read` (a dry run), or check and write it.
    `progress` is told every 500 rows how many have been checked; `written`,
    see `Import.apply`. Raises reader.FileRefused if the file turns out to be
    unreadable, or too long, as its rows are read."""
    job = Import(book, teams=set(teams) if teams is not None else None, by=by, progress=progress)
    try:
        return job.check() if dry_run else job.apply(written)
    finally:
        # The saves refer back to the job: let everything it holds (a record
        # for each row) go at once, not at the collector's next full pass.
        job.saves.clear()
