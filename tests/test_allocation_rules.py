"""The rules that span tables live in the write functions (caseload/services.py)."""

import pytest

from allocation import services as allocation_services
from caseload import services
from caseload.models import Allocation, Case, Person
from caseload.services import RuleBroken
from tests.conftest import days_ago, primary_holders
from tests.factories import CaseFactory, member


def allocate(case, person, *, kind="primary", start=None, by=None):
    return allocation_services.allocation_create(
        case=case, person=person, kind=kind, start_date=start or days_ago(1), allocated_by=by
    )


def test_a_social_worker_becomes_the_primary_worker(case, social_worker, team_manager):
    allocation = allocate(case, social_worker, by=team_manager)
    assert primary_holders(case) == [social_worker]
    assert allocation.allocated_by == team_manager


def test_an_asye_can_hold_cases(case, team):
    asye = member(team, role=Person.Role.ASYE)
    allocate(case, asye)
    assert primary_holders(case) == [asye]


def test_a_student_is_never_the_primary_worker(case, student):
    with pytest.raises(RuleBroken, match="students are recorded as involved workers"):
        allocate(case, student)
    assert not case.allocations.exists()


def test_a_student_can_be_involved_beside_their_supervisor(held_case, student):
    allocate(held_case, student, kind="involved")
    assert primary_holders(held_case)[0].full_name == "Asha Patel"
    assert held_case.allocations.filter(kind="involved", person=student).exists()


@pytest.mark.parametrize("role", [Person.Role.TEAM_MANAGER, Person.Role.SENIOR_MANAGER])
@pytest.mark.parametrize("kind", ["primary", "involved"])
def test_managers_carry_no_caseload(case, team, role, kind):
    manager = member(team, role=role)
    with pytest.raises(RuleBroken, match="carries no cases"):
        allocate(case, manager, kind=kind)
    assert not case.allocations.exists()


def test_a_case_already_held_names_its_holder(held_case, colleague):
    with pytest.raises(RuleBroken, match="already allocated to Asha Patel"):
        allocate(held_case, colleague)
    assert primary_holders(held_case)[0].full_name == "Asha Patel"


def test_a_back_dated_allocation_cannot_overlap_the_history(held_case, social_worker, colleague):
    current = held_case.allocations.get()
    services.allocation_end(allocation=current, end_date=days_ago(10), ended_by=None)
    with pytest.raises(RuleBroken, match="cannot start before then"):
        allocate(held_case, colleague, start=days_ago(20))
    allocate(held_case, colleague, start=days_ago(10))
    assert primary_holders(held_case) == [colleague]


def test_an_allocation_cannot_start_before_the_case_opened(case, social_worker):
    with pytest.raises(RuleBroken, match="was opened on"):
        allocate(case, social_worker, start=days_ago(91))


def test_an_allocation_cannot_start_in_the_future(case, social_worker):
    with pytest.raises(RuleBroken, match="future"):
        allocate(case, social_worker, start=days_ago(-1))


def test_a_closed_case_cannot_be_allocated(case, social_worker):
    services.case_close(case=case, closed_on=days_ago(1), by=None)
    with pytest.raises(RuleBroken, match="is closed"):
        allocate(case, social_worker)


def test_the_worker_must_be_in_the_case_team(case, outsider):
    with pytest.raises(RuleBroken, match="is not in Child Protection"):
        allocate(case, outsider)


def test_a_review_date_cannot_precede_the_start(case, social_worker):
    with pytest.raises(RuleBroken, match="review date"):
        allocation_services.allocation_create(
            case=case,
            person=social_worker,
            start_date=days_ago(5),
            allocated_by=None,
            review_by=days_ago(6),
        )


def test_reallocation_ends_one_allocation_and_starts_another(
    held_case, social_worker, colleague, team_manager
):
    allocation_services.case_reallocate(
        case=held_case, to_person=colleague, on=days_ago(3), by=team_manager, reason="Leave"
    )
    history = list(held_case.allocations.order_by("start_date"))
    assert [(a.person, a.start_date, a.end_date) for a in history] == [
        (social_worker, days_ago(60), days_ago(3)),
        (colleague, days_ago(3), None),
    ]
    assert history[0].ended_by == team_manager
    assert history[1].reason == "Leave"


def test_reallocation_needs_a_reason(held_case, colleague):
    with pytest.raises(RuleBroken, match="reason"):
        allocation_services.case_reallocate(
            case=held_case, to_person=colleague, on=days_ago(1), by=None, reason=" "
        )
    assert primary_holders(held_case)[0].full_name == "Asha Patel"


def test_a_refused_reallocation_leaves_the_case_with_its_worker(held_case, student):
    with pytest.raises(RuleBroken):
        allocation_services.case_reallocate(
            case=held_case, to_person=student, on=days_ago(1), by=None, reason="Cover"
        )
    held = held_case.allocations.get()
    assert held.end_date is None


def test_history_is_not_rewritten(held_case):
    allocation = held_case.allocations.get()
    services.allocation_end(allocation=allocation, end_date=days_ago(5), ended_by=None)
    with pytest.raises(RuleBroken, match="already ended"):
        services.allocation_end(allocation=allocation, end_date=days_ago(2), ended_by=None)
    allocation.refresh_from_db()
    assert allocation.end_date == days_ago(5)


def test_an_allocation_cannot_end_before_it_started(held_case):
    with pytest.raises(RuleBroken, match="cannot end before"):
        services.allocation_end(
            allocation=held_case.allocations.get(), end_date=days_ago(61), ended_by=None
        )


def test_closing_a_case_ends_its_allocations(held_case, student, team_manager):
    allocate(held_case, student, kind="involved", start=days_ago(10))
    services.case_close(case=held_case, closed_on=days_ago(2), by=team_manager)
    held_case.refresh_from_db()
    assert held_case.status == Case.Status.CLOSED
    assert held_case.closed_on == days_ago(2)
    assert set(held_case.allocations.values_list("end_date", flat=True)) == {days_ago(2)}


def test_a_case_cannot_be_created_twice_in_a_service(case):
    with pytest.raises(RuleBroken, match="already a case CP-1042"):
        services.case_create(
            team=case.team,
            reference="CP-1042",
            label="Duplicate",
            case_type=Case.Type.CHILD_IN_NEED,
            opened_on=days_ago(1),
        )


def test_a_case_cannot_open_in_the_future(team):
    with pytest.raises(RuleBroken, match="future"):
        services.case_create(
            team=team, reference="CP-9", label="x", case_type="cin", opened_on=days_ago(-1)
        )


def test_a_worker_with_cases_cannot_become_a_team_manager(held_case, social_worker, colleague):
    with pytest.raises(RuleBroken, match="primary worker on open cases"):
        services.person_change_role(person=social_worker, role=Person.Role.TEAM_MANAGER)
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.SOCIAL_WORKER

    allocation_services.case_reallocate(
        case=held_case, to_person=colleague, on=days_ago(0), by=None, reason="Promotion"
    )
    services.person_change_role(person=social_worker, role=Person.Role.TEAM_MANAGER)
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.TEAM_MANAGER


def test_a_worker_with_cases_cannot_become_a_student(held_case, social_worker):
    with pytest.raises(RuleBroken):
        services.person_change_role(person=social_worker, role=Person.Role.STUDENT)


def test_an_involved_student_cannot_become_a_manager(held_case, student):
    allocate(held_case, student, kind="involved")
    with pytest.raises(RuleBroken, match="involved in open cases"):
        services.person_change_role(person=student, role=Person.Role.TEAM_MANAGER)


def test_people_are_counted_in_the_team_they_were_in_that_day(team, other_team, social_worker):
    services.membership_start(person=social_worker, team=other_team, start_date=days_ago(30))
    assert social_worker in Person.objects.members_of(team, days_ago(31))
    assert social_worker not in Person.objects.members_of(team, days_ago(30))
    assert social_worker in Person.objects.members_of(other_team, days_ago(0))
    history = list(social_worker.memberships.order_by("start_date").values_list("team", "end_date"))
    assert history == [(team.pk, days_ago(30)), (other_team.pk, None)]


def test_a_move_cannot_start_before_the_current_membership(other_team, social_worker):
    with pytest.raises(RuleBroken, match="cannot start before"):
        services.membership_start(person=social_worker, team=other_team, start_date=days_ago(400))


def test_unallocated_cases_wait_from_opening_or_from_their_last_allocation(
    team, held_case, social_worker
):
    fresh = CaseFactory(team=team, opened_on=days_ago(4))
    services.allocation_end(
        allocation=held_case.allocations.get(), end_date=days_ago(7), ended_by=None
    )
    waiting = {
        case.reference: case.waiting_since
        for case in Case.objects.unallocated().for_team(team).with_waiting_since()
    }
    assert waiting == {fresh.reference: days_ago(4), held_case.reference: days_ago(7)}


def test_an_involved_allocation_does_not_take_a_case_off_the_queue(case, student):
    allocate(case, student, kind="involved")
    assert list(Case.objects.unallocated()) == [case]
    assert Allocation.objects.primary().count() == 0
