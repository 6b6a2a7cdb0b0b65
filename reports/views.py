"""The escalations pages: workers over the maximum for more than three months."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from caseload import access
from caseload.models import TeamMembership
from caseload.services import RuleBroken
from reports import services
from reports.forms import AssessmentForm, OutcomeForm
from reports.models import Escalation


@require_GET
def escalation_list(request: HttpRequest) -> HttpResponse:
    team_today = TeamMembership.objects.active_on(timezone.localdate()).filter(
        person_id=OuterRef("person_id")
    )
    escalations = (
        access.escalations_visible_to(request.user)
        .select_related("person__supervisor", "assessed_by", "resolved_by")
        .annotate(team_name=Subquery(team_today.values("team__name")[:1]))
        .order_by("status", "-escalated_on", "pk")
    )
    rows = list(escalations)
    return render(
        request,
        "reports/escalation_list.html",
        {
            "open": [e for e in rows if e.status == Escalation.Status.OPEN],
            "resolved": [e for e in rows if e.status == Escalation.Status.RESOLVED],
        },
    )


@require_http_methods(["GET", "POST"])
def escalation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = access.get_escalation_for_user(request.user, pk)
    is_open = escalation.status == Escalation.Status.OPEN
    may_assess = is_open and access.may_assess_escalation(request.user, escalation)
    may_resolve = is_open and access.may_resolve_escalation(request.user, escalation)
    posted = request.POST if request.method == "POST" else None
    action = request.POST.get("action") if posted else None
    assessment_form = AssessmentForm(
        posted if action == "assess" else None,
        initial={
            "work_ongoing": {True: "yes", False: "no"}.get(escalation.work_ongoing, ""),
            "assessment": escalation.assessment,
        },
    )
    outcome_form = OutcomeForm(posted if action == "resolve" else None)
    me = access.person_of(request.user)
    if (action == "assess" and not may_assess) or (action == "resolve" and not may_resolve):
        raise PermissionDenied("You cannot change this escalation.")
    if action == "assess" and assessment_form.is_valid():
        try:
            services.escalation_assess(
                escalation=escalation,
                work_ongoing=assessment_form.cleaned_data["work_ongoing"] == "yes",
                assessment=assessment_form.cleaned_data["assessment"],
                by=me,
            )
        except RuleBroken as error:
            assessment_form.add_error(None, error)
        else:
            messages.success(request, "Your assessment is recorded.")
            return redirect("escalation_detail", pk=escalation.pk)
    elif action == "resolve" and outcome_form.is_valid():
        try:
            services.escalation_resolve(
                escalation=escalation, outcome=outcome_form.cleaned_data["outcome"], by=me
            )
        except RuleBroken as error:
            outcome_form.add_error(None, error)
        else:
            messages.success(request, f"The escalation of {escalation.person} is resolved.")
            return redirect("escalation_list")
    return render(
        request,
        "reports/escalation_detail.html",
        {
            "escalation": escalation,
            "may_assess": may_assess,
            "may_resolve": may_resolve,
            "assessment_form": assessment_form,
            "outcome_form": outcome_form,
            "form": assessment_form if action == "assess" else outcome_form,
        },
    )
