"""Who may see and change which weighting schemes, on the role rules of `caseload.access`."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404

from caseload.access import (
    User,
    is_administrator,
    of_own_service,
    person_of,
    teams_managed_by,
)
from caseload.models import Person
from weighting.models import Scheme


def get_draft_scheme_for_manager(user: User, pk: int) -> Scheme:
    """A team's draft scheme, for a manager of that team to edit or agree."""
    drafts = Scheme.objects.filter(
        status=Scheme.Status.DRAFT, team__in=teams_managed_by(user)
    ).select_related("team", "service")
    return get_object_or_404(drafts, pk=pk)


def get_draft_scheme_for_what_if(user: User, pk: int) -> Scheme:
    """A draft scheme, for its what-if: open to the managers of the teams it
    may cover (its own team; for a draft of the whole service, the service's
    teams), the service's DMT and administrators."""
    drafts = Scheme.objects.filter(status=Scheme.Status.DRAFT).select_related("team", "service")
    if not is_administrator(user):
        person = person_of(user)
        if person is not None and person.role == Person.Role.SENIOR_MANAGER:
            drafts = of_own_service(drafts, person)
        else:
            managed = teams_managed_by(user)
            drafts = drafts.filter(
                Q(team__in=managed) | Q(team__isnull=True, service__teams__in=managed)
            ).distinct()
    return get_object_or_404(drafts, pk=pk)
