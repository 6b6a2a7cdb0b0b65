"""Pages of the allocation journey: the team page with its queue, a case
and its history, allocating a case to the worker with the most headroom,
transfers, moves, closing, involving others, and over-maximum reviews."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib import messages
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allocation import presenters, services
from allocation.forms import (
    CloseCaseForm,
    FactorStepForm,
    FteChangeForm,
    InvolveForm,
    LeavingForm,
    MoveTeamForm,
    NamePersonForm,
    NonCaseTimeForm,
    OverMaximumReviewForm,
    PlanClosingForm,
    PriorityForm,
    ProtectedTimeForm,
    RestrictionForm,
    TransferForm,
    VacancyForm,
)
from caseload import access, audit
from caseload import services as caseload_services
from caseload.dates import long_date
from caseload.models import Allocation, Case, NamedOnCase, Person
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from reports.models import CapacityIssue
from weighting.bands import Bands
from weighting.history import rating_history
from weighting.models import pause_annotations
from weighting.numbers import caseload_numbers
from weighting.schemes_in_force import latest_rating


@require_GET
@transaction.non_atomic_requests  # it reads, and writes one audit row: no BEGIN and COMMIT
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(
        request.user,
        pk,
        open_issues=presenters.count_of(CapacityIssue.objects.open().filter(team=OuterRef("pk"))),
    )
    if access.is_senior_manager(request.user):
        # DMT sees the team's numbers, never its case labels.
        return redirect("team_dashboard", pk=team.pk)
    context = presenters.team_page(team, timezone.localdate(), team.managed_by_user)
    if access.is_administrator(request.user):
        # The team's managers see all its cases; an administrator not the
        # restricted ones they are not named on.
        hidden = access.hidden_case_ids(request.user, [case.pk for case, _ in context["queue"]])
        for case, _ in context["queue"]:
            case.hidden = case.pk in hidden
    context["first_to_allocate"] = next(
        (case for case, _ in context["queue"] if not getattr(case, "hidden", False)), None
    )
    viewer = access.person_of(request.user)
    context["viewer_id"] = viewer.pk if viewer else None
    audit.record_listing(
        request.user, audit.Listing.TEAM, [case.pk for case, _ in context["queue"]]
    )
    return render(request, "allocation/team_detail.html", context)


@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk)
    audit.record(request.user, audit.Action.VIEW, case)
    allocations = case.allocations.select_related(
        "person", "allocated_by", "ended_by", "over_maximum"
    ).order_by("-start_date", "-pk")
    ratings = rating_history(case)
    can_manage = access.manages_team(request.user, case.team)
    pauses = list(
        case.pauses.select_related("reason", "paused_by", "ended_by").order_by("-start_date")
    )
    pause = next((p for p in pauses if p.is_open), None)
    return render(
        request,
        "allocation/case_detail.html",
        {
            "case": case,
            "allocations": allocations,
            "holder": next(
                (a for a in allocations if a.is_open and a.kind == Allocation.Kind.PRIMARY), None
            ),
            "ratings": ratings,
            "rating": ratings[0] if ratings else None,
            "can_manage": can_manage,
            "pauses": pauses,
            # The pause not yet ended, and whether it still counts at its factor.
            "pause": pause,
            "pause_counting": pause is not None and pause.counts_reduced_on(timezone.localdate()),
            "named": (
                [
                    entry.person.full_name
                    for entry in case.named.select_related("person").order_by("person__full_name")
                ]
                if case.restricted
                else []
            ),
            "priority_form": (
                PriorityForm(initial={"priority": case.priority}) if can_manage else None
            ),
        },
    )


def _case_to_manage(request: HttpRequest, pk: int) -> Case:
    """A case of a team the user manages; showing its page is audited."""
    case = access.get_case_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    return case


def _case_to_allocate(request: HttpRequest, pk: int, day: datetime.date) -> Case:
    """The case, with whether it has a worker now, whether anyone holds it on
    or after `day` (a worker whose allocation ends later), and the total of
    its latest rating on `day`. A form sent locks it until the allocation is
    saved, so what it is decided on stays as read."""
    primary = Allocation.objects.primary().filter(case=OuterRef("pk"))
    cases = access.cases_managed_by(request.user).annotate(
        has_worker=Exists(primary.open()),
        held_from_day=Exists(primary.filter(Q(end_date__isnull=True) | Q(end_date__gt=day))),
        rated_total=Subquery(latest_rating(day, "pk").values("total")[:1]),
        pause_factor=pause_annotations(day)["pause_factor"],
    )
    if request.method == "POST":
        cases = cases.select_for_update(of=("self",))
    return get_object_or_404(cases.select_related("team", "service"), pk=pk)


@require_http_methods(["GET", "POST"])
@once_per_form
def case_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    today = timezone.localdate()
    case = _case_to_allocate(request, pk, today)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    if not case.is_open or case.has_worker:
        messages.info(request, f"Case {case.reference} already has a worker, or is closed.")
        return redirect("case_detail", pk=case.pk)
    data = request.POST if request.method == "POST" else None
    form, worker, weight = presenters.allocate_form(case, today, data)
    if data is not None and form.is_valid():
        try:
            allocation = services.case_allocate(
                case=case,
                worker=worker,
                on=today,
                by=access.person_of(request.user),
                reason=form.cleaned_data["reason"],
                projection=form.cleaned_data["candidate"].projection,
                over_maximum=form.over_maximum_plan,
                criteria=form.criteria,
                levels=form.levels(),
                rating_holders=None if case.held_from_day else (),
                student=form.cleaned_data.get("student_person"),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            return redirect("allocation_done", pk=allocation.pk)
    return render(
        request,
        "allocation/case_allocate.html",
        {"case": case, "form": form, "weight": weight, "criteria": form.criteria},
    )


@require_GET
def allocation_done(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = access.get_allocation_for_manager(request.user, pk)
    next_case = (
        access.cases_managed_by(request.user)
        .unallocated()
        .for_team(allocation.case.team_id)
        .with_waiting_since()
        .order_by("priority", "waiting_since", "reference")
        .first()
    )
    audit.record(
        request.user,
        audit.Action.VIEW,
        allocation,
        also_shown=[next_case.pk] if next_case else [],
    )
    return render(
        request,
        "allocation/allocation_done.html",
        {
            "allocation": allocation,
            "percent_after": _percent(allocation.percent_after, allocation.person),
            "next_case": next_case,
        },
    )


def _percent(value: Decimal | None, person: Person) -> str:
    return Bands.of(person.service).percent_display(value)


@require_http_methods(["GET", "POST"])
@once_per_form
def case_transfer(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_manage(request, pk)
    current = case.allocations.primary().open().select_related("person").first()
    if not case.is_open or current is None:
        messages.info(request, f"Case {case.reference} has no worker to transfer from.")
        return redirect("case_detail", pk=case.pk)
    today = timezone.localdate()
    others = presenters.candidates(case, today, None)
    candidates = [c for c in others if c.person.pk != current.person_id]
    form = TransferForm(request.POST or None, candidates=candidates, criteria=[], students=[])
    if request.method == "POST" and form.is_valid():
        try:
            allocation = services.case_reallocate(
                case=case,
                to_person=form.cleaned_data["candidate"].person,
                on=today,
                by=access.person_of(request.user),
                reason=form.cleaned_data["reason"],
                over_maximum=form.over_maximum_plan,
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"Case {case.reference} transferred to {allocation.person.full_name}."
            )
            return redirect("case_detail", pk=case.pk)
    return render(
        request,
        "allocation/case_transfer.html",
        {"case": case, "current": current, "form": form},
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def case_move_team(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_manage(request, pk)
    form = MoveTeamForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid() and "confirm" not in request.POST:
        # Check before moving: the case leaves this team's hands.
        template = "allocation/case_move_team.html" if "change" in request.POST else None
        return render(
            request,
            template or "allocation/case_move_team_check.html",
            {
                "case": case,
                "form": form,
                "holders": case.allocations.open().select_related("person"),
            },
        )
    if request.method == "POST" and form.is_valid():
        try:
            move = caseload_services.case_move_team(
                case=case,
                to_team=form.cleaned_data["team"],
                on=timezone.localdate(),
                by=access.person_of(request.user),
                reason=form.cleaned_data["reason"],
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Case {case.reference} moved from {move.from_team} to {move.to_team}: it waits "
                f"in the {move.to_team} queue for a worker.",
            )
            return redirect("team_detail", pk=move.from_team_id)
    return render(request, "allocation/case_move_team.html", {"case": case, "form": form})


@require_http_methods(["GET", "POST"])
@once_per_form
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_manage(request, pk)
    if not case.is_open:
        messages.info(request, f"Case {case.reference} is already closed.")
        return redirect("case_detail", pk=case.pk)
    form = CloseCaseForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            caseload_services.case_close(
                case=case,
                closed_on=form.cleaned_data["closed_on"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Case {case.reference} closed.")
            return redirect("case_detail", pk=case.pk)
    return render(request, "allocation/case_close.html", {"case": case, "form": form})


PLAN_FORMS = ("leaving", "fte", "factor", "reduction", "allowance")


def _plan_forms(request: HttpRequest, person: Person, sent: str | None) -> dict:
    def data(name: str) -> object:
        return request.POST if name == sent else None

    # Reasons from the person's service's list, as it offers them today.
    reasons = list(person.service.reduction_reasons.offered()) if person.service else []
    # Each form's ids carry its name: several share field names (start_date,
    # hours_per_week), and a label must point at its own input.
    return {
        "leaving": LeavingForm(data("leaving"), auto_id="leaving-%s"),
        "fte": FteChangeForm(data("fte"), auto_id="fte-%s"),
        "factor": FactorStepForm(data("factor"), auto_id="factor-%s"),
        "reduction": ProtectedTimeForm(data("reduction"), reasons=reasons, auto_id="reduction-%s"),
        "allowance": NonCaseTimeForm(data("allowance"), auto_id="allowance-%s"),
    }


@require_http_methods(["GET", "POST"])
@once_per_form
def person_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """What is planned for someone in the manager's team: the day they leave,
    a change of FTE, an ASYE's next step, protected time to come. Forecasts
    read them."""
    person = access.get_person_for_manager(request.user, pk)
    today = timezone.localdate()
    membership = person.memberships.active_on(today).select_related("team").first()
    sent = next((name for name in PLAN_FORMS if name in request.POST), None)
    forms = _plan_forms(request, person, sent)
    if sent and membership and forms[sent].is_valid():
        try:
            said = forms[sent].save(person, membership.team, access.person_of(request.user))
        except RuleBroken as error:
            forms[sent].add_error(None, error)
        else:
            messages.success(request, said)
            return redirect("person_plan", pk=person.pk)
    context = {
        "person": person,
        "membership": membership,
        "forms": forms,
        "sent": forms[sent] if sent else None,
        "fte": presenters.fte_plan(person, today),
        "factors": person.experience_factors.exclude(end_date__lte=today),
        "reductions": person.reductions.exclude(end_date__lte=today).select_related("reason"),
        "allowances": person.non_case_allowances.exclude(end_date__lte=today),
    }
    return render(request, "allocation/person_plan.html", context)


@require_http_methods(["GET", "POST"])
@once_per_form
def team_vacancies(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's vacancies, and whether its forecast counts them: its managers'."""
    team = access.get_team_for_manager(request.user, pk)
    form = VacancyForm(request.POST if "add" in request.POST else None)
    if "counts" in request.POST:
        caseload_services.team_count_vacancies(team=team, counts=request.POST["counts"] == "yes")
        messages.success(request, "Saved whether the forecast counts vacancies.")
        return redirect("team_vacancies", pk=team.pk)
    if "remove" in request.POST:
        chosen = request.POST["remove"]
        vacancy = get_object_or_404(team.vacancies, pk=int(chosen) if chosen.isdigit() else 0)
        caseload_services.vacancy_remove(vacancy=vacancy)
        messages.success(request, "Vacancy removed.")
        return redirect("team_vacancies", pk=team.pk)
    if form.is_bound and form.is_valid():
        try:
            caseload_services.vacancy_add(
                team=team, by=access.person_of(request.user), **form.cleaned_data
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Vacancy recorded.")
            return redirect("team_vacancies", pk=team.pk)
    vacancies = team.vacancies.exclude(end_date__lte=timezone.localdate())
    return render(
        request,
        "allocation/team_vacancies.html",
        {"team": team, "form": form, "vacancies": vacancies},
    )


@require_http_methods(["GET", "POST"])
def case_plan_closing(request: HttpRequest, pk: int) -> HttpResponse:
    """Set or clear the day a case is expected to close, for forecasts."""
    case = _case_to_manage(request, pk)
    if not case.is_open:
        messages.info(request, f"Case {case.reference} is already closed.")
        return redirect("case_detail", pk=case.pk)
    clearing = request.method == "POST" and "clear" in request.POST
    form = PlanClosingForm(None if clearing else request.POST or None, case=case)
    if request.method == "POST" and (clearing or form.is_valid()):
        try:
            caseload_services.case_plan_closing(
                case=case,
                on=None if clearing else form.cleaned_data["planned_close_on"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Case {case.reference} has no planned closing date."
                if clearing
                else f"Case {case.reference} is planned to close on "
                f"{long_date(form.cleaned_data['planned_close_on'])}.",
            )
            return redirect("case_detail", pk=case.pk)
    return render(request, "allocation/case_plan_closing.html", {"case": case, "form": form})


@require_http_methods(["GET", "POST"])
@once_per_form
def case_involve(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_to_manage(request, pk)
    today = timezone.localdate()
    already = case.allocations.open().values("person_id")
    people = list(
        Person.objects.members_of(case.team, today)
        .filter(role__in=Person.INVOLVED_ROLES)
        .exclude(pk__in=already)
        .order_by("full_name")
    )
    form = InvolveForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        person = form.people[form.cleaned_data["person"]]
        try:
            services.allocation_create(
                case=case,
                person=person,
                kind=Allocation.Kind.INVOLVED,
                start_date=today,
                allocated_by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, f"{person.full_name} is now involved in case {case.reference}."
            )
            return redirect("case_detail", pk=case.pk)
    return render(request, "allocation/case_involve.html", {"case": case, "form": form})


@require_POST
@once_per_form
def allocation_end_involved(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = access.get_allocation_for_manager(request.user, pk)
    if allocation.kind != Allocation.Kind.INVOLVED:
        messages.error(request, "A primary worker is changed by transferring the case.")
        return redirect("case_detail", pk=allocation.case_id)
    try:
        caseload_services.allocation_end(
            allocation=allocation,
            end_date=timezone.localdate(),
            ended_by=access.person_of(request.user),
            reason="No longer involved",
        )
    except RuleBroken as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{allocation.person.full_name} is no longer involved in case {allocation.case}.",
        )
    return redirect("case_detail", pk=allocation.case_id)


@require_POST
def case_priority(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_manager(request.user, pk)
    form = PriorityForm(request.POST)
    if form.is_valid():
        caseload_services.case_set_priority(
            case=case, priority=form.cleaned_data["priority"], by=access.person_of(request.user)
        )
        messages.success(
            request, f"Case {case.reference} is now {case.get_priority_display().lower()} priority."
        )
    else:
        messages.error(request, "Choose urgent, high or normal.")
    return redirect("case_detail", pk=case.pk)


@require_http_methods(["GET", "POST"])
@once_per_form
def case_restriction(request: HttpRequest, pk: int) -> HttpResponse:
    """Restrict a case to the people who must see it, and name who else may."""
    case = _case_to_manage(request, pk)
    by = access.person_of(request.user)
    named = list(
        NamedOnCase.objects.filter(case=case).select_related("person").order_by("person__full_name")
    )
    people = list(
        Person.objects.filter(
            Q(service=case.service_id) | Q(role=Person.Role.ADMINISTRATOR), user__is_active=True
        )
        .exclude(pk__in=[entry.person_id for entry in named])
        .exclude(pk__in=case.team.managers.values("pk"))
        .order_by("full_name")
    )
    action = request.POST.get("action")
    restriction_form = RestrictionForm(
        request.POST if action == "restrict" else None,
        initial={"restricted": "yes" if case.restricted else "no"},
        auto_id="restriction-%s",
    )
    name_form = NamePersonForm(
        request.POST if action == "name" else None, people=people, auto_id="name-%s"
    )
    if request.method == "POST":
        try:
            if action == "restrict" and restriction_form.is_valid():
                restricted = restriction_form.cleaned_data["restricted"]
                caseload_services.case_restrict(case=case, restricted=restricted, by=by)
                messages.success(
                    request,
                    f"Case {case.reference} is restricted to the people who must see it."
                    if restricted
                    else f"Case {case.reference} is no longer restricted.",
                )
                return redirect("case_restriction", pk=case.pk)
            if action == "name" and name_form.is_valid():
                person = name_form.people[name_form.cleaned_data["person"]]
                caseload_services.case_name_person(case=case, person=person, by=by)
                messages.success(request, f"{person.full_name} can now see case {case.reference}.")
                return redirect("case_restriction", pk=case.pk)
            if action == "unname":
                entry = next(
                    (e for e in named if str(e.person_id) == request.POST.get("person")), None
                )
                if entry is None:
                    messages.error(request, "That person is not named on this case.")
                else:
                    caseload_services.case_unname_person(case=case, person=entry.person, by=by)
                    messages.success(
                        request,
                        f"{entry.person.full_name} is no longer named on case {case.reference}.",
                    )
                return redirect("case_restriction", pk=case.pk)
            if action not in ("restrict", "name"):
                messages.error(request, "Choose what to change.")
                return redirect("case_restriction", pk=case.pk)
        except RuleBroken as error:
            (restriction_form if action == "restrict" else name_form).add_error(None, error)
    return render(
        request,
        "allocation/case_restriction.html",
        {
            "case": case,
            "named": named,
            "restriction_form": restriction_form,
            "name_form": name_form,
        },
    )


@require_GET
def over_maximum_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    records = list(
        access.over_maximum_visible_to(request.user)
        .open()
        .select_related("person__service", "allocation__case", "created_by")
        .order_by("review_by", "pk")
    )
    audit.record_listing(
        request.user, audit.Listing.OVER_MAXIMUM, [r.allocation.case_id for r in records]
    )
    return render(
        request,
        "allocation/over_maximum_list.html",
        {
            "records": records,
            "today": today,
            "overdue": [r for r in records if r.review_by < today],
        },
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def over_maximum_review(request: HttpRequest, pk: int) -> HttpResponse:
    record = access.get_over_maximum_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, record.allocation)
    form = OverMaximumReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.over_maximum_review(
                record=record,
                reviewed_on=timezone.localdate(),
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                new_review_by=form.cleaned_data.get("new_review_by"),
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Review of {record.person.full_name}'s allocation recorded.")
            return redirect("over_maximum_list")
    numbers = caseload_numbers([record.person], timezone.localdate())[record.person_id]
    return render(
        request,
        "allocation/over_maximum_review.html",
        {
            "record": record,
            "form": form,
            "numbers": numbers,
            "reviews": record.reviews.select_related("reviewed_by"),
        },
    )
