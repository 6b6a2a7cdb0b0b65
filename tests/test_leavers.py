"""Leavers (issue 27): from the day someone's last team membership ends they
no longer sign in and their open cases return to the team's queue, every
record staying; the team's managers are told a week before."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from caseload import leavers
from caseload.models import Allocation, Case, LeavingNotice, TeamMembership
from caseload.notifications import send_pending
from caseload.services import membership_plan_end
from tests.factories import CaseFactory, member

TODAY = timezone.localdate
PASSWORD = "correct horse battery staple"


def signs_in(client, username: str) -> bool:
    client.logout()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    return response.status_code == 302


def ahead(days: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=days)


def left_today(person) -> None:
    """Their membership ends today: they left this morning."""
    TeamMembership.objects.filter(person=person, end_date__isnull=True).update(end_date=TODAY())


def test_the_managers_are_told_once_a_week_before(held_case, social_worker, team, team_manager):
    membership_plan_end(person=social_worker, team=team, end_date=ahead(5))
    assert leavers.tell_managers() == 1
    assert leavers.tell_managers() == 0  # a rerun tells no one twice
    send_pending()
    (email,) = [e for e in mail.outbox if "leaves" in e.subject]
    assert email.to == [team_manager.user.email]
    assert email.subject == f"Asha Patel leaves Child Protection on {ahead(5):%-d %B %Y}"
    assert "their 1 open case returns to the team's queue" in email.body
    assert f"/teams/{team.pk}/" in email.body
    assert LeavingNotice.objects.get().leaving_on == ahead(5)


def test_no_one_is_told_more_than_a_week_ahead(held_case, social_worker, team, team_manager):
    membership_plan_end(person=social_worker, team=team, end_date=ahead(8))
    assert leavers.tell_managers() == 0
    assert leavers.tell_managers(ahead(1)) == 1


def test_on_the_day_they_leave_their_cases_return_to_the_queue(held_case, social_worker, team):
    left_today(social_worker)
    assert leavers.return_cases() == 1
    allocation = Allocation.objects.get(case=held_case)
    assert allocation.end_date == TODAY()  # the record stays, ended that day
    assert "left Child Protection" in allocation.end_reason
    assert list(Case.objects.for_team(team).unallocated()) == [held_case]
    assert leavers.return_cases() == 0  # a rerun ends nothing twice


def test_someone_who_moves_team_is_not_a_leaver(held_case, social_worker, team, other_team):
    left_today(social_worker)
    TeamMembership.objects.create(person=social_worker, team=other_team, start_date=TODAY())
    assert not leavers.has_left(social_worker, TODAY())
    assert leavers.return_cases() == 0
    assert Allocation.objects.get(case=held_case).end_date is None


def test_a_leaver_no_longer_signs_in_and_their_session_ends(
    client, social_worker, colleague, dmt_member
):
    client.force_login(social_worker.user)
    assert client.get(reverse("my_caseload")).status_code == 200
    left_today(social_worker)
    response = client.get(reverse("my_caseload"))
    assert response.status_code == 302 and "/sign-in/" in response.url
    assert not signs_in(client, "worker")
    # Colleagues still in a team, and DMT (in no team), sign in as before.
    assert signs_in(client, "colleague")
    assert signs_in(client, "dmt")


def test_before_the_day_they_leave_they_sign_in(client, social_worker, team):
    membership_plan_end(person=social_worker, team=team, end_date=ahead(1))
    assert signs_in(client, "worker")


@pytest.mark.parametrize("people", [1, 8])
def test_the_jobs_queries_do_not_grow_with_the_leavers(
    team, team_manager, people, django_assert_max_num_queries
):
    for n in range(people):
        person = member(team, full_name=f"Leaver {n}")
        case = CaseFactory(team=team)
        Allocation.objects.create(case=case, person=person, kind="primary", start_date=ahead(-30))
        membership_plan_end(person=person, team=team, end_date=ahead(3))
    with django_assert_max_num_queries(8):
        assert leavers.tell_managers() == people


def test_someone_who_now_works_outside_a_team_is_not_a_leaver(
    client, held_case, social_worker, team_manager, team
):
    """Asha, promoted to DMT, ends her team membership; a manager who was a
    member of their team stays its manager. Both still sign in, and Asha's
    cases are moved by a manager, not by the leavers' job."""
    left_today(social_worker)
    social_worker.role = "senior_manager"
    social_worker.save(update_fields=["role"])
    TeamMembership.objects.create(
        person=team_manager, team=team, start_date=ahead(-100), end_date=TODAY()
    )
    assert not leavers.has_left(social_worker, TODAY())
    assert not leavers.has_left(team_manager, TODAY())
    assert signs_in(client, "worker")
    assert signs_in(client, "manager")
    assert leavers.return_cases() == 0
