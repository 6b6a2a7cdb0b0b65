"""What an import does, or would do in a dry run: for each sheet, how many
records it creates, updates and leaves alone; the errors of its rows; notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from caseload.models import Person
from exchange import format as fmt

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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
