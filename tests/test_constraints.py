"""Rules on one table are held by the database itself: even a raw update() or a
bulk insert that skips every write function cannot break them."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from caseload.models import Allocation, Case, Person, TeamMembership
from tests.conftest import days_ago
from tests.factories import CaseFactory, ServiceFactory, TeamFactory


def _refused(action) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        action()


def test_a_case_cannot_have_two_open_primary_workers(held_case, colleague):
    _refused(
        lambda: Allocation.objects.create(
            case=held_case, person=colleague, kind="primary", start_date=days_ago(1)
        )
    )
    assert held_case.allocations.count() == 1


def test_reopening_an_ended_primary_allocation_by_update_is_refused(
    held_case, social_worker, colleague
):
    first = held_case.allocations.get()
    Allocation.objects.filter(pk=first.pk).update(end_date=days_ago(10))
    Allocation.objects.create(
        case=held_case, person=colleague, kind="primary", start_date=days_ago(10)
    )
    _refused(lambda: Allocation.objects.filter(pk=first.pk).update(end_date=None))


def test_an_involved_worker_beside_the_primary_worker_is_allowed(held_case, student):
    Allocation.objects.create(
        case=held_case, person=student, kind="involved", start_date=days_ago(5)
    )
    assert held_case.allocations.count() == 2


def test_the_same_person_cannot_be_allocated_twice_at_once(held_case, social_worker):
    _refused(
        lambda: Allocation.objects.create(
            case=held_case, person=social_worker, kind="involved", start_date=days_ago(5)
        )
    )


def test_an_allocation_cannot_end_before_it_starts(held_case):
    _refused(lambda: held_case.allocations.update(end_date=days_ago(61)))


def test_a_review_date_cannot_be_before_the_start(held_case):
    _refused(lambda: held_case.allocations.update(review_by=days_ago(61)))


def test_an_allocation_kind_must_be_primary_or_involved(held_case):
    _refused(lambda: held_case.allocations.update(kind="lead"))


def test_case_reference_is_unique_within_a_service_only(case):
    _refused(lambda: CaseFactory(team=case.team, reference=case.reference))
    elsewhere = TeamFactory(service=ServiceFactory(name="Adult Social Care"))
    assert CaseFactory(team=elsewhere, reference=case.reference).pk


def test_a_case_covers_at_least_one_person(case):
    _refused(lambda: Case.objects.filter(pk=case.pk).update(people_count=0))


def test_a_case_is_closed_exactly_when_it_has_a_closing_date(case):
    _refused(lambda: Case.objects.filter(pk=case.pk).update(status="closed"))
    _refused(lambda: Case.objects.filter(pk=case.pk).update(closed_on=days_ago(1)))
    _refused(
        lambda: Case.objects.filter(pk=case.pk).update(status="closed", closed_on=days_ago(400))
    )
    Case.objects.filter(pk=case.pk).update(status="closed", closed_on=days_ago(1))


def test_case_type_and_priority_must_be_known_values(case):
    _refused(lambda: Case.objects.filter(pk=case.pk).update(case_type="unknown"))
    _refused(lambda: Case.objects.filter(pk=case.pk).update(priority=9))


def test_fte_is_above_0_and_at_most_1(social_worker):
    people = Person.objects.filter(pk=social_worker.pk)
    _refused(lambda: people.update(fte=Decimal("0")))
    _refused(lambda: people.update(fte=Decimal("1.01")))
    people.update(fte=Decimal("0.5"))


def test_a_role_must_be_a_known_role(social_worker):
    _refused(lambda: Person.objects.filter(pk=social_worker.pk).update(role="director"))


def test_nobody_supervises_themselves(social_worker):
    _refused(lambda: Person.objects.filter(pk=social_worker.pk).update(supervisor=social_worker))


def test_team_aspiration_is_positive(team):
    _refused(lambda: type(team).objects.filter(pk=team.pk).update(aspiration=0))


def test_a_person_has_one_open_team_membership(social_worker, other_team):
    _refused(
        lambda: TeamMembership.objects.create(
            person=social_worker, team=other_team, start_date=days_ago(1)
        )
    )


def test_a_membership_cannot_end_before_it_starts(social_worker):
    _refused(lambda: social_worker.memberships.update(end_date=days_ago(400)))


@pytest.mark.postgres
def test_back_dated_primary_allocations_cannot_overlap(held_case, colleague):
    """The partial unique index only sees open rows; PostgreSQL's exclusion
    constraint also refuses an overlapping period in the past."""
    held_case.allocations.update(end_date=days_ago(10))
    _refused(
        lambda: Allocation.objects.create(
            case=held_case,
            person=colleague,
            kind="primary",
            start_date=days_ago(30),
            end_date=days_ago(20),
        )
    )
    # Touching periods do not overlap: the end date is the first day not covered.
    Allocation.objects.create(
        case=held_case, person=colleague, kind="primary", start_date=days_ago(10)
    )


@pytest.mark.postgres
def test_involved_allocations_may_overlap_in_history(held_case, student, colleague):
    Allocation.objects.create(
        case=held_case,
        person=student,
        kind="involved",
        start_date=days_ago(50),
        end_date=days_ago(5),
    )
    Allocation.objects.create(
        case=held_case,
        person=colleague,
        kind="involved",
        start_date=days_ago(40),
        end_date=days_ago(20),
    )
    assert held_case.allocations.count() == 3


@pytest.mark.postgres
def test_back_dated_team_memberships_cannot_overlap(social_worker, other_team):
    _refused(
        lambda: TeamMembership.objects.create(
            person=social_worker,
            team=other_team,
            start_date=days_ago(500),
            end_date=days_ago(100),
        )
    )
