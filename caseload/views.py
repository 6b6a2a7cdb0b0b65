"""Pages of the core domain: each role's home, teams, services and cases."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from caseload import access
from caseload.models import Case, Person, TeamMembership
from weighting.history import rating_history
from weighting.numbers import caseload_numbers, latest_rating, team_totals


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
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = access.get_team_for_user(request.user, pk)
    today = timezone.localdate()
    members = {p.pk: p for p in Person.objects.members_of(team, today)}
    numbers = caseload_numbers(members.values(), today)
    rows = sorted(
        ((members[pk], numbers[pk]) for pk in members),
        key=lambda row: row[0].full_name,
    )
    queue = [
        (case, (today - case.waiting_since).days)
        for case in Case.objects.unallocated()
        .for_team(team)
        .with_waiting_since()
        .order_by("priority", "waiting_since", "reference")
    ]
    return render(
        request,
        "caseload/team_detail.html",
        {
            "team": team,
            "rows": rows,
            "totals": team_totals(numbers.values(), members),
            "queue": queue,
            "longest_wait": max((days for _, days in queue), default=None),
            "managers": team.managers.order_by("full_name"),
            "manages": access.manages_team(request.user, team),
        },
    )


@require_GET
def my_caseload(request: HttpRequest) -> HttpResponse:
    person = access.person_of(request.user)
    if person is None:
        return redirect("no_role")
    today = timezone.localdate()
    allocations = (
        person.allocations.active_on(today)
        .select_related("case")
        .annotate(
            weight=Subquery(latest_rating(today).values("total")[:1]),
            rating_status=Subquery(latest_rating(today).values("status")[:1]),
        )
        .order_by("kind", "case__reference")
    )
    return render(
        request,
        "caseload/my_caseload.html",
        {
            "person": person,
            "allocations": allocations,
            "numbers": caseload_numbers([person], today)[person.pk],
        },
    )


@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    services = access.services_visible_to(request.user).annotate(team_count=Count("teams"))
    return render(request, "caseload/service_list.html", {"services": services})


@require_GET
def service_overview(request: HttpRequest, pk: int) -> HttpResponse:
    service = access.get_service_for_user(request.user, pk)
    today = timezone.localdate()
    members_today = TeamMembership.objects.active_on(today).filter(team=OuterRef("pk"))
    case_holding_fte = (
        members_today.filter(person__role__in=Person.CASE_HOLDING_ROLES)
        .values("team")
        .annotate(total=Sum("person__fte"))
        .values("total")
    )
    unallocated = (
        Case.objects.unallocated()
        .filter(team=OuterRef("pk"))
        .values("team")
        .annotate(n=Count("pk"))
        .values("n")
    )
    teams = service.teams.annotate(
        case_holding_fte=Coalesce(
            Subquery(case_holding_fte),
            Value(0),
            output_field=DecimalField(max_digits=6, decimal_places=2),
        ),
        open_cases=Count("cases", filter=Q(cases__status=Case.Status.OPEN)),
        unallocated=Coalesce(Subquery(unallocated), 0),
    ).order_by("name")
    return render(request, "caseload/service_overview.html", {"service": service, "teams": teams})


@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = access.get_case_for_user(request.user, pk)
    allocations = case.allocations.select_related("person", "allocated_by", "ended_by").order_by(
        "-start_date", "-pk"
    )
    ratings = rating_history(case)
    return render(
        request,
        "caseload/case_detail.html",
        {
            "case": case,
            "allocations": allocations,
            "ratings": ratings,
            "rating": ratings[0] if ratings else None,
            "can_rate": access.manages_team(request.user, case.team),
        },
    )


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and the compose stack: is the database answering?"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"database": "ok"})
