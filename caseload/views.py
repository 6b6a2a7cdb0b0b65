"""Pages of the core domain: each role's home, teams, services and cases."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.db.models import Count, Exists, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload import access, audit, broker, services
from caseload.forms import (
    AllocateForm,
    Candidate,
    CloseCaseForm,
    InvolveForm,
    MoveTeamForm,
    OverMaximumReviewForm,
    PriorityForm,
    TransferForm,
    candidates_by_headroom,
    posted_weight,
)
from caseload.models import (
    Allocation,
    Case,
    CaseQuerySet,
    OverMaximum,
    Person,
    Team,
    TeamMembership,
)
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from caseload.sessions import renew_session
from reports.models import CapacityIssue
from supervision.models import SupervisionRecord, WorkloadConcern
from weighting import services as weighting
from weighting.history import rating_history
from weighting.models import Criterion, Rating
from weighting.numbers import (
    Bands,
    TeamTotals,
    allocation_numbers,
    caseload_numbers,
    latest_rating,
    project_allocation,
    projections,
    team_numbers,
    team_totals,
    unrated_weight,
)
from weighting.services import scheme_in_force


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect(access.home_url(request.user))


@require_GET
def no_role(request: HttpRequest) -> HttpResponse:
    return render(request, "caseload/no_role.html")


@require_GET
def team_list(request: HttpRequest) -> HttpResponse:
    teams = access.teams_visible_to(request.user).select_related("service")
    return render(request, "caseload/team_list.html", {"teams": teams})


@require_GET
@transaction.non_atomic_requests  # it reads, and writes one audit row: no BEGIN and COMMIT
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(
        request.user,
        pk,
        open_issues=_count(CapacityIssue.objects.open().filter(team=OuterRef("pk"))),
    )
    if access.is_senior_manager(request.user):
        # DMT sees the team's numbers, never its case labels.
        return redirect("team_dashboard", pk=team.pk)
    context = _team_page(team, timezone.localdate(), team.managed_by_user)
    audit.record_listing(
        request.user, audit.Listing.TEAM, [case.pk for case, _ in context["queue"]]
    )
    return render(request, "caseload/team_detail.html", context)


def _queue(team: Team) -> CaseQuerySet:
    """The cases waiting in the team's queue, the only cases its page shows."""
    return Case.objects.unallocated().for_team(team)


def _count(rows: QuerySet) -> Subquery:
    """How many of `rows` there are, as a subquery: `rows` is filtered by an
    OuterRef to the row it counts for (COUNT without GROUP BY: 0 when none)."""
    count = Func("pk", function="COUNT", output_field=IntegerField())
    return Subquery(rows.order_by().annotate(n=count).values("n"))


def _team_people(team: Team, today: datetime.date) -> list[Person]:
    """The team's members today and its managers, in one query, each with
    their service (its band thresholds) and what the page shows beside their
    numbers: their last and next supervision, their open over-maximum record
    (the earliest review date) and their open workload concerns."""
    is_member = Exists(
        TeamMembership.objects.active_on(today).filter(team=team, person=OuterRef("pk"))
    )
    manages = Exists(Team.managers.through.objects.filter(team=team, person=OuterRef("pk")))
    latest = SupervisionRecord.objects.filter(worker=OuterRef("pk")).order_by("-held_on", "-pk")
    over_maximum = (
        OverMaximum.objects.open().filter(person=OuterRef("pk")).order_by("review_by", "pk")
    )
    concerns = WorkloadConcern.objects.open().filter(person=OuterRef("pk"))
    return list(
        Person.objects.annotate(is_member=is_member, manages=manages)
        .filter(Q(is_member=True) | Q(manages=True))
        .select_related("service")
        .annotate(
            last_held=Subquery(latest.values("held_on")[:1]),
            next_due=Subquery(latest.values("next_supervision")[:1]),
            over_maximum_pk=Subquery(over_maximum.values("pk")[:1]),
            over_maximum_review_by=Subquery(over_maximum.values("review_by")[:1]),
            open_concerns=_count(concerns),
            overdue_concerns=_count(concerns.filter(respond_by__lt=today)),
        )
        .order_by("full_name", "pk")
    )


def _team_page(team: Team, today: datetime.date, manages: bool) -> dict:
    """What the team page shows: its people's numbers today, their
    supervision and concerns, the queue of cases waiting, DMT decisions."""
    people = _team_people(team, today)
    members = [person for person in people if person.is_member]
    numbers, scheme = team_numbers(members, today, team.service_id, team.pk)
    queue = [
        (case, (today - case.waiting_since).days)
        for case in _queue(team)
        .with_waiting_since()
        .annotate(weight=Subquery(latest_rating(today, "pk").values("total")[:1]))
        .order_by("priority", "waiting_since", "reference")
    ]
    totals = team_totals(numbers.values()).get(team.pk, TeamTotals())
    return {
        "team": team,
        "supervisions_overdue": sum(
            1
            for person in members
            if person.role in Person.INVOLVED_ROLES and (person.next_due or today) < today
        ),
        "open_concerns": sum(person.open_concerns for person in members),
        "overdue_concerns": sum(person.overdue_concerns for person in members),
        "rows": [
            (
                person,
                numbers[person.pk],
                {"pk": person.over_maximum_pk, "review_by": person.over_maximum_review_by}
                if person.over_maximum_pk
                else None,
                {"last_held": person.last_held, "next_due": person.next_due},
            )
            for person in members
        ],
        "over_maximum_count": totals.over_maximum,
        "today": today,
        "totals": totals,
        "above_aspiration": totals.above_aspiration(team.aspiration),
        "queue": queue,
        "unrated_weight": scheme.middle_total if scheme else None,
        "longest_wait": max((days for _, days in queue), default=None),
        "managers": [person for person in people if person.manages],
        "decisions": list(team.decisions.order_by("-meeting_on")[:3]),
        "open_issues": team.open_issues,
        "manages": manages,
    }


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    services = access.services_visible_to(request.user).annotate(team_count=Count("teams"))
    return render(request, "caseload/service_list.html", {"services": services})


@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk)
    audit.record(request.user, audit.Action.VIEW, case)
    allocations = case.allocations.select_related(
        "person", "allocated_by", "ended_by", "over_maximum"
    ).order_by("-start_date", "-pk")
    ratings = rating_history(case)
    can_manage = access.manages_team(request.user, case.team)
    return render(
        request,
        "caseload/case_detail.html",
        {
            "case": case,
            "allocations": allocations,
            "holder": next(
                (a for a in allocations if a.is_open and a.kind == Allocation.Kind.PRIMARY), None
            ),
            "ratings": ratings,
            "rating": ratings[0] if ratings else None,
            "can_manage": can_manage,
            "priority_form": (
                PriorityForm(initial={"priority": case.priority}) if can_manage else None
            ),
        },
    )


@require_POST
def session_keep_alive(request: HttpRequest) -> HttpResponse:
    """Renews the session's idle timer now; for the warning shown before an
    idle session ends."""
    renew_session(request)
    return HttpResponse(status=204)


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and the compose stack: is the database answering,
    and Redis? The site works without Redis (its sweeps catch up later), so
    Redis down is reported, within REDIS_TIMEOUT, and answered 200."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    answer = {"database": "ok"}
    if settings.REDIS_URL:
        answer["redis"] = "ok" if broker.redis_answers() else "down"
    return JsonResponse(answer)


# The allocation journey ------------------------------------------------------


def _candidates(
    case: Case, day: datetime.date, weight: Decimal | None, people: list[Person] | None = None
) -> list[Candidate]:
    """Case-holding members of the case's team (or `people`, read already), by
    headroom, with their numbers before and after taking the case."""
    if people is None:
        people = list(
            Person.objects.members_of(case.team, day)
            .filter(role__in=Person.CASE_HOLDING_ROLES)
            .select_related("supervisor", "service")
        )
    return candidates_by_headroom(people, project_allocation(case, people, day, weight))


def _workers_and_students(case: Case, day: datetime.date) -> tuple[list[Person], list[Person]]:
    """The team's case-holding members and its students, from one query."""
    members = list(
        Person.objects.members_of(case.team, day)
        .filter(role__in=[*Person.CASE_HOLDING_ROLES, Person.Role.STUDENT])
        .select_related("supervisor", "service")
        .order_by("full_name", "pk")
    )
    return (
        [p for p in members if p.role in Person.CASE_HOLDING_ROLES],
        [p for p in members if p.role == Person.Role.STUDENT],
    )


def _unrated_criteria(
    case: Case, day: datetime.date, scheme_id: int | None = None, rated: bool | None = None
) -> list:
    """The criteria of the team's scheme, when the case still needs a
    provisional rating (`scheme_id`: the version in force, and `rated`:
    whether the case has a rating on `day`, when read already)."""
    if rated is None:
        rated = case.ratings.filter(rated_on__lte=day).exists()
    if rated:
        return []
    if scheme_id is None:
        scheme = scheme_in_force(case.team, day)
        scheme_id = scheme.pk if scheme else None
    if scheme_id is None:
        return []
    # With their scheme: a provisional rating is made against it.
    return list(
        Criterion.objects.filter(scheme_id=scheme_id)
        .select_related("scheme")
        .prefetch_related("levels")
    )


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
    )
    if request.method == "POST":
        cases = cases.select_for_update(of=("self",))
    return get_object_or_404(cases.select_related("team", "service"), pk=pk)


def _worker_to_lock(request: HttpRequest, workers: list[Person]) -> int | None:
    """The worker the form names, if they are one of the candidates."""
    posted = request.POST.get("worker", "")
    return next((p.pk for p in workers if str(p.pk) == posted), None)


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
    workers, students = _workers_and_students(case, today)
    # The chosen worker is locked before their numbers are read: the
    # over-the-maximum decision is made on numbers no other allocation changes.
    worker_pk = _worker_to_lock(request, workers) if request.method == "POST" else None
    worker = services.lock_worker(worker_pk, case.team, today) if worker_pk else None
    numbers, schemes = allocation_numbers(case, workers, today)
    rated = case.rated_total is not None
    criteria = _unrated_criteria(
        case, today, schemes.scheme_id_for(case.service_id, case.team_id), rated
    )
    weight = posted_weight(request.POST, criteria)
    if rated:
        projected = Decimal(case.rated_total)
    else:
        projected = unrated_weight(case, schemes) if weight is None else weight
    form = AllocateForm(
        request.POST or None,
        candidates=candidates_by_headroom(workers, projections(case, numbers, projected)),
        criteria=criteria,
        students=students,
    )
    if request.method == "POST" and form.is_valid():
        manager = access.person_of(request.user)
        candidate = form.cleaned_data["candidate"]
        try:
            with transaction.atomic():
                if criteria:
                    weighting.rating_create(
                        case=case,
                        levels=form.levels(),
                        rated_on=today,
                        rated_by=manager,
                        status=Rating.Status.PROVISIONAL,
                        criteria=criteria,
                        holders=None if case.held_from_day else (),
                    )
                allocation = services.allocation_create(
                    case=case,
                    person=worker,
                    start_date=today,
                    allocated_by=manager,
                    reason=form.cleaned_data["reason"],
                    over_maximum=form.over_maximum_plan,
                    projection=candidate.projection,
                )
                student = form.cleaned_data.get("student_person")
                if student is not None:
                    services.allocation_create(
                        case=case,
                        person=student,
                        kind=Allocation.Kind.INVOLVED,
                        start_date=today,
                        allocated_by=manager,
                        reason=f"Student of {worker}",
                    )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            return redirect("allocation_done", pk=allocation.pk)
    return render(
        request,
        "caseload/case_allocate.html",
        {"case": case, "form": form, "weight": weight, "criteria": criteria},
    )


@require_GET
def allocation_done(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = access.get_allocation_for_manager(request.user, pk)
    next_case = (
        Case.objects.unallocated()
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
        "caseload/allocation_done.html",
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
    case = access.get_case_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    current = case.allocations.primary().open().select_related("person").first()
    if not case.is_open or current is None:
        messages.info(request, f"Case {case.reference} has no worker to transfer from.")
        return redirect("case_detail", pk=case.pk)
    today = timezone.localdate()
    candidates = [c for c in _candidates(case, today, None) if c.person.pk != current.person_id]
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
        "caseload/case_transfer.html",
        {"case": case, "current": current, "form": form},
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def case_move_team(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    form = MoveTeamForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            move = services.case_move_team(
                case=case,
                to_team=form.cleaned_data["team"],
                on=timezone.localdate(),
                by=access.person_of(request.user),
                reason=form.cleaned_data["reason"],
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Case {case.reference} moved to the {move.to_team} queue.")
            return redirect("team_detail", pk=move.from_team_id)
    return render(request, "caseload/case_move_team.html", {"case": case, "form": form})


@require_http_methods(["GET", "POST"])
@once_per_form
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
    if not case.is_open:
        messages.info(request, f"Case {case.reference} is already closed.")
        return redirect("case_detail", pk=case.pk)
    form = CloseCaseForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        try:
            services.case_close(
                case=case,
                closed_on=form.cleaned_data["closed_on"],
                by=access.person_of(request.user),
            )
        except RuleBroken as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Case {case.reference} closed.")
            return redirect("case_detail", pk=case.pk)
    return render(request, "caseload/case_close.html", {"case": case, "form": form})


@require_http_methods(["GET", "POST"])
@once_per_form
def case_involve(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_manager(request.user, pk)
    if request.method == "GET":
        audit.record(request.user, audit.Action.VIEW, case)
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
    return render(request, "caseload/case_involve.html", {"case": case, "form": form})


@require_POST
@once_per_form
def allocation_end_involved(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = access.get_allocation_for_manager(request.user, pk)
    if allocation.kind != Allocation.Kind.INVOLVED:
        messages.error(request, "A primary worker is changed by transferring the case.")
        return redirect("case_detail", pk=allocation.case_id)
    try:
        services.allocation_end(
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
        services.case_set_priority(
            case=case, priority=form.cleaned_data["priority"], by=access.person_of(request.user)
        )
        messages.success(
            request, f"Case {case.reference} is now {case.get_priority_display().lower()} priority."
        )
    else:
        messages.error(request, "Choose urgent, high or normal.")
    return redirect("case_detail", pk=case.pk)


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
        "caseload/over_maximum_list.html",
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
        "caseload/over_maximum_review.html",
        {
            "record": record,
            "form": form,
            "numbers": numbers,
            "reviews": record.reviews.select_related("reviewed_by"),
        },
    )
