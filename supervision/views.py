"""Pages of supervision: preparing for it, concerns, and the record."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload import access, audit
from caseload.dates import long_date
from caseload.models import Allocation, Case, Person
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from supervision import presenters, services
from supervision.access import (
    concerns_visible_to,
    get_concern_to_answer,
    get_record_for_user,
    supervision_records_visible_to,
    workload_views_visible_to,
)
from supervision.forms import (
    AddendumForm,
    ConcernForm,
    ConcernResponseForm,
    OpenRecordForm,
    ProposalForm,
    RecordForm,
    WorkerSignForm,
    WorkloadViewForm,
    next_supervision_label,
)
from supervision.models import SupervisionRecord
from weighting.history import RatingView, ratings_of
from weighting.models import Level
from weighting.numbers import caseload_numbers
from weighting.services import scheme_in_force


def _person(request: HttpRequest) -> Person:
    person = access.person_of(request.user)
    if person is None:
        raise PermissionDenied
    return person


# The worker's home ---------------------------------------------------------------


@require_GET
@transaction.non_atomic_requests  # it reads, and writes one audit row: no BEGIN and COMMIT
def my_caseload(request: HttpRequest) -> HttpResponse:
    """Every case the worker holds or is involved in, with its rating, and
    their numbers now and over the last 12 weeks, ready for supervision."""
    person = access.person_of(request.user)
    if person is None:
        return redirect("no_role")
    context = presenters.my_caseload(person, timezone.localdate())
    shown = [row.case_id for row in context["rows"]]
    audit.record_listing(request.user, audit.Listing.MY_CASELOAD, shown)
    return render(request, "supervision/my_caseload.html", context)


# Preparing for supervision ----------------------------------------------------


@require_http_methods(["GET", "POST"])
@once_per_form
def workload_view(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    form = WorkloadViewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.workload_view_record(
            person=person, scale=form.cleaned_data["scale"], comment=form.cleaned_data["comment"]
        )
        messages.success(request, "Your view of your workload is recorded for your supervisor.")
        return redirect("my_caseload")
    latest = workload_views_visible_to(request.user).filter(person=person).first()
    return render(request, "supervision/workload_view.html", {"form": form, "latest": latest})


@require_http_methods(["GET", "POST"])
@once_per_form
def case_propose(request: HttpRequest, pk: int) -> HttpResponse:
    person = _person(request)
    held = Allocation.objects.primary().open().filter(person=person).values("case_id")
    case = get_object_or_404(Case.objects.filter(pk__in=held).select_related("team"), pk=pk)
    scheme = scheme_in_force(case.team)
    if scheme is None:
        messages.error(request, f"{case.team} has no agreed weighting scheme yet.")
        return redirect("my_caseload")
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    criteria = list(
        scheme.criteria.prefetch_related(
            Prefetch("levels", queryset=Level.objects.order_by("value"))
        )
    )
    current = services.current_levels(case, timezone.localdate())
    initial = {f"level_{k}": v for k, v in current.items()}
    form = ProposalForm(request.POST or None, criteria=criteria, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.proposal_create(
                case=case, person=person, levels=form.levels(), why=form.cleaned_data["why"]
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                f"Your proposed rating for {case.reference} is ready for your next supervision.",
            )
            return redirect("my_caseload")
    return render(request, "supervision/case_propose.html", {"case": case, "form": form})


# Workload concerns --------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@once_per_form
def concern_raise(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    form = ConcernForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        concern = services.concern_raise(person=person, concern=form.cleaned_data["concern"])
        messages.success(
            request,
            "Your concern is recorded and your supervisor and team manager have been told. "
            f"They should respond by {long_date(concern.respond_by)}.",
        )
        return redirect("concern_list")
    return render(request, "supervision/concern_raise.html", {"form": form})


@require_GET
def concern_list(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    concerns = list(concerns_visible_to(request.user).select_related("person", "responded_by"))
    return render(
        request,
        "supervision/concern_list.html",
        {
            "own": [c for c in concerns if c.person_id == person.pk],
            "others": [c for c in concerns if c.person_id != person.pk],
            "today": timezone.localdate(),
        },
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def concern_respond(request: HttpRequest, pk: int) -> HttpResponse:
    concern = get_concern_to_answer(request.user, pk)
    form = ConcernResponseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.concern_respond(
                concern=concern, response=form.cleaned_data["response"], by=_person(request)
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Your response to {concern.person} is recorded.")
            return redirect("concern_list")
    return render(
        request,
        "supervision/concern_respond.html",
        {"concern": concern, "form": form, "today": timezone.localdate()},
    )


# The supervision record --------------------------------------------------------


@require_GET
def supervision_home(request: HttpRequest) -> HttpResponse:
    person = _person(request)
    today = timezone.localdate()
    latest = SupervisionRecord.objects.held_for(OuterRef("pk"))
    drafts = SupervisionRecord.objects.filter(worker=OuterRef("pk"), status="draft").order_by(
        "-held_on"
    )
    supervisees = list(
        access.supervisees_of(request.user)
        .annotate(
            last_held=Subquery(latest.values("held_on")[:1]),
            next_due=Subquery(latest.values("next_supervision")[:1]),
            latest_id=Subquery(latest.values("pk")[:1]),
            draft_id=Subquery(drafts.values("pk")[:1]),
            draft_held_on=Subquery(drafts.values("held_on")[:1]),
        )
        .order_by("full_name")
    )
    own = list(
        supervision_records_visible_to(request.user)
        .filter(worker=person)
        .select_related("supervisor")
    )
    held = [record for record in own if not record.is_draft]
    return render(
        request,
        "supervision/home.html",
        {
            "person": person,
            "own": own,
            "next_label": next_supervision_label(held[0].next_supervision, today) if held else "",
            "supervisees": [
                (s, next_supervision_label(s.next_due, today), s.next_due and s.next_due < today)
                for s in supervisees
            ],
            "today": today,
        },
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def record_new(request: HttpRequest, worker_pk: int) -> HttpResponse:
    worker = get_object_or_404(access.supervisees_of(request.user), pk=worker_pk)
    form = OpenRecordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.record_open(
                worker=worker, supervisor=_person(request), held_on=form.cleaned_data["held_on"]
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            return redirect("record_detail", pk=record.pk)
    return render(request, "supervision/record_new.html", {"worker": worker, "form": form})


def _record_context(record: SupervisionRecord) -> dict:
    items = list(
        record.items.select_related("case__team", "proposal", "rating").prefetch_related(
            "proposal__levels__level", "proposal__levels__criterion"
        )
    )
    criteria_by_case = services.criteria_by_case(items, record.held_on)
    latest: dict[int, RatingView] = {}
    for view in ratings_of([item.case_id for item in items], record.held_on):
        latest.setdefault(view.rating.case_id, view)
    for item in items:
        item.current = latest.get(item.case_id)
    return {
        "record": record,
        "items": [item for item in items if not item.involved],
        "involved": [item for item in items if item.involved],
        "scheme_criteria": next(iter(criteria_by_case.values()), []),
        "criteria_by_case": criteria_by_case,
        "over_maximum": services.over_maximum_for_record(record),
        "numbers": caseload_numbers([record.worker], record.held_on)[record.worker_id],
        "addenda": record.addenda.select_related("author"),
    }


def _audit_view(request: HttpRequest, context: dict) -> None:
    """The record's view row, naming the cases its page lists: its items and
    the over-maximum allocations."""
    shown = [item.case_id for item in [*context["items"], *context["involved"]]]
    shown += [over.allocation.case_id for over in context["over_maximum"]]
    audit.record(request.user, audit.Action.VIEW, context["record"], also_shown=shown)


@require_http_methods(["GET", "POST"])
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_record_for_user(request.user, pk)
    person = _person(request)
    context = _record_context(record)
    if request.method == "GET":
        _audit_view(request, context)
    if record.is_draft and person.pk == record.supervisor_id:
        context["attention"] = presenters.needs_attention(
            record, context["items"], context["over_maximum"]
        )
        signing = "sign" in request.POST
        form = RecordForm(
            request.POST or None,
            record=record,
            items=context["items"],
            criteria_by_case=context["criteria_by_case"],
            signing=signing,
        )
        if request.method == "POST" and form.is_valid() and form.save(sign=signing, by=person):
            if signing:
                messages.success(
                    request,
                    f"Signed. The agreed ratings have taken effect; {record.worker} has "
                    "been asked to sign.",
                )
            else:
                messages.success(request, "Draft saved.")
            return redirect("record_detail", pk=record.pk)
        return render(request, "supervision/record_edit.html", {**context, "form": form})
    if request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "supervision/record_view.html",
        {**context, **presenters.record_view_forms(record, person)},
    )


@require_POST
@once_per_form
def record_sign(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_record_for_user(request.user, pk)
    form = WorkerSignForm(request.POST)
    if form.is_valid():
        try:
            services.record_sign_worker(
                record=record,
                by=_person(request),
                disagreement=(
                    form.cleaned_data["disagreement"]
                    if form.cleaned_data["agreement"] == "disagree"
                    else ""
                ),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "You have signed the record.")
            return redirect("record_detail", pk=record.pk)
    return render(
        request,
        "supervision/record_view.html",
        {**_record_context(record), "sign_form": form, "addendum_form": None},
    )


@require_POST
@once_per_form
def record_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_record_for_user(request.user, pk)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(
                record=record, author=_person(request), text=form.cleaned_data["text"]
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Addendum added.")
            return redirect("record_detail", pk=record.pk)
    return render(
        request,
        "supervision/record_view.html",
        {**_record_context(record), "sign_form": None, "addendum_form": form},
    )


@require_GET
def record_print(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_record_for_user(request.user, pk)
    if record.is_draft:
        raise PermissionDenied
    context = _record_context(record)
    _audit_view(request, context)
    return render(request, "supervision/record_print.html", context)


@require_GET
def record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_record_for_user(request.user, pk)
    if record.is_draft:
        raise PermissionDenied
    context = _record_context(record)
    _audit_view(request, context)
    from caseload.pdf import html_to_pdf  # WeasyPrint loads only when a PDF is asked for

    html = render_to_string("supervision/record_print.html", {**context, "for_pdf": True}, request)
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="supervision-{record.held_on:%Y-%m-%d}-{record.worker_id}.pdf"'
    )
    return response
