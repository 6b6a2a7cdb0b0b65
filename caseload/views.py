"""Pages of the core app: each role's home, the lists of teams and
services, the session's keep-alive and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from caseload import access, broker
from caseload.sessions import renew_session


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
def service_list(request: HttpRequest) -> HttpResponse:
    services = access.services_visible_to(request.user).annotate(team_count=Count("teams"))
    return render(request, "caseload/service_list.html", {"services": services})


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


@login_not_required
@require_GET
def accessibility(request: HttpRequest) -> HttpResponse:
    """The accessibility statement the public sector bodies accessibility
    regulations require, open to anyone."""
    return render(
        request, "caseload/accessibility.html", {"contact": settings.ACCESSIBILITY_CONTACT}
    )
