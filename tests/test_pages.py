"""The pages as a user meets them: sign in and out, homes, errors, the frame."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from allocation import services
from caseload import errors
from caseload.models import Person
from caseload.services import fte_change
from tests.conftest import days_ago
from tests.factories import CaseFactory, TeamFactory, member, reason_named
from weighting import services as weighting


def test_sign_in_lands_a_manager_on_their_team_page(client, team, team_manager, social_worker):
    response = client.post(
        reverse("login"),
        {"username": "manager", "password": "correct horse battery staple"},
        follow=True,
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("team_detail", args=[team.pk])
    assert '<h1 class="govuk-heading-l">Child Protection</h1>' in page
    assert "Asha Patel" in page
    assert "Claire Hughes – Team manager" in page


def test_a_wrong_password_gets_a_clear_message_and_no_session(client, team_manager):
    response = client.post(reverse("login"), {"username": "manager", "password": "nope"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "correct username and password" in page
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(client, team_manager):
    client.force_login(team_manager.user)
    response = client.post(reverse("logout"))
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_sign_out_is_not_a_get(client, team_manager):
    client.force_login(team_manager.user)
    assert client.get(reverse("logout")).status_code == 405


def test_unknown_pages_are_styled_404s(client, team_manager):
    client.force_login(team_manager.user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "govuk-template" in response.content.decode()


def test_every_page_carries_a_strict_content_security_policy(client, team_manager):
    client.force_login(team_manager.user)
    policy = client.get(reverse("home"), follow=True)["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy


def test_pages_load_no_inline_script(client, team_manager):
    client.force_login(team_manager.user)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert "<script>" not in page
    assert '<script type="module" src="/static/caseload/app.mjs">' in page


def test_no_crown_and_no_gds_transport(client, team_manager):
    client.force_login(team_manager.user)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert "Northshire Council" in page
    assert "crown" not in page.lower()
    with open("static/caseload/caseload.css") as stylesheet:
        css = stylesheet.read()
    assert "GDS Transport" not in css
    assert "govuk-crest.svg" not in css


def test_health_is_public_and_checks_the_database_and_redis(client, db, settings):
    """Redis down is answered too (tests/test_broker_faults.py)."""
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", **({"redis": "ok"} if settings.REDIS_URL else {})}
    settings.REDIS_URL = ""  # tasks run in-process: no Redis to ask
    assert client.get(reverse("health")).json() == {"database": "ok"}


def test_the_team_page_lists_members_and_the_queue(client, team, team_manager, held_case):
    urgent = CaseFactory(team=team, reference="CP-2000", priority=1, opened_on=days_ago(2))
    normal_old = CaseFactory(team=team, reference="CP-2001", priority=3, opened_on=days_ago(12))
    client.force_login(team_manager.user)
    page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "Asha Patel" in page
    # Urgent first, whatever the wait; the summary gives the longest wait.
    assert page.index(urgent.reference) < page.index(normal_old.reference)
    assert "longest wait 12 days" in page
    assert held_case.reference not in page  # it has a worker


def test_the_case_page_shows_the_allocation_history(client, held_case, team_manager, colleague):
    services.case_reallocate(
        case=held_case, to_person=colleague, on=days_ago(5), by=team_manager, reason="Sick leave"
    )
    client.force_login(team_manager.user)
    page = client.get(reverse("case_detail", args=[held_case.pk])).content.decode()
    assert "Sibling group, neglect" in page
    assert page.index("Daniel Reid") < page.index("Asha Patel")  # latest first
    assert "Sick leave" in page


def _team_of(team, size: int, manager: Person) -> None:
    for index in range(size):
        worker = member(team, full_name=f"Worker {index}", supervisor=manager)
        # Part-time since last month, and full-time again in a fortnight.
        for fte, start in ((Decimal("0.8"), days_ago(30)), (Decimal("1"), days_ago(-14))):
            fte_change(person=worker, fte=fte, start_date=start, recorded_by=manager)
        for number in range(3):
            case = CaseFactory(team=team, reference=f"T{team.pk}-{index}-{number}")
            services.allocation_create(
                case=case, person=worker, start_date=days_ago(10), allocated_by=manager
            )
    for number in range(size):
        CaseFactory(team=team, reference=f"Q{team.pk}-{number}")


@pytest.mark.parametrize("size", [5, 50])
def test_the_team_page_query_count_does_not_grow(
    client, team, team_manager, size, django_assert_max_num_queries
):
    _team_of(team, size, team_manager)
    client.force_login(team_manager.user)
    # 11 with its audit row, and 3 for the session's save after the sign-in.
    with django_assert_max_num_queries(14):
        response = client.get(reverse("team_detail", args=[team.pk]))
    assert response.content.decode().count('data-sort-value="Worker ') == size
    assert response.content.decode().count("</abbr>, part-time") == size  # today's FTE


@pytest.mark.parametrize("size", [3, 30])
def test_the_service_overview_query_count_does_not_grow(
    client, service, dmt_member, size, django_assert_max_num_queries
):
    for index in range(size):
        team = TeamFactory(service=service, name=f"Team {index:02}")
        manager = member(team, role=Person.Role.TEAM_MANAGER)
        _team_of(team, 2, manager)
    client.force_login(dmt_member.user)
    # 20, and 4 for next quarter's forecast (the people in the service's
    # teams, what they hold, their capacity, the vacancies counted).
    with django_assert_max_num_queries(24):
        response = client.get(reverse("service_overview", args=[service.pk]))
    assert response.content.decode().count("Team ") >= size


@pytest.mark.parametrize("size", [3, 15])
def test_my_caseload_query_count_does_not_grow(
    client, team, social_worker, default_scheme, size, django_assert_max_num_queries
):
    criteria = list(default_scheme.criteria.all())
    for number in range(size):
        case = CaseFactory(team=team, reference=f"M-{number}")
        services.allocation_create(
            case=case, person=social_worker, start_date=days_ago(4), allocated_by=None
        )
        if number % 2:  # half of them rated
            weighting.rating_create(
                case=case,
                levels={criterion.pk: Decimal(2) for criterion in criteria},
                rated_on=days_ago(2),
                rated_by=None,
                status="interim",
            )
    client.force_login(social_worker.user)
    # 12 with its audit row and the check-ins of the trend's weeks, and 3
    # for the session's save after the sign-in.
    with django_assert_max_num_queries(15):
        response = client.get(reverse("my_caseload"))
    assert response.content.decode().count(">M-") == size


def test_error_pages_are_in_the_service_style(rf, db):
    request = rf.get("/")
    request.user = AnonymousUser()
    forbidden = errors.permission_denied(request, PermissionDenied())
    assert forbidden.status_code == 403
    assert "You cannot do that" in forbidden.content.decode()
    broken = errors.server_error(request)
    assert broken.status_code == 500
    assert "Sorry, there is a problem with the service" in broken.content.decode()


def test_an_expired_form_explains_itself(team_manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team_manager.user)
    response = client.post(reverse("logout"))
    assert response.status_code == 403
    assert "Your form had expired" in response.content.decode()


def test_the_team_page_explains_capacity_and_gives_the_teams_used_percent(
    client, team, team_manager, held_case, colleague, student, default_scheme
):
    """Asha holds one unrated case (6 of 100); Daniel's capacity is reduced by
    10% (0 of 90); Ella, a student, has no capacity and sorts as the most used."""
    weighting.reduction_create(
        person=colleague,
        reason=reason_named(colleague, "Trade union duties"),
        start_date=days_ago(5),
        percentage=Decimal(10),
    )
    client.force_login(team_manager.user)
    page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "benchmark of 100 weighted points for one full-time worker" in page
    daniel = page.split('data-sort-value="Daniel Reid"')[1].split("</tr>")[0]
    assert "90.0" in daniel and "of 100.0: reduced" in daniel
    asha = page.split('data-sort-value="Asha Patel"')[1].split("</tr>")[0]
    assert "reduced" not in asha
    ella = page.split('data-sort-value="Ella Shah"')[1].split("</tr>")[0]
    assert 'data-sort-value="1000000">No capacity' in ella
    total = page.split("Team total")[1].split("</tr>")[0]
    assert ">3.2%<" in total  # 6 of 190


def test_every_page_links_to_the_accessibility_statement(client, team, team_manager):
    """The public sector bodies accessibility regulations require a statement;
    it is open to anyone, and every page's footer links to it."""
    statement = client.get(reverse("accessibility"))
    assert statement.status_code == 200
    text = statement.content.decode()
    assert "Accessibility statement for Caseload" in text
    assert "Equality and Human Rights Commission" in text
    assert "mailto:" in text
    link = f'href="{reverse("accessibility")}"'
    assert link in client.get(reverse("login")).content.decode()
    client.force_login(team_manager.user)
    assert link in client.get(reverse("team_detail", args=[team.pk])).content.decode()
