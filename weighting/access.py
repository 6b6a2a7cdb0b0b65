"""Who may see and change which weighting schemes, on the role rules of `caseload.access`."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from caseload.access import User, teams_managed_by
from weighting.models import Scheme


def get_draft_scheme_for_manager(user: User, pk: int) -> Scheme:
    """A team's draft scheme, for a manager of that team to edit or agree."""
    drafts = Scheme.objects.filter(
        status=Scheme.Status.DRAFT, team__in=teams_managed_by(user)
    ).select_related("team", "service")
    return get_object_or_404(drafts, pk=pk)
