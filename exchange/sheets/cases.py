"""The cases and case_moves sheets, and the open cases a file leaves out."""

from __future__ import annotations

from caseload import audit
from caseload.models import Case, CaseTeamMove
from exchange import format as fmt
from exchange.outcome import CREATED, UNCHANGED, UPDATED
from exchange.reader import Row
from exchange.sheets.state import ImportState

MAX_PEOPLE = 99  # children (or adults) one case covers


class CaseSheets(ImportState):
    """Cases, their moves between teams, and the cases the file leaves out."""

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
            "restricted": v["restricted"] == "yes",
        }
        case = self.cases.get(key)
        if case is not None:
            # A blank label, priority or restriction leaves the one recorded
            # (extracts from case-management systems seldom carry managers'
            # priorities).
            for name, given in (
                ("label", v["label"]),
                ("priority", v["priority"]),
                ("restricted", v["restricted"]),
            ):
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
        if not self._may_change("cases", row, case):
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
        if case.pk in self.hidden:
            self._error(
                "case_moves", row, f"case {case.reference} is restricted: it is not changed here"
            )
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
            and case.pk not in self.hidden
        )
        if missing:
            shown = ", ".join(missing[:20]) + (" and more" if len(missing) > 20 else "")
            many = len(missing) != 1
            self.outcome.notes.append(
                f"{len(missing)} open case{'s' if many else ''} of the teams in the file "
                f"{'are' if many else 'is'} not in it and {'are' if many else 'is'} left "
                f"as {'they are' if many else 'it is'}: {shown}."
            )
