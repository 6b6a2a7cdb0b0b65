"""The escalations pages (workers over the maximum for more than three months)
and the DMT dashboards: service overview, team and person, decisions, the
agenda, downloads and the quarterly pack."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from caseload import access
from caseload.models import Person, Team, TeamMembership
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from caseload.tables import Column, Table, download
from reports.access import (
    capacity_issues_visible_to,
    decisions_visible_to,
    escalations_visible_to,
    get_escalation_for_user,
    may_assess_escalation,
    may_resolve_escalation,
)
from reports.forms import (
    AssessmentForm,
    CapacityIssueForm,
    ChosenDayForm,
    DecisionForm,
    OutcomeForm,
)
from reports.models import Escalation
from reports.presenters import forecast, pages
from reports.presenters.tables import decisions_table, issues_table, with_quarter
from reports.presenters.what_if import WhatIfPage, covered_teams, what_if_page
from reports.services.dmt import capacity_issue_raise
from weighting.access import get_draft_scheme_for_what_if
from weighting.forecast import ASSUMES, ASSUMES_VACANCIES


def _escalations(request: HttpRequest) -> list[Escalation]:
    """The escalations the user may see, each with the worker's team today and
    that team's managers."""
    team_today = TeamMembership.objects.active_on(timezone.localdate()).filter(
        person_id=OuterRef("person_id")
    )
    escalations = list(
        escalations_visible_to(request.user)
        .select_related("person__supervisor", "assessed_by", "resolved_by")
        .annotate(
            team_id=Subquery(team_today.values("team_id")[:1]),
            team_name=Subquery(team_today.values("team__name")[:1]),
        )
        .order_by("status", "-escalated_on", "pk")
    )
    managers: dict[int, list[str]] = {}
    for team in Team.objects.filter(pk__in={e.team_id for e in escalations}).prefetch_related(
        Prefetch("managers", queryset=Person.objects.order_by("full_name"))
    ):
        managers[team.pk] = [m.full_name for m in team.managers.all()]
    for escalation in escalations:
        escalation.manager_names = ", ".join(managers.get(escalation.team_id, [])) or "None"
    return escalations


def _escalations_table(escalations: list[Escalation]) -> Table:
    def assessed(e: Escalation) -> str:
        if e.work_ongoing is None:
            return "Not assessed yet"
        return ("Work ongoing: " if e.work_ongoing else "Work not ongoing: ") + e.assessment

    return Table(
        "escalations",
        "Escalations",
        [
            Column("Worker"),
            Column("Team"),
            Column("Manager"),
            Column("Supervisor"),
            Column("Over the maximum since", "date"),
            Column("Escalated", "date"),
            Column("Assessment"),
            Column("Status"),
            Column("Outcome"),
            Column("Resolved", "date"),
        ],
        [
            [
                e.person.full_name,
                e.team_name or "",
                e.manager_names,
                e.person.supervisor.full_name if e.person.supervisor else "None",
                e.over_since,
                e.escalated_on,
                assessed(e),
                e.get_status_display(),
                e.outcome,
                e.resolved_on,
            ]
            for e in escalations
        ],
    )


@require_GET
def escalation_list(request: HttpRequest) -> HttpResponse:
    rows = _escalations(request)
    return render(
        request,
        "reports/escalation_list.html",
        {
            "open": [e for e in rows if e.status == Escalation.Status.OPEN],
            "resolved": [e for e in rows if e.status == Escalation.Status.RESOLVED],
        },
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def escalation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    escalation = get_escalation_for_user(request.user, pk)
    is_open = escalation.status == Escalation.Status.OPEN
    may_assess = is_open and may_assess_escalation(request.user, escalation)
    may_resolve = is_open and may_resolve_escalation(request.user, escalation)
    posted = request.POST if request.method == "POST" else None
    action = request.POST.get("action") if posted else None
    if (action == "assess" and not may_assess) or (action == "resolve" and not may_resolve):
        raise PermissionDenied("You cannot change this escalation.")
    assessment_form = AssessmentForm.of(escalation, posted if action == "assess" else None)
    outcome_form = OutcomeForm(posted if action == "resolve" else None)
    me = access.person_of(request.user)
    if (
        action == "assess"
        and assessment_form.is_valid()
        and assessment_form.save(escalation, by=me)
    ):
        messages.success(request, "Your assessment is recorded.")
        return redirect("escalation_detail", pk=escalation.pk)
    if action == "resolve" and outcome_form.is_valid() and outcome_form.save(escalation, by=me):
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


# DMT dashboards ------------------------------------------------------------------

DOWNLOAD_FORMATS = ("csv", "xlsx")


def _download(tables: dict[str, Table], slug: str, file_format: str, stem: str) -> HttpResponse:
    """One table as CSV or XLSX, or every table as one workbook ("all.xlsx")."""
    if file_format not in DOWNLOAD_FORMATS:
        raise Http404("No such download.")
    if slug == "all" and file_format == "xlsx":
        return download(list(tables.values()), stem, file_format)
    if slug not in tables:
        raise Http404("No such table.")
    return download([tables[slug]], f"{stem}-{slug}", file_format)


def _downloads(url_name: str, pk: int, quarter: str) -> dict[str, str]:
    """Where a page's table downloads live, and the quarter they are for."""
    return {
        "download_base": reverse(url_name, args=[pk, "x", "csv"]).removesuffix("x.csv"),
        "query": with_quarter("", quarter),
    }


def _stem(name: str, quarter: str) -> str:
    return "-".join(filter(None, [slugify(name), quarter]))


@require_GET
@transaction.non_atomic_requests  # it only reads; no BEGIN and COMMIT to wait for
def service_overview(request: HttpRequest, pk: int) -> HttpResponse:
    service = access.get_service_for_user(request.user, pk)
    today = timezone.localdate()
    page = pages.overview(service, request.GET.get("quarter"), today)
    quarter_end, above = forecast.teams_above_next_quarter(service, today)
    return render(
        request,
        "reports/service_overview.html",
        {
            "page": page,
            "service": service,
            "forecast_day": quarter_end,
            "forecast_above": above,
            "may_record": access.is_senior_manager(request.user),
            **_downloads("service_download", service.pk, page.quarter),
        },
    )


@require_GET
def service_forecast(request: HttpRequest, pk: int) -> HttpResponse:
    """Each team's next 12 weeks, and who is forecast above their aspiration."""
    service = access.get_service_for_user(request.user, pk)
    page = forecast.service_forecast_page(service, timezone.localdate())
    return render(
        request,
        "reports/service_forecast.html",
        {"page": page, "service": service, "assumes": f"{ASSUMES} {ASSUMES_VACANCIES}"},
    )


@require_GET
def service_download(request: HttpRequest, pk: int, slug: str, file_format: str) -> HttpResponse:
    service = access.get_service_for_user(request.user, pk)
    page = pages.overview(service, request.GET.get("quarter"), timezone.localdate())
    return _download(page.tables, slug, file_format, _stem(service.name, page.quarter))


@require_GET
def service_pack(request: HttpRequest, pk: int) -> HttpResponse:
    """The quarterly pack for a DMT meeting: the charts and tables as one PDF."""
    from caseload.pdf import html_to_pdf  # WeasyPrint loads only when a PDF is asked for

    service = access.get_service_for_user(request.user, pk)
    page = pages.overview(service, request.GET.get("quarter"), timezone.localdate())
    html = render_to_string("reports/pack.html", {"page": page, "service": service}, request)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    name = _stem(f"{service.name} DMT pack", page.quarter)
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@require_GET
def team_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk)
    page = pages.team_dashboard(team, request.GET.get("quarter"), timezone.localdate())
    return render(
        request,
        "reports/team_dashboard.html",
        {
            "page": page,
            "team": team,
            **_downloads("team_download", team.pk, page.quarter),
            "may_record": access.may_record_decision(request.user, team),
            "may_raise": access.may_raise_capacity_issue(request.user, team),
            "sees_service": access.services_visible_to(request.user)
            .filter(pk=team.service_id)
            .exists(),
        },
    )


@require_GET
def team_forecast(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's next 12 weeks: the team's managers and its service's DMT."""
    team = access.get_team_for_user(request.user, pk)
    form = ChosenDayForm(request.GET or None)
    chosen = form.cleaned_data["on"] if form.is_valid() else None
    page = forecast.team_forecast_page(team, timezone.localdate(), chosen)
    return render(request, "reports/team_forecast.html", {"page": page, "team": team, "form": form})


@require_GET
def team_download(request: HttpRequest, pk: int, slug: str, file_format: str) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk)
    page = pages.team_dashboard(team, request.GET.get("quarter"), timezone.localdate())
    return _download(page.tables, slug, file_format, _stem(team.name, page.quarter))


@require_GET
def person_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    person = access.get_person_for_dashboard(request.user, pk)
    today = timezone.localdate()
    page = pages.person_dashboard(person, today)
    team = (
        access.teams_visible_to(request.user)
        .filter(memberships__in=TeamMembership.objects.active_on(today).filter(person=person))
        .first()
    )
    return render(
        request,
        "reports/person_dashboard.html",
        {
            "page": page,
            "person": person,
            "team": team,
            "quarter": request.GET.get("quarter", ""),
            **_downloads("person_download", person.pk, ""),
        },
    )


@require_GET
def person_download(request: HttpRequest, pk: int, slug: str, file_format: str) -> HttpResponse:
    person = access.get_person_for_dashboard(request.user, pk)
    page = pages.person_dashboard(person, timezone.localdate())
    if not page.tables:
        raise Http404("No numbers for someone in no service.")
    return _download(page.tables, slug, file_format, slugify(person.full_name))


@require_http_methods(["GET", "POST"])
@once_per_form
def decision_create(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk)
    if not access.may_record_decision(request.user, team):
        raise PermissionDenied("Only the service's senior managers record DMT decisions.")
    form = DecisionForm.for_team(
        team,
        request.POST or None,
        quarter=request.GET.get("quarter"),
        issue=request.GET.get("issue"),
        by=access.person_of(request.user),
    )
    posted = request.method == "POST" and form.is_valid()
    if posted and form.save(team, by=access.person_of(request.user)) is not None:
        messages.success(request, f"The DMT decision for {team.name} is recorded.")
        dashboard = reverse("team_dashboard", args=[team.pk])
        return redirect(with_quarter(dashboard, form.cleaned_data["quarter"]))
    return render(
        request,
        "reports/decision_form.html",
        {"form": form, "team": team, "quarter": request.GET.get("quarter", "")},
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def capacity_issue_create(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_capacity_issue(request.user, pk)
    form = CapacityIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            capacity_issue_raise(
                team=team,
                by=access.person_of(request.user),
                summary=form.cleaned_data["summary"],
                detail=form.cleaned_data["detail"],
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "The capacity issue is on the DMT agenda.")
            return redirect("team_dashboard", pk=team.pk)
    return render(request, "reports/capacity_issue_form.html", {"form": form, "team": team})


def _decision_tables(request: HttpRequest) -> dict[str, Table]:
    decisions = list(
        decisions_visible_to(request.user)
        .select_related("team", "recorded_by")
        .order_by("-meeting_on", "-pk")
    )
    issues = list(
        capacity_issues_visible_to(request.user)
        .open()
        .select_related("team", "raised_by")
        .order_by("raised_on", "pk")
    )
    return {
        "capacity-issues": issues_table(issues, "Capacity issues on the agenda"),
        "decisions": decisions_table(decisions, "DMT decisions"),
    }


@require_GET
def decision_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/decision_list.html",
        {
            "tables": _decision_tables(request),
            "download_base": reverse("decision_download", args=["x", "csv"]).removesuffix("x.csv"),
        },
    )


@require_GET
def decision_download(request: HttpRequest, slug: str, file_format: str) -> HttpResponse:
    return _download(_decision_tables(request), slug, file_format, "dmt")


@require_GET
def escalation_download(request: HttpRequest, file_format: str) -> HttpResponse:
    table = _escalations_table(_escalations(request))
    return _download({"escalations": table}, "escalations", file_format, "escalations")


def _what_if(request: HttpRequest, pk: int, *, of_scheme: bool) -> tuple[Any, WhatIfPage]:
    """A draft scheme's what-if (`of_scheme`) for the covered teams the user
    may see, or a service's what-if of thresholds for all its teams (DMT)."""
    today = timezone.localdate()
    if not of_scheme:
        service = access.get_service_for_user(request.user, pk)
        teams = list(service.teams.order_by("name"))
        return service, what_if_page(service, teams, today, request.GET, case_labels=False)
    scheme = get_draft_scheme_for_what_if(request.user, pk)
    visible = set(access.teams_visible_to(request.user).values_list("pk", flat=True))
    teams = [team for team in covered_teams(scheme, today) if team.pk in visible]
    if not teams:
        raise Http404("No team of yours is covered by this draft.")
    labels = not access.is_senior_manager(request.user)
    return scheme, what_if_page(
        scheme.service,
        teams,
        today,
        request.GET,
        scheme=scheme,
        case_labels=labels,
        # A team's managers see all its cases; an administrator not the
        # restricted ones they are not named on.
        hidden=access.hidden_references(request.user)
        if access.is_administrator(request.user)
        else frozenset(),
    )


@require_GET
@transaction.non_atomic_requests  # it only reads
def what_if(request: HttpRequest, pk: int, *, of_scheme: bool) -> HttpResponse:
    """A draft applied to today's caseload beside the agreed scheme and thresholds."""
    subject, page = _what_if(request, pk, of_scheme=of_scheme)
    prefix = "scheme" if of_scheme else "service"
    query = request.GET.urlencode()
    return render(
        request,
        "reports/what_if.html",
        {
            "page": page,
            "scheme": subject if of_scheme else None,
            "service": subject.service if of_scheme else subject,
            "form": page.form,
            "manages": of_scheme
            and subject.team_id is not None
            and access.manages_team(request.user, subject.team),
            "download_base": reverse(
                f"{prefix}_what_if_download", args=[pk, "x", "csv"]
            ).removesuffix("x.csv"),
            "query": f"?{query}" if query else "",
        },
    )


@require_GET
@transaction.non_atomic_requests
def what_if_download(
    request: HttpRequest, pk: int, slug: str, file_format: str, *, of_scheme: bool
) -> HttpResponse:
    subject, page = _what_if(request, pk, of_scheme=of_scheme)
    if not page.tables:  # the form has errors: the page shows them
        page_url = reverse("scheme_what_if" if of_scheme else "service_what_if", args=[pk])
        return redirect(f"{page_url}?{request.GET.urlencode()}")
    name = subject.service.name if of_scheme else subject.name
    return _download(page.tables, slug, file_format, _stem(f"{name} what-if", ""))
