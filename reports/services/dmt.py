"""The DMT agenda: capacity issues raised by teams, and the decisions DMT
records about a team for a quarter."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from caseload.dates import Quarter, long_date
from caseload.models import Person, Service, Team
from caseload.notifications import notify_many
from reports.models import CapacityIssue, DmtDecision


def _senior_managers(service: Service) -> list[Person]:
    return list(
        Person.objects.filter(service=service, role=Person.Role.SENIOR_MANAGER).select_related(
            "user"
        )
    )


def capacity_issue_raise(*, team: Team, by: Person, summary: str, detail: str) -> CapacityIssue:
    """A team manager puts a team capacity issue on the DMT agenda; the
    service's senior managers are told."""
    from caseload.services import RuleBroken

    if not summary.strip() or not detail.strip():
        raise RuleBroken("Say what the issue is and what the team needs from DMT.")
    with transaction.atomic():
        issue = CapacityIssue.objects.create(
            service=team.service,
            team=team,
            raised_by=by,
            raised_on=timezone.localdate(),
            summary=summary.strip(),
            detail=detail.strip(),
        )
        notify_many(
            [
                (
                    senior,
                    f"{team.name} has put a capacity issue on the DMT agenda",
                    f"{by} raised it on {long_date(issue.raised_on)}: {issue.summary}\n"
                    "It stays on the DMT agenda in Caseload until a decision is recorded.\n",
                )
                for senior in _senior_managers(team.service)
            ]
        )
    return issue


def decision_record(
    *,
    team: Team,
    quarter: Quarter,
    kind: str,
    reason: str,
    actions: str,
    review_by: datetime.date,
    meeting_on: datetime.date,
    minute_reference: str,
    capacity_issue: CapacityIssue | None,
    by: Person,
) -> DmtDecision:
    """Record a DMT decision about a team for a quarter, as minuted. An agreed
    deviation clears the team's flag from the quarter's start to its review
    date. The team's managers are told."""
    from caseload.services import RuleBroken

    today = timezone.localdate()
    if meeting_on > today:
        raise RuleBroken("The meeting date cannot be in the future.")
    if review_by <= meeting_on:
        raise RuleBroken("The review date must be after the meeting.")
    if kind == DmtDecision.Kind.AGREED and not reason.strip():
        raise RuleBroken("Say why DMT agreed the team may hold above its aspiration.")
    if kind == DmtDecision.Kind.ACTIONS and not actions.strip():
        raise RuleBroken("Say what actions DMT agreed.")
    if capacity_issue is not None and capacity_issue.team_id != team.pk:
        raise RuleBroken("That capacity issue was raised by another team.")
    with transaction.atomic():
        if capacity_issue is not None:
            capacity_issue = CapacityIssue.objects.select_for_update().get(pk=capacity_issue.pk)
            if capacity_issue.decisions.exists():
                raise RuleBroken("A decision already answers that capacity issue.")
        decision = DmtDecision.objects.create(
            service=team.service,
            team=team,
            quarter_start=quarter.start,
            kind=kind,
            reason=reason.strip(),
            actions=actions.strip(),
            review_by=review_by,
            meeting_on=meeting_on,
            minute_reference=minute_reference.strip(),
            capacity_issue=capacity_issue,
            recorded_by=by,
        )
        notify_many(
            [
                (
                    manager,
                    f"DMT decision for {team.name}: {decision.get_kind_display().lower()}",
                    f"DMT met on {long_date(meeting_on)} (minute {decision.minute_reference}) "
                    f"about {quarter.label}.\n"
                    + (f"Reason: {decision.reason}\n" if decision.reason else "")
                    + (f"Actions: {decision.actions}\n" if decision.actions else "")
                    + f"To be reviewed by {long_date(review_by)}.\n",
                )
                for manager in team.managers.select_related("user")
            ]
        )
    return decision
