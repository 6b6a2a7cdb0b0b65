"""The what-if page: a draft scheme or draft thresholds applied to today's
caseload, beside the agreed ones, as tables a meeting can download."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Collection
from collections.abc import Mapping as Data
from dataclasses import dataclass, field, replace
from typing import Any

from caseload.access import RESTRICTED
from caseload.models import Service, Team, TeamMembership
from caseload.tables import Column, Table, Tag
from reports.forms import WhatIfForm
from weighting.bands import Band, Bands
from weighting.models import Scheme
from weighting.numbers import CaseloadNumbers
from weighting.schemes_in_force import SchemesInForce
from weighting.totals import TeamTotals, service_totals, team_totals
from weighting.what_if import (
    DraftCriterion,
    DraftScheme,
    Unmapped,
    WhatIf,
    draft_criteria,
    held_ratings,
    levels_in_use,
    what_if,
)


def covered_teams(scheme: Scheme, today: datetime.date) -> list[Team]:
    """The teams a draft would apply to: its own team, or, for a draft of
    the whole service, the service's teams with no agreed scheme of their own."""
    teams = Team.objects.filter(service_id=scheme.service_id).order_by("name")
    if scheme.team_id:
        return list(teams.filter(pk=scheme.team_id))
    in_force = SchemesInForce([scheme.service_id], today)
    return [
        team
        for team in teams
        if in_force.scheme_id_for(scheme.service_id, team.pk)
        == in_force.scheme_id_for(scheme.service_id, None)
    ]


@dataclass
class WhatIfPage:
    form: WhatIfForm
    teams: list[Team]
    agreed_bands: Bands
    draft_bands: Bands | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    unmapped: list[Unmapped] = field(default_factory=list)
    # For those who see no case labels: how many cases each criterion left
    # unmapped.
    unmapped_counts: list[tuple[str, int]] = field(default_factory=list)
    # Draft criteria that take their level from no old criterion, and the
    # rated cases that therefore count their middle level.
    no_source: list[DraftCriterion] = field(default_factory=list)
    rated_cases: int = 0

    @property
    def changes(self) -> Table:
        return self.tables["band-changes"]


def _tag(n: CaseloadNumbers) -> Tag:
    if n.band is None:
        return Tag("No capacity", "govuk-tag--grey")
    return Tag(n.band_label, f"app-band app-band--{n.band.value}")


def what_if_page(
    service: Service,
    teams: list[Team],
    today: datetime.date,
    data: Data[str, Any],
    *,
    scheme: Scheme | None = None,
    case_labels: bool = True,
    hidden: Collection[str] = frozenset(),
) -> WhatIfPage:
    """The page for `teams` (those the viewer may see among those covered):
    the form, always bound (what `data` leaves out is taken as agreed), and,
    when it is valid, the tables."""
    members = list(
        TeamMembership.objects.active_on(today)
        .filter(team__in=teams)
        .values_list("person_id", "person__full_name")
        .order_by("person__full_name", "person_id")
    )
    person_ids = [pk for pk, _ in members]
    agreed_bands = Bands.of(service)
    criteria = draft_criteria(scheme) if scheme else []
    held = held_ratings(person_ids, today, [t.pk for t in teams]) if scheme else []
    in_use = levels_in_use(held)
    form = WhatIfForm(
        WhatIfForm.completed(data, agreed_bands, criteria, in_use),
        criteria=criteria,
        in_use=in_use,
    )
    page = WhatIfPage(form, teams, agreed_bands)
    if not form.is_valid():
        return page
    page.draft_bands = form.bands()
    mapping = form.mapping()
    result = what_if(
        person_ids,
        today,
        teams=[(service.pk, t.pk) for t in teams],
        draft=DraftScheme(scheme, criteria, mapping, held) if scheme else None,
        bands=page.draft_bands,
    )
    names = dict(members)
    # A criterion that takes no old criterion leaves every case at its middle
    # level: said once, rather than listing every case.
    page.no_source = [c for c in criteria if mapping.source.get(c.pk) is None]
    skipped = {c.name for c in page.no_source}
    unmapped = [
        replace(u, criteria=kept)
        for u in result.unmapped
        if (kept := tuple(name for name in u.criteria if name not in skipped))
    ]
    # References of restricted cases the viewer may not see (upper-cased).
    unmapped = [
        replace(u, reference=RESTRICTED) if u.reference.upper() in hidden else u for u in unmapped
    ]
    page.rated_cases = len(held)
    page.unmapped = unmapped if case_labels else []
    page.unmapped_counts = sorted(Counter(name for u in unmapped for name in u.criteria).items())
    aspiration = form.cleaned_data["aspiration"]
    term = service.people_term.capitalize()
    page.tables = {
        "totals": _totals_table(result),
        "teams": _teams_table(result, teams, aspiration, term),
        "band-changes": _people_table(result, names, teams, changed_only=True),
        "people": _people_table(result, names, teams, changed_only=False),
    }
    if case_labels:
        page.tables["unmapped"] = Table(
            "unmapped",
            "Cases counted at the draft's middle level",
            [Column("Case"), Column("Held by"), Column("Counted at the middle level on")],
            [
                [u.reference, names.get(u.person_id, ""), ", ".join(u.criteria)]
                for u in page.unmapped
            ],
            empty="Every rated case maps to a level of the draft.",
        )
    return page


def _in_teams(numbers: dict[int, CaseloadNumbers], teams: list[Team]) -> list[CaseloadNumbers]:
    team_ids = {t.pk for t in teams}
    return [n for n in numbers.values() if n.team_id in team_ids]


def _band_cells(totals: TeamTotals, no_capacity: int) -> list[int]:
    return [totals.in_band(band) for band in Band] + [no_capacity]


def _totals_table(result: WhatIf) -> Table:
    rows = []
    for label, numbers in (("Agreed", result.agreed), ("Draft", result.draft)):
        holders = [n for n in numbers.values() if n.case_holding and n.team_id is not None]
        totals = service_totals(team_totals(holders).values())
        no_capacity = sum(1 for n in holders if n.band is None)
        rows.append(
            [
                label,
                len(holders),
                totals.weighted_load,
                totals.capacity,
                totals.percent,
                totals.over_maximum,
                *_band_cells(totals, no_capacity),
            ]
        )
    return Table(
        "totals",
        "Totals, agreed and draft",
        [
            Column(""),
            Column("Case-holding people", "integer"),
            Column("Weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Capacity used (%)", "decimal"),
            Column("Over the maximum", "integer"),
            Column("Blue", "integer"),
            Column("Green", "integer"),
            Column("Amber", "integer"),
            Column("Red", "integer"),
            Column("No capacity", "integer"),
        ],
        rows,
    )


def _teams_table(result: WhatIf, teams: list[Team], aspiration: Any, term: str) -> Table:
    agreed = team_totals(result.agreed.values())
    draft = team_totals(result.draft.values())
    rows = []
    for team in teams:
        before, after = agreed.get(team.pk, TeamTotals()), draft.get(team.pk, TeamTotals())
        new_aspiration = aspiration if aspiration is not None else team.aspiration
        rows.append(
            [
                team.name,
                before.case_holding_fte,
                before.people_per_fte,
                team.aspiration,
                new_aspiration,
                "Yes" if before.above_aspiration(team.aspiration) else "No",
                "Yes" if before.above_aspiration(new_aspiration) else "No",
                before.weighted_load,
                after.weighted_load,
                before.capacity,
                after.capacity,
                before.percent,
                after.percent,
                before.over_maximum,
                after.over_maximum,
            ]
        )
    return Table(
        "teams",
        "Teams, agreed and draft",
        [
            Column("Team"),
            Column("Case-holding FTE", "decimal", 2),
            Column(f"{term} per FTE", "decimal"),
            Column("Aspiration", "decimal"),
            Column("Draft aspiration", "decimal"),
            Column("Above the aspiration"),
            Column("Above the draft aspiration"),
            Column("Weighted load", "decimal"),
            Column("Draft weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Draft capacity", "decimal"),
            Column("Capacity used (%)", "decimal"),
            Column("Draft capacity used (%)", "decimal"),
            Column("Over the maximum", "integer"),
            Column("Draft over the maximum", "integer"),
        ],
        rows,
    )


def _people_table(
    result: WhatIf, names: dict[int, str], teams: list[Team], *, changed_only: bool
) -> Table:
    team_names = {t.pk: t.name for t in teams}
    rows = []
    for before in _in_teams(result.agreed, teams):
        if not before.case_holding:
            continue
        after = result.draft[before.person_id]
        if changed_only and before.band == after.band:
            continue
        rows.append(
            [
                names[before.person_id],
                team_names[before.team_id],
                before.weighted_load,
                after.weighted_load,
                before.capacity,
                after.capacity,
                before.percent_shown,
                _tag(before),
                after.percent_shown,
                _tag(after),
            ]
        )
    return Table(
        "band-changes" if changed_only else "people",
        "People whose band changes" if changed_only else "Everyone, agreed and draft",
        [
            Column("Person"),
            Column("Team"),
            Column("Weighted load", "decimal"),
            Column("Draft weighted load", "decimal"),
            Column("Capacity", "decimal"),
            Column("Draft capacity", "decimal"),
            Column("Capacity used (%)", "decimal"),
            Column("Band"),
            Column("Draft capacity used (%)", "decimal"),
            Column("Draft band"),
        ],
        rows,
        empty="No one's band changes." if changed_only else "No case-holding people.",
    )
