"""Who may see supervision records, workload views and concerns, on the role
rules of `caseload.access`."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from caseload.access import User, people_in_managed_teams, person_of, supervises
from supervision.models import SupervisionRecord, WorkloadConcern, WorkloadView


def supervision_records_visible_to(user: User) -> QuerySet[SupervisionRecord]:
    """A worker sees their own records, a supervisor those of their
    supervisees; nobody else, administrators and DMT included."""
    person = person_of(user)
    if person is None:
        return SupervisionRecord.objects.none()
    if not supervises(person):
        return SupervisionRecord.objects.filter(worker=person)
    return SupervisionRecord.objects.filter(
        Q(worker=person) | Q(supervisor=person) | Q(worker__supervisor=person)
    )


def get_record_for_user(user: User, pk: int) -> SupervisionRecord:
    return get_object_or_404(
        supervision_records_visible_to(user).select_related(
            "worker__service", "supervisor", "worker_view"
        ),
        pk=pk,
    )


def workload_views_visible_to(user: User) -> QuerySet[WorkloadView]:
    """A worker's view of their workload: theirs and their supervisor's only."""
    person = person_of(user)
    if person is None:
        return WorkloadView.objects.none()
    if not supervises(person):
        return WorkloadView.objects.filter(person=person)
    return WorkloadView.objects.filter(Q(person=person) | Q(person__supervisor=person))


def concerns_visible_to(user: User) -> QuerySet[WorkloadConcern]:
    """Workers see their own concerns; supervisors their supervisees'; managers
    their teams'. (DMT sees counts and status only, on its own pages.)"""
    person = person_of(user)
    if person is None:
        return WorkloadConcern.objects.none()
    if not supervises(person):
        return WorkloadConcern.objects.filter(person=person)
    in_managed_teams = people_in_managed_teams(person)
    return WorkloadConcern.objects.filter(
        Q(person=person) | Q(person__supervisor=person) | Q(person__in=in_managed_teams)
    )


def get_concern_to_answer(user: User, pk: int) -> WorkloadConcern:
    """A concern the user may respond to: a supervisee's or a team member's."""
    person = person_of(user)
    return get_object_or_404(
        concerns_visible_to(user).exclude(person=person).select_related("person"), pk=pk
    )
