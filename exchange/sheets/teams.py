"""The services and teams sheets: their rows checked, and their writes queued."""

from __future__ import annotations

from caseload.models import Person, Service, Team
from exchange import format as fmt
from exchange.outcome import CREATED, UNCHANGED, UPDATED
from exchange.reader import Row
from exchange.sheets.state import ImportState
from weighting.services import default_pause_reasons, default_reduction_reasons


class TeamSheets(ImportState):
    """Services, teams and the teams' managers."""

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
            "full_time_hours",
        ):
            if v[name] is not None:
                fields[name] = v[name]
        if v["full_time_hours"] is not None and not 30 <= v["full_time_hours"] <= 37:
            self._error("services", row, "full-time hours are from 30 to 37 a week")
            return
        service = self.services.get(v["service"])
        if service is None:
            if self.scope is not None:
                self._error("services", row, "only administrators add services")
                return
            service = Service(name=v["service"], **fields)
            self.services[service.name] = service
            self.service_names[service.name.lower()] = service.name
            self._save_later(service)
            # A new service starts with the default reasons for protected
            # time, which the reductions sheet may name.
            reasons = default_reduction_reasons(service)
            self.reasons[service.name] = {reason.name.lower(): reason for reason in reasons}
            self.saves.extend(lambda r=reason: r.save() for reason in reasons)
            # And with the default reasons for pausing a case, which the
            # case_pauses sheet may name.
            pause_reasons = default_pause_reasons(service)
            self.pause_reasons[service.name] = {r.name.lower(): r for r in pause_reasons}
            self.saves.extend(lambda r=reason: r.save() for reason in pause_reasons)
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
