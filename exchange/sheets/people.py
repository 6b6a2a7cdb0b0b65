"""The people, memberships, experience_factors and reductions sheets: who
works where, and how much, checked against the dated records stored."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model

from caseload import services
from caseload.dates import long_date
from caseload.models import FteChange, Person, TeamMembership
from caseload.services import RuleBroken
from exchange import format as fmt
from exchange.outcome import CREATED, UNCHANGED, UPDATED
from exchange.reader import Row
from exchange.sheets.state import MANAGING_ROLES, ImportState, Interval
from weighting.models import ExperienceFactor, Reduction, ReductionReason
from weighting.reasons import as_time, reduction_terms

# The codes files carried before each service kept its own list of reasons,
# read as the names those reasons were given.
OLD_REASON_CODES = {
    "practice_educator": "practice educator",
    "union_duties": "trade union duties",
    "phased_return": "phased return to work",
    "other": "other protected time",
}


class PeopleSheets(ImportState):
    """People and their supervisors, team memberships, experience factors and
    protected time."""

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
            "asye_start_date": v["asye_start_date"],
        }
        # A stored person's FTE is dated: one other than today's is recorded
        # from the import's day, through the same write as the pages'.
        new_fte = person is not None and person.fte_on_day != v["fte"]
        if self.scope is not None:
            differs = person is not None and (
                any(getattr(person, k) != value for k, value in wanted.items())
                or new_fte
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
        if new_fte and person.fte_open_from is not None and person.fte_open_from > self.today:
            self._error(
                "people",
                row,
                f"{person} has an FTE change planned from {long_date(person.fte_open_from)}: "
                "a new FTE cannot start before it",
            )
            return
        self.file_people[v["username"]] = {"row": row.number, "values": v, "service": service}
        if person is None:
            person = Person(**wanted, fte=v["fte"])
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
        if new_fte:
            self.saves.append(
                lambda person=person, fte=v["fte"]: services.fte_change(
                    person=person, fte=fte, start_date=self.today, recorded_by=self.by
                )
            )
        what = UPDATED if changed or new_fte or email_changed else UNCHANGED
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
            # Their FTE history starts on the import's day.
            FteChange.objects.bulk_create(
                FteChange(person=p, fte=p.fte, start_date=self.today, recorded_by=self.by)
                for p in new
            )
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
        what = self._dated(
            "memberships", row, existing, v["start_date"], v["end_date"], planned=True
        )
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
            same=existing is None or existing.factor == v["factor"], planned=True,
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
        if hours is not None and percentage is not None:
            self._error(
                "reductions", row, "give the time as hours_per_week or as a percentage, not both"
            )
            return
        existing = self._stored_reduction(person, v)
        if existing is None and self._refused_change("reductions", row, person):
            return  # a new record of someone not theirs: said before anything else
        reason = existing.reason if existing else self._reason_of(row, person, v["reason"])
        if reason is None:
            return
        end_date = v["end_date"]
        if existing is None:
            try:
                if not reason.active:
                    raise RuleBroken(f"{reason.name} is no longer offered: choose another reason")
                terms = reduction_terms(
                    person=person, reason=reason, start_date=v["start_date"],
                    end_date=end_date, hours_per_week=hours, percentage=percentage,
                )  # fmt: skip
            except RuleBroken as error:
                self._error("reductions", row, " ".join(error.messages).rstrip("."))
                return
            hours, percentage, end_date = terms.hours_per_week, terms.percentage, terms.end_date
        elif (
            end_date is None
            and reason.maximum_weeks
            and existing.end_date
            == (v["start_date"] + datetime.timedelta(weeks=reason.maximum_weeks))
        ):
            end_date = existing.end_date  # the file left it blank, and the reason ended it
        what = self._dated(
            "reductions", row, existing, v["start_date"], end_date,
            same=existing is None or (hours is None and percentage is None)
            or (existing.hours_per_week, existing.percentage) == (hours, percentage),
            planned=True,
        )  # fmt: skip
        if what not in (None, UNCHANGED) and self._refused_change("reductions", row, person):
            return
        if what == CREATED and self._overlapping(
            "reductions", row, person,
            [(r.start_date, r.end_date) for (pk, name, _), r in self.reductions.items()
             if pk == person.pk and name == reason.name.lower()],
            Interval(v["start_date"], end_date), as_time(reason),
        ):  # fmt: skip
            return
        if what is None:
            return
        self.outcome.count("reductions", what)
        if what == CREATED:
            reduction = Reduction(
                person=person,
                reason=reason,
                detail=v["detail"] or "",
                hours_per_week=hours,
                percentage=percentage,
                start_date=v["start_date"],
                end_date=end_date,
                recorded_by=self.by,
            )
            self.saves.append(lambda r=reduction: r.save())
            self._stale(person, v["start_date"])
        elif what == UPDATED:
            existing.end_date = end_date
            self._save_later(existing, ["end_date"])
            self._stale(person, end_date)

    def _stored_reduction(self, person: Person, v: dict) -> Reduction | None:
        if not person.pk:
            return None
        name = v["reason"].lower()
        return self.reductions.get((person.pk, name, v["start_date"])) or self.reductions.get(
            (person.pk, OLD_REASON_CODES.get(name, name), v["start_date"])
        )

    def _reason_of(self, row: Row, person: Person, name: str) -> ReductionReason | None:
        """The reason of that name (whatever its capitals) on the list of the
        person's service."""
        if person.service is None:
            self._error(
                "reductions", row,
                f"{person} has no service, whose list of reasons applies: give their service "
                "in the people sheet",
            )  # fmt: skip
            return None
        listed = self.reasons.get(person.service.name, {})
        reason = listed.get(name.lower()) or listed.get(OLD_REASON_CODES.get(name.lower(), ""))
        if reason is None:
            offered = ", ".join(sorted(r.name for r in listed.values() if r.active)) or "none"
            self._error(
                "reductions", row,
                f"{name!r} is not a reason on the list of {person.service.name} (its reasons: "
                f"{offered})",
            )  # fmt: skip
        return reason
