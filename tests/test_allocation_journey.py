"""The team manager's allocation journey: rules, pages, notifications, races."""

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from allocation.services import OverMaximumPlan
from caseload import notifications, services
from caseload.models import Allocation, Case, Notification, OverMaximum, Person
from caseload.services import RuleBroken
from config.celery import app as celery_app
from tests.brokers import forget_broker_connections, free_port
from tests.conftest import days_ago, primary_holders
from tests.factories import CaseFactory, ServiceFactory, TeamFactory, member, reason_named
from weighting import services as weighting
from weighting.projection import project_allocation

D = Decimal
TODAY = timezone.localdate


def rate(case, scheme, total_levels=(3, 3, 1), on=None):
    ids = [c.pk for c in scheme.criteria.all()]
    return weighting.rating_create(
        case=case,
        levels=dict(zip(ids, map(D, total_levels), strict=True)),
        rated_on=on or days_ago(1),
        rated_by=None,
        status="interim",
    )


def load_up(team, person, scheme, cases: int, levels=(3, 3, 3)):
    """Give `person` `cases` cases of weight 9 each (default), held for a month."""
    for _ in range(cases):
        case = CaseFactory(team=team)
        rate(case, scheme, levels, on=days_ago(40))
        allocation_services.allocation_create(
            case=case,
            person=person,
            start_date=days_ago(30),
            allocated_by=None,
            over_maximum=OverMaximumPlan("Setting up", "Setting up", days_ago(-10)),
        )


def plan(days_ahead=30):
    return OverMaximumPlan(
        reason="Sibling of a case she holds",
        reprioritisation="Two review cases move to Daniel",
        review_by=days_ago(-days_ahead),
    )


# Rules -----------------------------------------------------------------------


def test_an_allocation_records_capacity_before_and_after(team, social_worker, default_scheme):
    load_up(team, social_worker, default_scheme, 5)  # 45 of 100
    case = CaseFactory(team=team)
    rate(case, default_scheme)  # 7
    allocation = allocation_services.allocation_create(
        case=case, person=social_worker, start_date=TODAY(), allocated_by=None
    )
    assert (allocation.percent_before, allocation.percent_after) == (D(45), D(52))
    assert not OverMaximum.objects.exists()


def test_an_unrated_case_is_projected_at_the_middle_of_the_scale(
    team, social_worker, default_scheme
):
    allocation = allocation_services.allocation_create(
        case=CaseFactory(team=team), person=social_worker, start_date=TODAY(), allocated_by=None
    )
    assert allocation.percent_after == D(6)


def test_going_over_the_maximum_needs_a_reason_and_a_review_date(
    team, social_worker, default_scheme, team_manager
):
    load_up(team, social_worker, default_scheme, 10)  # 90
    case = CaseFactory(team=team)
    rate(case, default_scheme, (3, 3, 2))  # 8: 98%, still within the maximum
    allocation_services.allocation_create(
        case=case, person=social_worker, start_date=TODAY(), allocated_by=None
    )

    over = CaseFactory(team=team, reference="CP-3000")
    rate(over, default_scheme, (1, 1, 1))  # 3 more: 101%
    with pytest.raises(RuleBroken, match=r"takes Asha Patel to 101.0%, over the maximum"):
        allocation_services.allocation_create(
            case=over, person=social_worker, start_date=TODAY(), allocated_by=team_manager
        )
    assert primary_holders(over) == []

    allocation = allocation_services.allocation_create(
        case=over,
        person=social_worker,
        start_date=TODAY(),
        allocated_by=team_manager,
        over_maximum=plan(),
    )
    record = allocation.over_maximum
    assert (record.person, record.review_by, record.status) == (
        social_worker,
        days_ago(-30),
        "open",
    )
    assert record.reprioritisation == "Two review cases move to Daniel"
    assert record.created_by == team_manager
    assert (allocation.percent_before, allocation.percent_after) == (D(98), D(101))


def test_exactly_100_percent_is_within_the_maximum(team, social_worker, default_scheme):
    load_up(team, social_worker, default_scheme, 11)  # 99
    case = CaseFactory(team=team)
    to_100 = project_allocation(case, [social_worker], TODAY(), D(1))[social_worker.pk]
    assert to_100.after.percent == 100
    assert not to_100.goes_over_maximum
    just_over = project_allocation(case, [social_worker], TODAY(), D("1.01"))[social_worker.pk]
    assert just_over.goes_over_maximum


@pytest.mark.parametrize(
    ("days_ahead", "message"),
    [(0, "must be after the allocation starts"), (100, "within three months")],
)
def test_an_over_maximum_review_date_is_within_three_months(
    team, social_worker, default_scheme, days_ahead, message
):
    load_up(team, social_worker, default_scheme, 11)  # 99
    case = CaseFactory(team=team)
    with pytest.raises(RuleBroken, match=message):
        allocation_services.allocation_create(
            case=case,
            person=social_worker,
            start_date=TODAY(),
            allocated_by=None,
            over_maximum=plan(days_ahead),
        )
    assert primary_holders(case) == []


def test_someone_with_no_capacity_is_over_the_maximum_with_any_case(
    team, social_worker, default_scheme
):
    weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Phased return to work"),
        percentage=D(100),
        start_date=days_ago(5),
    )
    with pytest.raises(RuleBroken, match="No capacity, over the maximum"):
        allocation_services.allocation_create(
            case=CaseFactory(team=team), person=social_worker, start_date=TODAY(), allocated_by=None
        )


def test_the_worker_is_emailed_once_about_a_new_allocation(
    team,
    social_worker,
    team_manager,
    default_scheme,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    case = CaseFactory(team=team, reference="CP-1042", label="Sibling group, neglect")
    with django_capture_on_commit_callbacks() as callbacks:
        allocation_services.allocation_create(
            case=case, person=social_worker, start_date=TODAY(), allocated_by=team_manager
        )
    assert len(callbacks) == 1  # one nudge after commit, never before
    row = Notification.objects.get()
    assert (row.recipient, row.email, row.sent_at) == (social_worker, "worker@example.org", None)

    assert notifications.send_pending() == 1
    assert notifications.send_pending() == 0  # sent once
    [email] = mailoutbox
    assert email.to == ["worker@example.org"]
    assert email.subject == "Case CP-1042 has been allocated to you"
    assert "by Claire Hughes" in email.body
    assert f"/cases/{case.pk}/" in email.body
    assert "Sibling group" not in email.body  # no case labels leave the system


def test_a_failed_email_is_kept_and_retried(team, social_worker, default_scheme, mailoutbox):
    allocation_services.allocation_create(
        case=CaseFactory(team=team), person=social_worker, start_date=TODAY(), allocated_by=None
    )
    with override_settings(EMAIL_BACKEND="tests.test_allocation_journey.BrokenEmail"):
        assert notifications.send_pending() == 0
    row = Notification.objects.get()
    assert (row.sent_at, row.attempts) == (None, 1)
    assert "mail server down" in row.last_error
    assert notifications.send_pending() == 1
    assert len(mailoutbox) == 1


class BrokenEmail:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("mail server down")


@pytest.mark.django_db(transaction=True)
def test_an_allocation_succeeds_when_the_broker_is_down(client, mailoutbox):
    """Nothing listens on the broker's port: the request still succeeds, the
    email waits as a row, and the next sweep delivers it."""
    service = ServiceFactory()
    weighting.scheme_create_default(service=service, agreed_on=days_ago(100))
    team = TeamFactory(service=service)
    manager = member(team, role=Person.Role.TEAM_MANAGER, user__username="boss")
    team.managers.add(manager)
    worker = member(team, user__username="asha")
    case = CaseFactory(team=team)
    rate(case, service.schemes.get())

    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=f"redis://127.0.0.1:{free_port()}/0",
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        task_publish_retry=False,
    )
    forget_broker_connections()
    try:
        client.force_login(manager.user)
        response = client.post(reverse("case_allocate", args=[case.pk]), {"worker": worker.pk})
    finally:
        celery_app.conf.update(**saved, task_publish_retry=True)
        forget_broker_connections()
    assert response.status_code == 302
    assert primary_holders(case) == [worker]
    assert Notification.objects.get().sent_at is None
    assert notifications.send_pending() == 1
    assert mailoutbox[0].to == ["asha@example.org"]


def test_moving_a_case_to_another_team_puts_it_in_their_queue(
    held_case, student, other_team, team_manager
):
    allocation_services.allocation_create(
        case=held_case, person=student, kind="involved", start_date=days_ago(3), allocated_by=None
    )
    services.case_move_team(
        case=held_case, to_team=other_team, on=TODAY(), by=team_manager, reason="Now looked after"
    )
    held_case.refresh_from_db()
    assert held_case.team == other_team
    assert not held_case.allocations.open().exists()
    assert list(Case.objects.unallocated().for_team(other_team)) == [held_case]
    waiting = Case.objects.with_waiting_since().get(pk=held_case.pk).waiting_since
    assert waiting == TODAY()
    move = held_case.team_moves.get()
    assert (move.from_team.name, move.to_team, move.moved_by) == (
        "Child Protection",
        other_team,
        team_manager,
    )


def test_a_case_cannot_move_to_a_team_of_another_service(held_case, db):
    with pytest.raises(RuleBroken, match="its own service"):
        services.case_move_team(
            case=held_case, to_team=TeamFactory(), on=TODAY(), by=None, reason="Wrong"
        )


def test_over_maximum_reviews_extend_or_resolve_and_keep_history(
    team, social_worker, default_scheme, team_manager
):
    load_up(team, social_worker, default_scheme, 12)
    record = OverMaximum.objects.get()
    with pytest.raises(RuleBroken, match="within three months"):
        allocation_services.over_maximum_review(
            record=record,
            reviewed_on=TODAY(),
            outcome="extended",
            note="Still busy",
            new_review_by=days_ago(-120),
            by=team_manager,
        )
    allocation_services.over_maximum_review(
        record=record,
        reviewed_on=TODAY(),
        outcome="extended",
        note="Still busy",
        new_review_by=days_ago(-20),
        by=team_manager,
    )
    allocation_services.over_maximum_review(
        record=record, reviewed_on=TODAY(), outcome="resolved", note="Back under", by=team_manager
    )
    record.refresh_from_db()
    assert (record.status, record.resolved_on, record.review_by) == (
        "resolved",
        TODAY(),
        days_ago(-20),
    )
    assert [r.outcome for r in record.reviews.all()] == ["extended", "resolved"]
    with pytest.raises(RuleBroken, match="already resolved"):
        allocation_services.over_maximum_review(
            record=record, reviewed_on=TODAY(), outcome="resolved", note="Again", by=None
        )


# Pages -----------------------------------------------------------------------


def test_candidates_are_ranked_by_headroom_with_before_and_after(
    client, team, team_manager, social_worker, colleague, student, default_scheme
):
    load_up(team, social_worker, default_scheme, 8)  # 72
    load_up(team, colleague, default_scheme, 2)  # 18
    asye = member(team, role=Person.Role.ASYE, full_name="Ben Okafor", fte=D("0.5"))  # 40
    case = CaseFactory(team=team)
    rate(case, default_scheme)  # 7
    client.force_login(team_manager.user)
    page = client.get(reverse("case_allocate", args=[case.pk])).content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split()).replace(" ,", ",")
    assert "Daniel Reid — 18.0% now, 25.0% after" in text
    assert "Ben Okafor — 0.0% now, 17.5% after" in text
    assert "Asha Patel — 72.0% now, 79.0% after" in text
    assert page.index("Daniel Reid") < page.index("Ben Okafor") < page.index("Asha Patel")
    assert "ASYE · 0.50 FTE" in page
    # Students and managers are never candidates for the primary worker.
    assert f'value="{student.pk}"' not in page.split("Also involve a student")[0]
    assert f'name="worker" type="radio" value="{team_manager.pk}"' not in page
    assert asye.pk


def test_a_manager_allocates_a_rated_case(
    client, team, team_manager, social_worker, default_scheme
):
    case = CaseFactory(team=team, reference="CP-1042")
    rate(case, default_scheme)
    client.force_login(team_manager.user)
    response = client.post(reverse("case_allocate", args=[case.pk]), {"worker": social_worker.pk})
    allocation = Allocation.objects.get(case=case)
    assert response["Location"] == reverse("allocation_done", args=[allocation.pk])
    done = client.get(response["Location"]).content.decode()
    assert "Case CP-1042 allocated to Asha Patel" in done
    assert "now at 7.0% of capacity" in done
    assert allocation.allocated_by == team_manager


def test_an_unrated_case_gets_its_provisional_rating_in_the_same_step(
    client, team, team_manager, social_worker, default_scheme
):
    case = CaseFactory(team=team)
    ids = [c.pk for c in default_scheme.criteria.all()]
    client.force_login(team_manager.user)
    page = client.get(reverse("case_allocate", args=[case.pk])).content.decode()
    assert "Provisional rating" in page
    form = {f"level_{pk}": "2" for pk in ids}
    missing = client.post(reverse("case_allocate", args=[case.pk]), {"worker": social_worker.pk})
    assert "Choose a level of complexity" in missing.content.decode()
    assert not case.allocations.exists()
    client.post(reverse("case_allocate", args=[case.pk]), {**form, "worker": social_worker.pk})
    rating = case.ratings.get()
    assert (rating.status, rating.total, rating.rated_by) == ("provisional", 6, team_manager)
    assert primary_holders(case) == [social_worker]


def test_an_over_maximum_allocation_cannot_be_saved_without_reason_and_date(
    client, team, team_manager, social_worker, default_scheme
):
    load_up(team, social_worker, default_scheme, 11)  # 99
    case = CaseFactory(team=team)
    rate(case, default_scheme)
    client.force_login(team_manager.user)
    url = reverse("case_allocate", args=[case.pk])
    page = client.get(url).content.decode()
    assert "Over the maximum: give a reason and a review date below." in page
    assert "Needed only if you choose Asha Patel" in page
    response = client.post(url, {"worker": social_worker.pk})
    text = response.content.decode()
    assert "Give the reason for allocating over the maximum" in text
    assert "Say how the rest of their work will be reprioritised" in text
    assert "Enter the date the allocation will be reviewed by" in text
    assert primary_holders(case) == []

    review = days_ago(-21)
    response = client.post(
        url,
        {
            "worker": social_worker.pk,
            "over_reason": "Sibling of her case",
            "over_plan": "Court report moved",
            "over_review_by_0": review.day,
            "over_review_by_1": review.month,
            "over_review_by_2": review.year,
        },
    )
    assert response.status_code == 302
    assert case.allocations.get().over_maximum.review_by == review


def test_a_student_can_be_involved_only_beside_their_supervisor(
    client, team, team_manager, social_worker, colleague, student, default_scheme
):
    case = CaseFactory(team=team)
    rate(case, default_scheme)
    client.force_login(team_manager.user)
    url = reverse("case_allocate", args=[case.pk])
    wrong = client.post(url, {"worker": colleague.pk, "student": student.pk})
    assert "supervised by Asha Patel" in wrong.content.decode()
    assert not case.allocations.exists()
    client.post(url, {"worker": social_worker.pk, "student": student.pk})
    kinds = dict(case.allocations.values_list("person__full_name", "kind"))
    assert kinds == {"Asha Patel": "primary", "Ella Shah": "involved"}


def test_an_allocated_case_cannot_be_allocated_again(
    client, held_case, team_manager, colleague, default_scheme
):
    client.force_login(team_manager.user)
    response = client.post(reverse("case_allocate", args=[held_case.pk]), {"worker": colleague.pk})
    assert response["Location"] == reverse("case_detail", args=[held_case.pk])
    assert primary_holders(held_case)[0].full_name == "Asha Patel"


def test_a_manager_transfers_a_case(client, held_case, team_manager, colleague, default_scheme):
    client.force_login(team_manager.user)
    url = reverse("case_transfer", args=[held_case.pk])
    page = client.get(url).content.decode()
    assert "Daniel Reid —" in page and "Asha Patel —" not in page
    missing = client.post(url, {"worker": colleague.pk})
    assert "Give the reason for the transfer" in missing.content.decode()
    client.post(url, {"worker": colleague.pk, "reason": "Asha is on leave"})
    assert primary_holders(held_case) == [colleague]
    assert held_case.allocations.count() == 2


def test_a_manager_moves_closes_and_reprioritises_cases(
    client, team, held_case, other_team, team_manager, default_scheme
):
    client.force_login(team_manager.user)
    other = CaseFactory(team=team)
    client.post(reverse("case_priority", args=[other.pk]), {"priority": "1"})
    other.refresh_from_db()
    assert other.priority == Case.Priority.URGENT
    client.post(reverse("case_priority", args=[other.pk]), {"priority": "7"})
    other.refresh_from_db()
    assert other.priority == Case.Priority.URGENT

    url = reverse("case_move_team", args=[other.pk])
    move = {"team": other_team.pk, "reason": "Looked after"}
    check = client.post(url, move).content.decode()
    assert f"Move case {other.reference} to Looked After Children?" in check
    other.refresh_from_db()
    assert other.team == team  # not moved until confirmed
    changed = client.post(url, {**move, "change": ""}).content.decode()
    assert "Which team should the case move to?" in changed and "Looked after" in changed
    moved = client.post(url, {**move, "confirm": ""}, follow=True).content.decode()
    other.refresh_from_db()
    assert other.team == other_team
    assert f"Case {other.reference} moved from Child Protection to Looked After Children" in moved

    closed_on = days_ago(1)
    client.post(
        reverse("case_close", args=[held_case.pk]),
        {
            "closed_on_0": closed_on.day,
            "closed_on_1": closed_on.month,
            "closed_on_2": closed_on.year,
        },
    )
    held_case.refresh_from_db()
    assert (held_case.status, held_case.closed_on) == ("closed", closed_on)


def test_a_manager_adds_and_removes_an_involved_worker(
    client, held_case, team_manager, student, default_scheme
):
    client.force_login(team_manager.user)
    client.post(reverse("case_involve", args=[held_case.pk]), {"person": student.pk})
    involved = held_case.allocations.get(kind="involved")
    assert involved.person == student
    client.post(reverse("allocation_end", args=[involved.pk]))
    involved.refresh_from_db()
    assert involved.end_date == TODAY()
    primary = held_case.allocations.get(kind="primary")
    client.post(reverse("allocation_end", args=[primary.pk]))
    primary.refresh_from_db()
    assert primary.end_date is None  # a primary worker changes only by transfer


def test_the_over_maximum_list_and_review(
    client, team, team_manager, social_worker, default_scheme
):
    load_up(team, social_worker, default_scheme, 12)
    record = OverMaximum.objects.order_by("pk").last()
    OverMaximum.objects.filter(pk=record.pk).update(review_by=days_ago(2))
    client.force_login(team_manager.user)
    listing = client.get(reverse("over_maximum_list")).content.decode()
    assert "Overdue" in listing and "Asha Patel" in listing
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "Over maximum: review by" in team_page and "Overdue" in team_page

    url = reverse("over_maximum_review", args=[record.pk])
    missing = client.post(url, {"outcome": "extended", "note": "Still over"})
    assert "Enter the next review date" in missing.content.decode()
    client.post(url, {"outcome": "resolved", "note": "Two cases closed"})
    record.refresh_from_db()
    assert record.status == "resolved"


def test_a_stored_capacity_just_over_the_maximum_shows_as_over_it(
    client, team, team_manager, social_worker, default_scheme
):
    """ADR 0005: 100.04% is over the maximum, so it shows as 100.1%, never
    as 100.0%, wherever a stored allocation's % is shown."""
    load_up(team, social_worker, default_scheme, 12)
    record = OverMaximum.objects.get()
    Allocation.objects.filter(pk=record.allocation_id).update(
        percent_before=D("99.96"), percent_after=D("100.04")
    )
    client.force_login(team_manager.user)
    listing = client.get(reverse("over_maximum_list")).content.decode()
    assert "100.1% after" in listing and "100.0% after" not in listing
    review = client.get(reverse("over_maximum_review", args=[record.pk])).content.decode()
    assert "100.0% before, 100.1% after" in " ".join(review.split())


@pytest.mark.parametrize("workers", [2, 8])
def test_the_over_maximum_list_query_count_does_not_grow(
    client, team, team_manager, default_scheme, workers, django_assert_max_num_queries
):
    for number in range(workers):
        load_up(team, member(team, full_name=f"Worker {number}"), default_scheme, 12)
    client.force_login(team_manager.user)
    with django_assert_max_num_queries(12):  # with its audit row
        listing = client.get(reverse("over_maximum_list")).content.decode()
    assert listing.count("% after") == workers


ACTIONS = [
    ("case_allocate", "case"),
    ("case_transfer", "case"),
    ("case_move_team", "case"),
    ("case_close", "case"),
    ("case_involve", "case"),
    ("case_priority", "case"),
    ("over_maximum_review", "record"),
    ("allocation_end", "allocation"),
    ("allocation_done", "allocation"),
]


@pytest.mark.parametrize(("name", "target"), ACTIONS)
def test_only_the_teams_manager_reaches_the_allocation_pages(
    client,
    name,
    target,
    team,
    held_case,
    social_worker,
    colleague,
    other_manager,
    dmt_member,
    default_scheme,
):
    load_up(team, social_worker, default_scheme, 12)
    pk = {
        "case": held_case.pk,
        "record": OverMaximum.objects.first().pk,
        "allocation": held_case.allocations.get().pk,
    }[target]
    url = reverse(name, args=[pk])
    for person in (social_worker, colleague, other_manager, dmt_member):
        client.force_login(person.user)
        assert client.get(url).status_code in (404, 405), (name, person)
        assert client.post(url, {"worker": colleague.pk}).status_code in (404, 405), (name, person)
    client.logout()
    assert client.get(url).status_code == 302
    assert primary_holders(held_case) == [social_worker]
    assert held_case.allocations.count() == 1


def test_managers_see_only_their_teams_over_maximum(
    client, team, social_worker, other_manager, default_scheme
):
    load_up(team, social_worker, default_scheme, 12)
    client.force_login(other_manager.user)
    assert "Asha Patel" not in client.get(reverse("over_maximum_list")).content.decode()


# Concurrency -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_simultaneous_allocations_leave_one_worker_per_case():
    service = ServiceFactory()
    weighting.scheme_create_default(service=service, agreed_on=days_ago(100))
    team = TeamFactory(service=service)
    workers = [member(team, full_name=f"Worker {n}") for n in range(10)]
    cases = [CaseFactory(team=team) for _ in range(5)]
    start = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def allocate(index: int) -> None:
        try:
            start.wait()
            allocation_services.allocation_create(
                case=cases[index % 5],
                person=workers[index % 10],
                start_date=TODAY(),
                allocated_by=None,
            )
            result = "allocated"
        except RuleBroken as error:
            result = error.messages[0]
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=allocate, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == 50
    assert outcomes.count("allocated") == 5
    refused = [o for o in outcomes if o != "allocated"]
    assert all("already allocated to" in o or "someone else just now" in o for o in refused)
    for case in cases:
        assert Allocation.objects.filter(case=case, kind="primary").count() == 1
        assert len(primary_holders(case)) == 1


@pytest.mark.parametrize("workers", [2, 8])
def test_the_allocation_post_query_count_does_not_grow(
    client, team, team_manager, default_scheme, workers, django_assert_max_num_queries
):
    for number in range(workers):
        load_up(team, member(team, full_name=f"Worker {number}"), default_scheme, 3)
    member(team, full_name="A student", role=Person.Role.STUDENT)
    worker = Person.objects.get(full_name="Worker 0")
    case = CaseFactory(team=team)
    levels = {f"level_{c.pk}": "2" for c in default_scheme.criteria.all()}
    client.force_login(team_manager.user)
    url = reverse("case_allocate", args=[case.pk])
    with django_assert_max_num_queries(27):  # with the provisional rating and the session
        response = client.post(url, {**levels, "worker": worker.pk})
    assert response.status_code == 302
    assert primary_holders(case) == [worker]
    assert case.ratings.get().total == 6


def test_the_case_page_shows_why_it_was_allocated_over_the_maximum(
    client, team, social_worker, team_manager, default_scheme
):
    load_up(team, social_worker, default_scheme, 12)  # the twelfth goes over
    record = OverMaximum.objects.get()
    client.force_login(team_manager.user)
    page = client.get(reverse("case_detail", args=[record.allocation.case_id])).content.decode()
    history = " ".join(page.split("Allocation history</h2>")[1].split())
    assert f"Why: {record.reason}" in history
    assert f"Reprioritised: {record.reprioritisation}" in history
    assert f"Review by {record.review_by:%-d %B %Y}" in history
