"""The administration pages write through the same rules as everything else."""

import pytest
from django.urls import reverse

from caseload.models import Allocation, Case, Person, TeamMembership
from tests.conftest import days_ago, primary_holders
from tests.factories import member


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator.user)
    return client


def add_allocation(admin_client, case, person, kind="primary"):
    return admin_client.post(
        reverse("admin:caseload_allocation_add"),
        {
            "case": case.pk,
            "person": person.pk,
            "kind": kind,
            "start_date": days_ago(2).strftime("%d/%m/%Y"),
            "reason": "Allocated in the admin",
        },
    )


def test_an_administrator_allocates_through_the_rules(
    admin_client, case, social_worker, administrator
):
    response = add_allocation(admin_client, case, social_worker)
    assert response.status_code == 302
    allocation = Allocation.objects.get(case=case)
    assert allocation.person == social_worker
    assert allocation.allocated_by == administrator


def test_the_admin_refuses_a_student_as_primary_worker(admin_client, case, student):
    response = add_allocation(admin_client, case, student)
    assert response.status_code == 200
    assert "students are recorded as involved workers" in response.content.decode()
    assert not Allocation.objects.exists()


def test_the_admin_refuses_a_second_primary_worker(admin_client, held_case, colleague):
    response = add_allocation(admin_client, held_case, colleague)
    assert "already allocated to Asha Patel" in response.content.decode()
    assert primary_holders(held_case)[0].full_name == "Asha Patel"


def test_the_admin_refuses_a_team_manager_holding_cases(admin_client, case, team, team_manager):
    TeamMembership.objects.create(person=team_manager, team=team, start_date=days_ago(100))
    response = add_allocation(admin_client, case, team_manager)
    assert "carries no cases" in response.content.decode()
    assert not Allocation.objects.exists()


def test_allocations_cannot_be_edited_in_the_admin(admin_client, held_case, colleague):
    allocation = held_case.allocations.get()
    admin_client.post(
        reverse("admin:caseload_allocation_change", args=[allocation.pk]),
        {"person": colleague.pk, "start_date": days_ago(1).strftime("%d/%m/%Y")},
    )
    allocation.refresh_from_db()
    assert allocation.person.full_name == "Asha Patel"
    assert allocation.start_date == days_ago(60)


def test_allocations_cannot_be_deleted_in_the_admin(admin_client, held_case):
    allocation = held_case.allocations.get()
    response = admin_client.post(
        reverse("admin:caseload_allocation_delete", args=[allocation.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Allocation.objects.filter(pk=allocation.pk).exists()


def test_ending_allocations_is_an_admin_action(admin_client, held_case, administrator):
    allocation = held_case.allocations.get()
    admin_client.post(
        reverse("admin:caseload_allocation_changelist"),
        {"action": "end_today", "_selected_action": [allocation.pk]},
    )
    allocation.refresh_from_db()
    assert allocation.end_date == days_ago(0)
    assert allocation.ended_by == administrator


def test_closing_cases_is_an_admin_action(admin_client, held_case):
    admin_client.post(
        reverse("admin:caseload_case_changelist"),
        {"action": "close_today", "_selected_action": [held_case.pk]},
    )
    held_case.refresh_from_db()
    assert held_case.status == Case.Status.CLOSED
    assert held_case.allocations.get().end_date == days_ago(0)


def person_form(person, **changes):
    data = {
        "user": person.user.pk,
        "full_name": person.full_name,
        "role": person.role,
        "service": person.service_id or "",
        "fte": str(person.fte),
        "supervisor": person.supervisor_id or "",
        "asye_start_date": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_the_admin_refuses_making_a_case_holder_a_team_manager(
    admin_client, held_case, social_worker
):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, role="team_manager"),
    )
    assert "primary worker on open cases" in response.content.decode()
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.SOCIAL_WORKER


def test_the_admin_changes_a_role_the_rules_allow(admin_client, social_worker):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, role="team_manager"),
    )
    assert response.status_code == 302
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.TEAM_MANAGER


def test_the_admin_moves_a_person_between_teams(admin_client, social_worker, team, other_team):
    response = admin_client.post(
        reverse("admin:caseload_teammembership_add"),
        {
            "person": social_worker.pk,
            "team": other_team.pk,
            "start_date": days_ago(3).strftime("%d/%m/%Y"),
        },
    )
    assert response.status_code == 302
    history = list(social_worker.memberships.order_by("start_date").values_list("team", "end_date"))
    assert history == [(team.pk, days_ago(3)), (other_team.pk, None)]


def test_the_admin_refuses_a_case_opened_in_the_future(admin_client, team):
    response = admin_client.post(
        reverse("admin:caseload_case_add"),
        {
            "team": team.pk,
            "reference": "CP-9999",
            "label": "Referral",
            "case_type": "cin",
            "people_count": "1",
            "priority": "3",
            "opened_on": days_ago(-3).strftime("%d/%m/%Y"),
        },
    )
    assert "cannot be opened in the future" in response.content.decode()
    assert not Case.objects.filter(reference="CP-9999").exists()


@pytest.mark.parametrize(
    "model", ["service", "team", "person", "teammembership", "case", "allocation"]
)
def test_every_model_has_an_admin_page(admin_client, model, held_case):
    assert admin_client.get(reverse(f"admin:caseload_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:caseload_{model}_add")).status_code == 200


@pytest.mark.parametrize(
    "model", ["scheme", "criterion", "level", "rating", "experiencefactor", "reduction"]
)
def test_every_weighting_model_has_an_admin_page(admin_client, model, default_scheme):
    assert admin_client.get(reverse(f"admin:weighting_{model}_changelist")).status_code == 200


def test_agreed_schemes_and_ratings_are_read_only_in_the_admin(admin_client, default_scheme):
    assert admin_client.get(reverse("admin:weighting_scheme_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:weighting_scheme_change", args=[default_scheme.pk]), {"benchmark": "1"}
    )
    assert response.status_code == 403
    default_scheme.refresh_from_db()
    assert default_scheme.benchmark == 100
    assert admin_client.get(reverse("admin:weighting_rating_add")).status_code == 403


def test_the_admin_records_protected_time_through_the_rules(
    admin_client, social_worker, administrator
):
    def add(reason, **amount):
        return admin_client.post(
            reverse("admin:weighting_reduction_add"),
            {
                "person": social_worker.pk,
                "reason": reason,
                "detail": "",
                "start_date": days_ago(10).strftime("%d/%m/%Y"),
                "end_date": "",
                "hours_per_week": "",
                "percentage": "",
                **amount,
            },
        )

    assert add("training", hours_per_week="2").status_code == 302
    refused = add("training", percentage="5")
    assert "already has training time in that period" in refused.content.decode()
    both = add("union_duties", hours_per_week="2", percentage="5")
    assert "not both" in both.content.decode()
    assert social_worker.reductions.get().recorded_by == administrator


def test_the_admin_records_an_experience_factor_and_keeps_history(admin_client, team):
    asye = member(team, role="asye")

    def agree(factor, days):
        return admin_client.post(
            reverse("admin:weighting_experiencefactor_add"),
            {
                "person": asye.pk,
                "factor": factor,
                "start_date": days_ago(days).strftime("%d/%m/%Y"),
                "reason": "Agreed in supervision",
            },
        )

    assert agree("0.8", 100).status_code == 302
    assert agree("0.9", 10).status_code == 302
    assert "above 0, up to 1" in agree("1.5", 5).content.decode()
    assert "a new one must start after that" in agree("0.95", 20).content.decode()
    history = list(asye.experience_factors.order_by("start_date").values_list("factor", "end_date"))
    assert [(str(f), e) for f, e in history] == [("0.80", days_ago(10)), ("0.90", None)]
