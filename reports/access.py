"""Who may see escalations, DMT decisions and capacity issues, on the role
rules of `caseload.access`."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from caseload.access import (
    User,
    is_administrator,
    is_senior_manager_of,
    managed_team_ids,
    of_own_service,
    people_in_managed_teams,
    person_of,
)
from caseload.models import Person, TeamMembership
from reports.models import CapacityIssue, DmtDecision, Escalation


def escalations_visible_to(user: User) -> QuerySet[Escalation]:
    """Senior managers see their service's escalations; supervisors and
    managers their supervisees' and teams'; a worker their own;
    administrators all."""
    if is_administrator(user):
        return Escalation.objects.all()
    person = person_of(user)
    if person is None:
        return Escalation.objects.none()
    if person.role == Person.Role.SENIOR_MANAGER:
        return of_own_service(Escalation.objects.all(), person)
    in_managed_teams = people_in_managed_teams(person)
    return Escalation.objects.filter(
        Q(person=person) | Q(person__supervisor=person) | Q(person__in=in_managed_teams)
    )


def may_assess_escalation(user: User, escalation: Escalation) -> bool:
    """The worker's supervisor or a manager of their team records, with the
    worker, whether the work will be ongoing."""
    person = person_of(user)
    if person is None or person.pk == escalation.person_id:
        return False
    if escalation.person.supervisor_id == person.pk:
        return True
    return (
        TeamMembership.objects.active_on(timezone.localdate())
        .filter(person_id=escalation.person_id, team__in=managed_team_ids(person))
        .exists()
    )


def may_resolve_escalation(user: User, escalation: Escalation) -> bool:
    """The service's senior managers record what they did."""
    return is_senior_manager_of(user, escalation.service_id)


def get_escalation_for_user(user: User, pk: int) -> Escalation:
    return get_object_or_404(
        escalations_visible_to(user).select_related(
            "person__supervisor", "service", "assessed_by", "resolved_by"
        ),
        pk=pk,
    )


def _for_dmt_and_managers(user: User, model: type[DmtDecision] | type[CapacityIssue]) -> QuerySet:
    """The service's for its senior managers, their own teams' for managers,
    all for administrators; none for workers."""
    if is_administrator(user):
        return model.objects.all()
    person = person_of(user)
    if person is None:
        return model.objects.none()
    if person.role == Person.Role.SENIOR_MANAGER:
        return of_own_service(model.objects.all(), person)
    return model.objects.filter(team__in=managed_team_ids(person))


def decisions_visible_to(user: User) -> QuerySet[DmtDecision]:
    return _for_dmt_and_managers(user, DmtDecision)


def capacity_issues_visible_to(user: User) -> QuerySet[CapacityIssue]:
    return _for_dmt_and_managers(user, CapacityIssue)
