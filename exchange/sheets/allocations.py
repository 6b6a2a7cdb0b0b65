"""The allocations sheet: the rules over all of a file's allocations and
those stored, checked at once (who may hold a case, in which team, one
primary worker at a time)."""

from __future__ import annotations

from collections import defaultdict

from caseload import audit
from caseload.dates import long_date
from caseload.models import Allocation, Person
from exchange import format as fmt
from exchange.outcome import CREATED, UPDATED
from exchange.reader import Row
from exchange.sheets.state import ImportState, Interval


class AllocationSheets(ImportState):
    """Allocations of workers to cases."""

    def _allocation(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.ALLOCATIONS, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        person = self._person_of("allocations", row, v["username"])
        if case is None:
            self._error("allocations", row, f"there is no case {v['reference']!r}")
        if case is None or person is None:
            return
        if not self._may_change("allocations", row, case):
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
