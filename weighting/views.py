"""Pages of weighting: a team's scheme and its versions, and rating a case."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from caseload import access, audit
from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Case
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from weighting import services
from weighting.access import get_draft_scheme_for_manager
from weighting.forms import (
    AgreeSchemeForm,
    CriterionForm,
    CriterionFormSet,
    PauseForm,
    RatingForm,
    SchemeForm,
    UnpauseForm,
)
from weighting.history import RatingView
from weighting.models import CasePause, Criterion, Level, Rating, Scheme
from weighting.schemes_in_force import scheme_terms


def _criteria(scheme: Scheme) -> list[Criterion]:
    return list(
        scheme.criteria.prefetch_related(
            Prefetch("levels", queryset=Level.objects.order_by("value"))
        )
    )


@require_http_methods(["GET"])
def team_scheme(request: HttpRequest, team_pk: int) -> HttpResponse:
    team = access.get_team_for_scheme_page(request.user, team_pk)
    scheme = services.scheme_in_force(team)
    versions = (
        Scheme.objects.filter(service=team.service, team__in=[team.pk, None])
        .select_related("recorded_by", "team")
        .order_by("-agreed_on", "-version")
    )
    manages = access.manages_team(request.user, team)
    sees_draft = manages or access.is_senior_manager_of(request.user, team.service_id)
    return render(
        request,
        "weighting/team_scheme.html",
        {
            "team": team,
            "scheme": scheme,
            "criteria": _criteria(scheme) if scheme else [],
            "terms": scheme_terms([scheme.pk])[scheme.pk] if scheme else None,
            "versions": [v for v in versions if not v.is_draft],
            "draft": next((v for v in versions if v.is_draft and v.team_id == team.pk), None)
            if sees_draft
            else None,
            "manages": manages,
        },
    )


@require_POST
@once_per_form
def scheme_draft_create(request: HttpRequest, team_pk: int) -> HttpResponse:
    team = access.get_team_for_scheme_page(request.user, team_pk)
    if not access.manages_team(request.user, team):
        raise PermissionDenied
    try:
        draft = services.scheme_draft_new_version(team=team, by=access.person_of(request.user))
    except RuleBroken as error:
        messages.error(request, " ".join(error.messages))
        return redirect("team_scheme", team_pk=team.pk)
    return redirect("scheme_edit", pk=draft.pk)


@require_http_methods(["GET", "POST"])
def scheme_edit(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_draft_scheme_for_manager(request.user, pk)
    initial = [CriterionForm.initial_for(spec) for spec in services.criteria_of(draft)]
    form = SchemeForm(request.POST or None, instance=draft)
    formset = CriterionFormSet(request.POST or None, initial=initial, prefix="criteria")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        specs = [spec for spec in (f.spec() for f in formset.forms) if spec]
        try:
            services.scheme_update_draft(
                scheme=draft,
                name=form.cleaned_data["name"],
                benchmark=form.cleaned_data["benchmark"],
                criteria=specs,
                unit=form.cleaned_data["unit"],
                non_case_hours=form.cleaned_data["non_case_hours"],
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Draft version {draft.version} saved.")
            if "agree" in request.POST:
                return redirect("scheme_agree", pk=draft.pk)
            return redirect("scheme_edit", pk=draft.pk)
    return render(
        request,
        "weighting/scheme_edit.html",
        {"draft": draft, "team": draft.team, "form": form, "formset": formset},
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def scheme_agree(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_draft_scheme_for_manager(request.user, pk)
    form = AgreeSchemeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheme_agree(
                scheme=draft,
                agreed_on=form.cleaned_data["agreed_on"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Version {draft.version} of the {draft.team} scheme is recorded as agreed.",
            )
            return redirect("team_scheme", team_pk=draft.team_id)
    return render(
        request,
        "weighting/scheme_agree.html",
        {
            "draft": draft,
            "team": draft.team,
            "criteria": _criteria(draft),
            "terms": scheme_terms([draft.pk]).get(draft.pk),
            "form": form,
        },
    )


@require_POST
def scheme_discard(request: HttpRequest, pk: int) -> HttpResponse:
    draft = get_draft_scheme_for_manager(request.user, pk)
    team_pk = draft.team_id
    services.scheme_discard_draft(scheme=draft)
    messages.success(request, f"Draft version {draft.version} discarded.")
    return redirect("team_scheme", team_pk=team_pk)


def _rated(case: Case, rating: Rating) -> str:
    """What the manager is told: "Case CP-1042 rated 7 of 9 (provisional)."."""
    maximum = scheme_terms([rating.scheme_id])[rating.scheme_id].maximum_total
    view = RatingView(rating, list(rating.levels.all()), maximum)
    return (
        f"Case {case.reference} rated {view.total_display} ({rating.get_status_display().lower()})."
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def case_rate(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_manager(request.user, pk)
    scheme = services.scheme_in_force(case.team)
    if scheme is None:
        messages.error(request, f"{case.team} has no agreed weighting scheme yet.")
        return redirect("case_detail", pk=case.pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    criteria = _criteria(scheme)
    form = RatingForm(request.POST or None, case=case, criteria=criteria)
    if request.method == "POST" and form.is_valid():
        status = Rating.Status.INTERIM if case.ratings.exists() else Rating.Status.PROVISIONAL
        try:
            rating = services.rating_create(
                case=case,
                levels=form.levels(),
                rated_on=form.cleaned_data["rated_on"],
                rated_by=access.person_of(request.user),
                status=status,
                anticipated_levels=form.anticipated_levels(),
                anticipated_by=form.cleaned_data.get("anticipated_by"),
                anticipated_changes=form.anticipated_changes(),
                hours=form.hours(),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, _rated(case, rating))
            return redirect(reverse("case_detail", args=[case.pk]) + "#rating")
    return render(
        request,
        "weighting/case_rate.html",
        {"case": case, "scheme": scheme, "form": form, "criteria": criteria},
    )


def _open_pause(case: Case) -> CasePause | None:
    return case.pauses.open().select_related("reason").first()


@require_http_methods(["GET", "POST"])
@once_per_form
def case_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause a case of a team the user manages, for a reason on its
    service's list."""
    case = access.get_case_for_manager(request.user, pk)
    pause = _open_pause(case)
    if pause is not None:
        messages.info(request, f"Case {case.reference} is already paused: {pause.reason.name}.")
        return redirect("case_detail", pk=case.pk)
    if not case.is_open:
        messages.info(request, f"Case {case.reference} is closed.")
        return redirect("case_detail", pk=case.pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    reasons = list(case.service.pause_reasons.offered().order_by("name"))
    form = PauseForm(request.POST or None, reasons=reasons)
    if request.method == "POST" and form.is_valid():
        try:
            pause = services.case_pause(
                case=case,
                reason=form.reasons[form.cleaned_data["reason"]],
                start_date=form.cleaned_data["start_date"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Case {case.reference} is paused from {long_date(pause.start_date)}: it counts "
                f"at ×{plain_number(pause.factor)} of its weight until "
                f"{long_date(pause.full_from)} unless you end the pause sooner.",
            )
            return redirect(reverse("case_detail", args=[case.pk]) + "#rating")
    return render(
        request, "weighting/case_pause.html", {"case": case, "form": form, "reasons": reasons}
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def case_unpause(request: HttpRequest, pk: int) -> HttpResponse:
    """End the pause of a case of a team the user manages."""
    case = access.get_case_for_manager(request.user, pk)
    pause = _open_pause(case)
    if pause is None:
        messages.info(request, f"Case {case.reference} is not paused.")
        return redirect("case_detail", pk=case.pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    form = UnpauseForm(request.POST or None, pause=pause)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_unpause(
                pause=pause,
                end_date=form.cleaned_data["end_date"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Case {case.reference} counts in full from "
                f"{long_date(form.cleaned_data['end_date'])}.",
            )
            return redirect(reverse("case_detail", args=[case.pk]) + "#rating")
    return render(
        request, "weighting/case_unpause.html", {"case": case, "form": form, "pause": pause}
    )
