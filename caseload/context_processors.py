"""What every page's frame shows: the council, the person signed in, their navigation."""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from caseload import access
from caseload.models import Person
from caseload.sessions import idle_seconds_left


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def _navigation(request: HttpRequest) -> list[NavItem]:
    user = request.user
    person = access.person_of(user)
    items: list[tuple[str, str]] = []
    role = person.role if person else None
    if role in Person.INVOLVED_ROLES:
        items.append(("My caseload", reverse("my_caseload")))
    if role == Person.Role.TEAM_MANAGER:
        items.append(("Team", access.home_url(user)))
        items.append(("Over maximum", reverse("over_maximum_list")))
        items.append(("Import", reverse("import_start")))
    if role in (*Person.INVOLVED_ROLES, Person.Role.TEAM_MANAGER):
        items.append(("Concerns", reverse("concern_list")))
        items.append(("Supervision", reverse("supervision_home")))
    if role == Person.Role.SENIOR_MANAGER and person.service_id:
        items.append(("Service", reverse("service_overview", args=[person.service_id])))
        items.append(("Teams", reverse("team_list")))
    if role in (Person.Role.TEAM_MANAGER, Person.Role.SENIOR_MANAGER):
        items.append(("Escalations", reverse("escalation_list")))
        items.append(("Decisions", reverse("decision_list")))
    if access.is_administrator(user):
        items.append(("Services", reverse("service_list")))
        items.append(("Import", reverse("import_start")))
        items.append(("Audit", reverse("audit_list")))
        items.append(("Admin", reverse("admin:index")))
    path = request.path
    return [NavItem(label, url, path.startswith(url)) for label, url in items]


def frame(request: HttpRequest) -> dict:
    context: dict = {"council_name": settings.COUNCIL_NAME}
    if request.user.is_authenticated:
        person = access.person_of(request.user)
        context["signed_in_as"] = person.full_name if person else request.user.get_username()
        context["signed_in_role"] = person.get_role_display() if person else ""
        context["navigation"] = _navigation(request)
        context["session_timeout_seconds"] = idle_seconds_left(request)
    return context
