"""Who may see what (DESIGN.md): every page for its owner, a colleague and an
outsider. Outside your scope a record does not exist: 404, not 403."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from allocation import services
from caseload import access
from caseload.models import Person
from reports.access import decisions_visible_to, escalations_visible_to
from supervision.access import (
    concerns_visible_to,
    supervision_records_visible_to,
    workload_views_visible_to,
)
from tests.conftest import days_ago
from tests.factories import CaseFactory, member


@pytest.fixture
def client_for(client):
    def sign_in(person: Person | None):
        client.logout()
        if person is not None:
            client.force_login(person.user)
        return client

    return sign_in


def status(client, url: str) -> int:
    return client.get(url).status_code


@pytest.mark.parametrize(
    "url_name", ["home", "my_caseload", "team_list", "service_list", "no_role"]
)
def test_anonymous_users_are_sent_to_sign_in(client, db, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_users_cannot_open_records(client, held_case, team, service):
    for url in (
        reverse("case_detail", args=[held_case.pk]),
        reverse("team_detail", args=[team.pk]),
        reverse("service_overview", args=[service.pk]),
        reverse("admin:caseload_case_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "sign-in" in response["Location"]


def test_each_role_lands_on_its_home(
    client_for, team, team_manager, social_worker, dmt_member, administrator, service
):
    expected = {
        team_manager: reverse("team_detail", args=[team.pk]),
        social_worker: reverse("my_caseload"),
        dmt_member: reverse("service_overview", args=[service.pk]),
        administrator: reverse("service_list"),
    }
    for person, home in expected.items():
        response = client_for(person).get(reverse("home"))
        assert response["Location"] == home, person


def test_a_manager_of_several_teams_lands_on_their_list(client_for, team, other_team, team_manager):
    other_team.managers.add(team_manager)
    assert client_for(team_manager).get(reverse("home"))["Location"] == reverse("team_list")
    page = client_for(team_manager).get(reverse("team_list")).content.decode()
    assert "Child Protection" in page and "Looked After Children" in page


def test_a_login_without_a_person_record_is_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("newcomer", password="x")
    client.force_login(user)
    assert client.get(reverse("home"))["Location"] == reverse("no_role")
    assert "no role yet" in client.get(reverse("no_role")).content.decode()


def test_the_case_page_by_role(
    client_for,
    held_case,
    social_worker,
    colleague,
    student,
    outsider,
    team_manager,
    other_manager,
    dmt_member,
    administrator,
):
    url = reverse("case_detail", args=[held_case.pk])
    expected = {
        social_worker: 200,  # holds it
        team_manager: 200,  # manages its team (and supervises the holder)
        administrator: 200,
        colleague: 404,  # same team, not involved
        student: 404,  # not involved (yet)
        outsider: 404,  # another team
        other_manager: 404,  # manages another team
        dmt_member: 404,  # DMT sees numbers, never case labels
    }
    assert {p: status(client_for(p), url) for p in expected} == expected


def test_an_involved_student_and_their_supervisor_see_the_case(
    client_for, held_case, student, social_worker
):
    services.allocation_create(
        case=held_case, person=student, kind="involved", start_date=days_ago(1), allocated_by=None
    )
    url = reverse("case_detail", args=[held_case.pk])
    assert status(client_for(student), url) == 200


def test_a_supervisor_who_is_not_the_manager_sees_supervisees_cases(
    client_for, team, held_case, social_worker
):
    senior = member(team, full_name="Senior Practitioner")
    social_worker.supervisor = senior
    social_worker.save()
    assert status(client_for(senior), reverse("case_detail", args=[held_case.pk])) == 200


def test_a_case_page_closes_once_the_worker_no_longer_holds_it(
    client_for, held_case, social_worker, colleague
):
    services.case_reallocate(
        case=held_case, to_person=colleague, on=days_ago(0), by=None, reason="Moved"
    )
    url = reverse("case_detail", args=[held_case.pk])
    assert status(client_for(social_worker), url) == 404
    assert status(client_for(colleague), url) == 200


def test_the_team_page_by_role(
    client_for,
    team,
    social_worker,
    outsider,
    team_manager,
    other_manager,
    dmt_member,
    other_dmt_member,
    administrator,
):
    url = reverse("team_detail", args=[team.pk])
    expected = {
        team_manager: 200,
        dmt_member: 302,  # to the team's dashboard: no case labels for DMT
        administrator: 200,
        social_worker: 404,  # workers see their own numbers only
        outsider: 404,
        other_manager: 404,
        other_dmt_member: 404,  # another service
    }
    assert {p: status(client_for(p), url) for p in expected} == expected


def test_the_service_overview_by_role(
    client_for, service, team_manager, social_worker, dmt_member, other_dmt_member, administrator
):
    url = reverse("service_overview", args=[service.pk])
    expected = {
        dmt_member: 200,
        administrator: 200,
        other_dmt_member: 404,
        team_manager: 404,
        social_worker: 404,
    }
    assert {p: status(client_for(p), url) for p in expected} == expected


def test_the_service_list_shows_each_role_its_own_services(
    client_for, service, dmt_member, other_dmt_member, administrator, team_manager
):
    ours, theirs = escape(service.name), escape(other_dmt_member.service.name)
    everything = client_for(administrator).get(reverse("service_list")).content.decode()
    assert ours in everything and theirs in everything
    own = client_for(dmt_member).get(reverse("service_list")).content.decode()
    assert ours in own and theirs not in own
    none = client_for(team_manager).get(reverse("service_list")).content.decode()
    assert ours not in none and theirs not in none


def test_my_caseload_shows_only_my_cases(client_for, team, held_case, social_worker, colleague):
    theirs = CaseFactory(team=team, reference="CP-2001")
    services.allocation_create(
        case=theirs, person=colleague, start_date=days_ago(3), allocated_by=None
    )
    mine = client_for(social_worker).get(reverse("my_caseload")).content.decode()
    assert "CP-1042" in mine and "CP-2001" not in mine
    theirs_page = client_for(colleague).get(reverse("my_caseload")).content.decode()
    assert "CP-2001" in theirs_page and "CP-1042" not in theirs_page


def test_only_administrators_reach_the_admin(
    client_for, team_manager, social_worker, administrator
):
    url = reverse("admin:index")
    assert status(client_for(administrator), url) == 200
    for person in (team_manager, social_worker):
        response = client_for(person).get(url)
        assert response.status_code == 302 and "admin/login" in response["Location"]


def test_people_visible_to_follows_the_policy(
    team, social_worker, colleague, outsider, student, team_manager, dmt_member, administrator
):
    def names(person):
        return set(access.people_visible_to(person.user).values_list("full_name", flat=True))

    assert names(social_worker) == {"Asha Patel", "Ella Shah"}  # herself and her student
    assert names(colleague) == {"Daniel Reid"}
    assert names(team_manager) >= {"Asha Patel", "Daniel Reid", "Ella Shah"}
    assert "Katie Lewis" not in names(team_manager)
    assert "Katie Lewis" in names(dmt_member)
    assert access.people_visible_to(administrator.user).count() == Person.objects.count()


def test_a_senior_manager_in_no_service_sees_no_one_s_records(
    client_for, dmt_member, administrator, social_worker, team
):
    """A senior manager not yet given a service sees nothing, not the records
    of everyone else who has no service (administrators, new starters)."""
    Person.objects.filter(pk=dmt_member.pk).update(service=None)
    user = Person.objects.get(pk=dmt_member.pk).user
    assert not access.people_visible_to(user).exists()
    assert not access.teams_visible_to(user).exists()
    assert not access.services_visible_to(user).exists()
    assert not escalations_visible_to(user).exists()
    assert not decisions_visible_to(user).exists()
    response = client_for(dmt_member).get(reverse("person_dashboard", args=[administrator.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("fixture", ["administrator", "dmt_member"])
def test_a_supervisor_link_from_before_the_rule_opens_no_supervision_record(
    client_for, social_worker, team_manager, fixture, request
):
    """Administrators and senior managers supervise nobody: a link recorded
    before that rule (here written past the rules) still gives them no
    supervision record, view of workload or concern."""
    from supervision import services as supervision

    record = supervision.record_open(
        worker=social_worker, supervisor=team_manager, held_on=days_ago(1)
    )
    supervision.workload_view_record(person=social_worker, scale=4, comment="Stretched")
    supervision.concern_raise(person=social_worker, concern="Too many court reports")
    legacy = request.getfixturevalue(fixture)
    Person.objects.filter(pk=social_worker.pk).update(supervisor=legacy)
    user = legacy.user
    assert not supervision_records_visible_to(user).exists()
    assert not workload_views_visible_to(user).exists()
    assert not concerns_visible_to(user).exists()
    assert not access.supervisees_of(user).exists()
    client = client_for(legacy)
    assert client.get(reverse("record_detail", args=[record.pk])).status_code == 404
    assert client.get(reverse("record_new", args=[social_worker.pk])).status_code == 404
