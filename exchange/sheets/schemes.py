"""The schemes and criteria sheets: agreed weighting schemes, compared with
those stored (an agreed version is never changed), and new versions queued
with their criteria and levels."""

from __future__ import annotations

from exchange import format as fmt
from exchange.outcome import CREATED, UNCHANGED
from exchange.reader import Row
from exchange.sheets.state import ImportState
from weighting.models import Criterion, Level, Scheme


class SchemeSheets(ImportState):
    """Weighting schemes, their criteria and levels."""

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
        v["unit"] = v["unit"] or Scheme.Unit.POINTS
        v["non_case_hours"] = v["non_case_hours"] if v["non_case_hours"] is not None else 0
        full_time = self.services[v["service"]].full_time_hours
        if not 0 <= v["non_case_hours"] <= full_time:
            self._error(
                "schemes",
                row,
                f"non_case_hours is hours a week, from 0 to the service's {full_time:g}",
            )
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
            same = (
                existing.name,
                existing.benchmark,
                existing.agreed_on,
                existing.unit,
                existing.non_case_hours,
            ) == (v["name"], v["benchmark"], v["agreed_on"], v["unit"], v["non_case_hours"])
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
            unit=v["unit"],
            non_case_hours=v["non_case_hours"],
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
