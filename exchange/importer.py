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

from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction

from caseload.models import Person
from caseload.signals import numbers_changed_from
from exchange import format as fmt
from exchange.format import CellError
from exchange.outcome import Outcome
from exchange.reader import Workbook
from exchange.sheets.allocations import AllocationSheets
from exchange.sheets.cases import CaseSheets
from exchange.sheets.pauses import PauseSheets
from exchange.sheets.people import PeopleSheets
from exchange.sheets.ratings import RatingSheets
from exchange.sheets.schemes import SchemeSheets
from exchange.sheets.teams import TeamSheets


class Import(
    TeamSheets,
    SchemeSheets,
    PeopleSheets,
    CaseSheets,
    AllocationSheets,
    RatingSheets,
    PauseSheets,
):
    """One import of a workbook. `teams` limits it to those teams (a manager's
    import); None means the whole council (an administrator's). Each sheet's
    rows are checked, and their writes queued, by its class (exchange/sheets/),
    in the order of the format: a row may name records of the sheets before."""

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
            (fmt.CASE_PAUSES, self._pause),
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
        self.saves.append(self._save_ratings)  # once the cases and allocations are written
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
                numbers_changed_from(self.stale)
                self.outcome.applied = True
                if written is not None:
                    written(self.outcome)
        except IntegrityError as error:
            # A rule the checks above missed, or a change made meanwhile:
            # the database refuses, and nothing is written.
            self.outcome.applied = False
            self.outcome.errors.append(("", 0, f"The database refused the import: {error}"))
        return self.outcome


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
