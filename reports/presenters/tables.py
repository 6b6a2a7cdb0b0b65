"""The DMT pages' tables (built with `caseload.tables`): the teams, a team's
people, DMT decisions and capacity issues, with links that keep the chosen
quarter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

from django.urls import reverse

from caseload.dates import Quarter
from caseload.tables import Column, Link, Table, Tag
from reports.dashboards.people import PersonRow
from reports.dashboards.positions import ServicePosition, TeamPosition
from reports.models import CapacityIssue, DmtDecision
from weighting.bands import Band, Bands
from weighting.models import SchemeUnit

# Hours schemes' weight per FTE: never in the same column as points.
HOURS_PER_FTE = "Hours a month per FTE"


def with_quarter(url: str, quarter: str) -> str:
    return f"{url}?{urlencode({'quarter': quarter})}" if quarter else url


def team_links(team_ids: Iterable[int], quarter: str) -> dict[int, str]:
    """Each team's dashboard, keeping the chosen quarter: one URL per team for
    the tables of a page that link to it."""
    return {
        team_id: with_quarter(reverse("team_dashboard", args=[team_id]), quarter)
        for team_id in set(team_ids)
    }


def decision_tag(team: TeamPosition) -> Tag:
    if team.needs_agreement:
        return Tag(team.decision_status, "govuk-tag--red")
    if team.above_aspiration:
        return Tag(team.decision_status, "govuk-tag--yellow")
    return Tag(team.decision_status, "govuk-tag--grey")


def teams_table(
    position: ServicePosition,
    *,
    slug: str,
    caption: str,
    links: Mapping[int, str],
    live: bool,
    bands: Bands,
    term: str = "children",
) -> Table:
    """Per team: FTE, averages per FTE against the aspiration, band mix (by
    the service's thresholds), unallocated work, people over maximum,
    escalations, concerns and the DMT decision status."""
    columns = [
        Column("Team"),
        Column("Case-holding FTE", "decimal", 2),
        Column("Cases per FTE", "decimal"),
        Column(f"{term.capitalize()} per FTE", "decimal"),
    ]
    if not live:
        columns.append(Column(f"{term.capitalize()} per FTE, quarter's daily mean", "decimal"))
    hours = position.has_hours
    columns += [
        Column("Weight per FTE", "decimal"),
        *([Column(HOURS_PER_FTE, "decimal")] if hours else []),
        Column("Aspiration", "decimal"),
        Column("DMT decision"),
        *(Column(h, "integer") for h in bands.headings),
        Column("Unallocated", "integer"),
        Column("Longest wait (days)", "integer"),
        Column("Over maximum", "integer"),
        Column("Open escalations", "integer"),
        Column("Open concerns", "integer"),
        Column("Overdue concerns", "integer"),
    ]
    if live:
        columns.append(Column("Supervisions overdue", "integer"))

    def line(name: object, agg: dict) -> list:
        cells = [
            name,
            agg["fte"],
            agg["cases_per_fte"],
            agg["people_per_fte"],
        ]
        if not live:
            cells.append(agg["mean"])
        cells += [
            agg["load_per_fte"],
            *([agg["hours_per_fte"]] if hours else []),
            agg["aspiration"],
            agg["decision"],
            *agg["bands"],
            agg["unallocated"],
            agg["wait"],
            agg["over_maximum"],
            agg["escalations"],
            agg["concerns"],
            agg["overdue"],
        ]
        if live:
            cells.append(agg["supervision"])
        return cells

    rows = [
        line(
            Link(t.team_name, links[t.team_id]),
            {
                "fte": t.case_holding_fte,
                "cases_per_fte": t.cases_per_fte,
                "people_per_fte": t.people_per_fte,
                "mean": t.mean_people_per_fte,
                "load_per_fte": t.weight_per_fte(SchemeUnit.POINTS),
                "hours_per_fte": t.weight_per_fte(SchemeUnit.HOURS),
                "aspiration": t.aspiration,
                "bands": t.band_counts,
                "unallocated": t.unallocated,
                "wait": t.longest_wait_days,
                "over_maximum": t.over_maximum,
                "escalations": t.open_escalations,
                "concerns": t.open_concerns,
                "overdue": t.overdue_concerns,
                "supervision": t.supervision_overdue,
                "decision": decision_tag(t),
            },
        )
        for t in position.teams
    ]
    needing = len(position.needing_agreement)
    totals = line(
        "Service",
        {
            "fte": position.case_holding_fte,
            "cases_per_fte": position.cases_per_fte,
            "people_per_fte": position.people_per_fte,
            "mean": position.review.mean_people_per_fte if position.review else None,
            "load_per_fte": position.weight_per_fte(SchemeUnit.POINTS),
            "hours_per_fte": position.weight_per_fte(SchemeUnit.HOURS),
            "aspiration": None,
            "bands": [position.totals.in_band(band) for band in Band],
            "unallocated": position.unallocated,
            "wait": position.longest_wait_days,
            "over_maximum": position.over_maximum,
            "escalations": position.open_escalations,
            "concerns": position.open_concerns,
            "overdue": sum(t.overdue_concerns for t in position.teams),
            "supervision": sum(t.supervision_overdue or 0 for t in position.teams),
            "decision": {0: "None need agreement", 1: "1 needs agreement"}.get(
                needing, f"{needing} need agreement"
            ),
        },
    )
    return Table(slug, caption, columns, rows, totals if position.teams else None,
                 empty="This service has no teams yet.")  # fmt: skip


def people_table(
    rows: list[PersonRow],
    *,
    slug: str,
    caption: str,
    link_quarter: str | None,
    term: str = "children",
) -> Table:
    columns = [
        Column("Name"),
        Column("Role"),
        Column("FTE", "decimal", 2),
        Column("Cases", "integer"),
        Column(term.capitalize(), "integer"),
        Column("Weighted load", "decimal"),
        Column("Capacity", "decimal"),
        Column("Capacity %", "decimal"),
        Column("Band"),
    ]
    # Where some are measured in hours a month, each row says its unit.
    units = any(row.unit == SchemeUnit.HOURS for row in rows)
    if units:
        columns.insert(7, Column("Measured in"))
    body = []
    for row in rows:
        name = (
            Link(
                row.person.full_name,
                with_quarter(reverse("person_dashboard", args=[row.person.pk]), link_quarter),
            )
            if link_quarter is not None
            else row.person.full_name
        )
        body.append(
            [
                name,
                row.person.get_role_display(),
                row.fte,
                row.case_count,
                row.people_count,
                row.weighted_load,
                row.capacity,
                *([SchemeUnit(row.unit).label.lower()] if units else []),
                row.percent_shown,
                Tag(
                    row.band_label,
                    f"app-band app-band--{row.band}" if row.band else "govuk-tag--grey",
                ),
            ]
        )
    return Table(slug, caption, columns, body, empty="No one was in the team.")


def decisions_table(decisions: list[DmtDecision], caption: str) -> Table:
    return Table(
        "decisions",
        caption,
        [
            Column("Meeting"),
            Column("Team"),
            Column("Quarter"),
            Column("Decision"),
            Column("Reason"),
            Column("Actions"),
            Column("Review by", "date"),
            Column("Minute"),
            Column("Recorded by"),
        ],
        [
            [
                d.meeting_on,
                d.team.name,
                Quarter(d.quarter_start).financial_label,
                d.get_kind_display(),
                d.reason,
                d.actions,
                d.review_by,
                d.minute_reference,
                d.recorded_by.full_name,
            ]
            for d in decisions
        ],
        empty="No decisions recorded yet.",
    )


def issues_table(issues: list[CapacityIssue], caption: str) -> Table:
    return Table(
        "capacity-issues",
        caption,
        [
            Column("Raised", "date"),
            Column("Team"),
            Column("Issue"),
            Column("What the team needs"),
            Column("Raised by"),
            Column("Status"),
        ],
        [
            [
                i.raised_on,
                i.team.name,
                i.summary,
                i.detail,
                i.raised_by.full_name,
                Tag("Decided", "govuk-tag--green")
                if getattr(i, "decided", False)
                else Tag("On the agenda", "govuk-tag--yellow"),
            ]
            for i in issues
        ],
        empty="No capacity issues raised.",
    )
