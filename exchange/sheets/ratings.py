"""The ratings sheet: a case's levels on each criterion of its scheme, and the
snapshots a new rating makes stale."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from caseload import audit
from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Allocation, Case
from exchange import format as fmt
from exchange.format import ANTICIPATED_KEY, ANTICIPATED_SUFFIX, CellError
from exchange.outcome import CREATED, UNCHANGED
from exchange.reader import Row
from exchange.sheets.state import ImportState
from weighting.models import Criterion, Rating, RatingLevel, Scheme


class RatingSheets(ImportState):
    """Ratings, each against the scheme in force for its case's team that day."""

    def _rating(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.RATINGS, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        if case is None:
            self._error("ratings", row, f"there is no case {v['reference']!r}")
            return
        if not self._may_change("ratings", row, case):
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
