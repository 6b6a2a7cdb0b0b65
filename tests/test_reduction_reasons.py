"""Each service's list of reasons for protected time: a reason's default
size, its maximum and its longest length, kept by the write functions for
the plans page and the admin alike; the list kept in the admin by
administrators only."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from caseload.dates import long_date
from caseload.services import RuleBroken
from tests.conftest import TODAY, days_ago
from tests.factories import PersonFactory, ServiceFactory, member, reason_named
from weighting import services as weighting
from weighting.models import Reduction, ReductionReason


def weeks(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(weeks=n)


def limit(owner, name: str, **limits) -> ReductionReason:
    reason = reason_named(owner, name)
    ReductionReason.objects.filter(pk=reason.pk).update(**limits)
    reason.refresh_from_db()
    return reason


# The list and its constraints -----------------------------------------------------


def test_a_new_service_starts_with_the_five_reasons(service):
    assert [(r.name, r.default_hours_per_week, r.maximum_weeks) for r in
            service.reduction_reasons.order_by("pk")] == [
        ("Practice educator", D("3.7"), None),
        ("Trade union duties", None, None),
        ("Training", None, None),
        ("Phased return to work", None, 12),
        ("Other protected time", None, None),
    ]  # fmt: skip
    assert {r.reminder_days for r in service.reduction_reasons.all()} == {14}
    # Asked again, nothing is added.
    assert weighting.reduction_reasons_create_default(service=service) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "TRAINING"},  # a name once per service, whatever its capitals
        {"name": "Mentoring", "default_hours_per_week": D(2), "default_percentage": D(5)},
        {"name": "Mentoring", "maximum_hours_per_week": D(2), "maximum_percentage": D(5)},
        {"name": "Mentoring", "default_hours_per_week": D(5), "maximum_hours_per_week": D(4)},
        {"name": "Mentoring", "default_percentage": D(30), "maximum_percentage": D(20)},
        {"name": "Mentoring", "maximum_hours_per_week": D(38)},
        {"name": "Mentoring", "default_percentage": D(0)},
        {"name": "Mentoring", "maximum_weeks": 0},
        {"name": "Mentoring", "reminder_days": 0},
        {"name": "Mentoring", "reminder_days": 400},
    ],
)
def test_the_database_refuses_a_reason_that_breaks_a_rule(service, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        ReductionReason.objects.create(service=service, **fields)


def test_the_same_name_may_be_on_two_services_lists(service):
    other = ServiceFactory(name="Adult Social Care")
    assert reason_named(other, "training").service == other
    assert reason_named(service, "training").service == service


# The rules, as every write keeps them ---------------------------------------------


def test_with_no_size_given_the_reason_s_default_is_taken(social_worker):
    reduction = weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Practice educator"),
        start_date=days_ago(3),
    )
    assert (reduction.hours_per_week, reduction.percentage, reduction.end_date) == (
        D("3.7"),
        None,
        None,
    )


def test_with_no_size_and_no_default_nothing_is_recorded(social_worker):
    with pytest.raises(RuleBroken, match="Give the protected time in hours a week"):
        weighting.reduction_create(
            person=social_worker,
            reason=reason_named(social_worker, "Training"),
            start_date=days_ago(3),
        )
    assert not social_worker.reductions.exists()


@pytest.mark.parametrize(
    ("limits", "size", "message"),
    [
        (
            {"maximum_hours_per_week": D("7.4")},
            {"hours_per_week": D(8)},
            "Training: at most 7.4 hours a week; 8 hours a week asked.",
        ),
        (  # a percentage is hours of the person's week: 25% of 37 is 9.25
            {"maximum_hours_per_week": D("7.4")},
            {"percentage": D(25)},
            "Training: at most 7.4 hours a week; 25% of Asha Patel's 37 hours is 9.25.",
        ),
        (  # and hours a share of it: 10 of 37 is 27%
            {"maximum_percentage": D(20)},
            {"hours_per_week": D(10)},
            "Training: at most 20% of someone's hours; 10 hours a week is 27.03% of "
            "Asha Patel's 37.",
        ),
        (
            {"maximum_percentage": D(20)},
            {"percentage": D("20.5")},
            "Training: at most 20% of someone's hours; 20.5% asked.",
        ),
    ],
)
def test_a_size_above_the_reason_s_maximum_is_refused(social_worker, limits, size, message):
    training = limit(social_worker, "Training", **limits)
    with pytest.raises(RuleBroken) as refused:
        weighting.reduction_create(
            person=social_worker, reason=training, start_date=days_ago(3), **size
        )
    assert refused.value.messages == [message]
    assert not social_worker.reductions.exists()


def test_the_maximum_is_exact_and_scaled_to_a_part_time_week(team):
    """Half time: 18.5 hours, of which 20% is exactly 3.7."""
    ben = member(team, full_name="Ben Ward", fte=D("0.5"))
    training = limit(ben, "Training", maximum_percentage=D(20))
    weighting.reduction_create(
        person=ben, reason=training, start_date=days_ago(3), hours_per_week=D("3.7")
    )
    with pytest.raises(RuleBroken, match=re.escape("3.71 hours a week is 20.05% of Ben Ward")):
        weighting.reduction_create(
            person=ben, reason=training, start_date=days_ago(60), end_date=days_ago(30),
            hours_per_week=D("3.71"),
        )  # fmt: skip


def test_a_period_longer_than_the_reason_allows_is_refused(social_worker):
    phased = reason_named(social_worker, "Phased return to work")
    start = days_ago(7)
    with pytest.raises(RuleBroken) as refused:
        weighting.reduction_create(
            person=social_worker, reason=phased, start_date=start,
            end_date=start + datetime.timedelta(weeks=12, days=1), percentage=D(50),
        )  # fmt: skip
    latest = long_date(start + datetime.timedelta(weeks=12))
    assert refused.value.messages == [
        f"Phased return to work: at most 12 weeks. From {long_date(start)} it ends by "
        f"{latest} at the latest."
    ]
    assert not social_worker.reductions.exists()
    weighting.reduction_create(  # twelve weeks exactly: the end date is the first day after
        person=social_worker, reason=phased, start_date=start,
        end_date=start + datetime.timedelta(weeks=12),
    )  # fmt: skip


def test_with_no_end_date_a_reason_with_a_longest_length_ends_on_its_own_date(social_worker):
    reduction = weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Phased return to work"),
        start_date=days_ago(7),
    )
    assert reduction.percentage == 50  # the reason's default, too
    assert reduction.end_date == days_ago(7) + datetime.timedelta(weeks=12)


def test_a_reason_no_longer_offered_names_old_time_but_not_new(social_worker):
    training = reason_named(social_worker, "Training")
    old = weighting.reduction_create(
        person=social_worker, reason=training, start_date=days_ago(60), end_date=days_ago(30),
        hours_per_week=D(2),
    )  # fmt: skip
    ReductionReason.objects.filter(pk=training.pk).update(active=False)
    training.refresh_from_db()
    with pytest.raises(RuleBroken, match="Training is no longer offered: choose another reason"):
        weighting.reduction_create(
            person=social_worker, reason=training, start_date=days_ago(3), hours_per_week=D(2)
        )
    assert list(social_worker.reductions.all()) == [old]
    assert str(old) == "Training: 2 hours a week"


def test_a_reason_comes_from_the_person_s_own_service(social_worker):
    elsewhere = reason_named(ServiceFactory(name="Adult Social Care"), "Training")
    with pytest.raises(
        RuleBroken,
        match="Training is a reason of Adult Social Care; Asha Patel is in Children's Social",
    ):
        weighting.reduction_create(
            person=social_worker, reason=elsewhere, start_date=days_ago(3), hours_per_week=D(2)
        )
    nobody = PersonFactory(full_name="Sam Hill", service=None)
    with pytest.raises(RuleBroken, match="Sam Hill has no service, whose list of reasons"):
        weighting.reduction_create(
            person=nobody, reason=elsewhere, start_date=days_ago(3), hours_per_week=D(2)
        )
    assert not Reduction.objects.exists()


# The plans page ----------------------------------------------------------------------


def date_fields(name: str, day: datetime.date) -> dict:
    return {f"{name}_0": day.day, f"{name}_1": day.month, f"{name}_2": day.year}


def record(client, person, **fields):
    return client.post(reverse("person_plan", args=[person.pk]), {"reduction": "", **fields})


def test_the_page_offers_the_service_s_reasons_with_their_sizes_and_lengths(
    client, team_manager, social_worker
):
    ReductionReason.objects.filter(name="Training").update(active=False)
    ReductionReason.objects.create(service=ServiceFactory(name="Adults"), name="Elsewhere")
    limit(social_worker, "Practice educator", maximum_hours_per_week=D("7.4"))
    client.force_login(team_manager.user)
    page = client.get(reverse("person_plan", args=[social_worker.pk])).content.decode()
    assert "Practice educator" in page and "Trade union duties" in page
    assert "3.7 hours a week unless you give a size; at most 7.4 hours a week" in page
    assert "50% of their hours unless you give a size; lasts at most 12 weeks" in page
    assert "Training" not in page  # no longer offered
    assert "Elsewhere" not in page  # another service's list


def test_a_manager_records_time_of_the_reason_s_size_that_ends_on_its_own_date(
    client, team_manager, social_worker
):
    phased = reason_named(social_worker, "Phased return to work")
    start = weeks(1)
    client.force_login(team_manager.user)
    response = record(client, social_worker, reason=phased.pk, **date_fields("start_date", start))
    assert response.status_code == 302
    reduction = social_worker.reductions.get()
    ends = start + datetime.timedelta(weeks=12)
    assert (reduction.reason, reduction.percentage, reduction.end_date) == (phased, 50, ends)
    assert reduction.recorded_by == team_manager
    page = client.get(response["Location"]).content.decode()
    assert (
        f"With no end date given, it ends on {long_date(ends)}: phased return to work lasts "
        "at most 12 weeks." in page
    )
    assert "Phased return to work:" in page and f"to {ends:%-d %B %Y}" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hours_per_week": "8"}, "Training: at most 7.4 hours a week; 8 hours a week asked."),
        ({"percentage": "25"}, "25% of Asha Patel&#x27;s 37 hours is 9.25."),
        ({}, "Enter the hours a week or a percentage"),  # training has no default size
        (
            {"hours_per_week": "2", **date_fields("end_date", weeks(6))},
            "Training: at most 4 weeks.",
        ),
    ],
)
def test_a_page_that_breaks_the_reason_s_rules_says_why_and_records_nothing(
    client, team_manager, social_worker, fields, message
):
    training = limit(social_worker, "Training", maximum_hours_per_week=D("7.4"), maximum_weeks=4)
    client.force_login(team_manager.user)
    response = record(
        client, social_worker, reason=training.pk, **date_fields("start_date", weeks(1)), **fields
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not social_worker.reductions.exists()


def test_a_reason_from_another_list_cannot_be_sent(client, team_manager, social_worker):
    elsewhere = reason_named(ServiceFactory(name="Adult Social Care"), "Training")
    client.force_login(team_manager.user)
    response = record(
        client, social_worker, reason=elsewhere.pk, hours_per_week="2",
        **date_fields("start_date", weeks(1)),
    )  # fmt: skip
    assert response.status_code == 200
    assert "Choose one of the reasons listed" in response.content.decode()
    assert not Reduction.objects.exists()


def test_only_the_person_s_manager_and_administrators_record_protected_time(
    client, social_worker, colleague, outsider, other_manager, dmt_member, student, administrator
):
    training = reason_named(social_worker, "Training")
    fields = {"reason": training.pk, "hours_per_week": "2", **date_fields("start_date", weeks(1))}
    assert record(client, social_worker, **fields).status_code == 302  # to sign in
    for person in (social_worker, colleague, outsider, other_manager, dmt_member, student):
        client.force_login(person.user)
        assert record(client, social_worker, **fields).status_code == 404, person
        assert client.get(reverse("person_plan", args=[social_worker.pk])).status_code == 404
    assert not Reduction.objects.exists()
    client.force_login(administrator.user)
    assert record(client, social_worker, **fields).status_code == 302
    assert social_worker.reductions.get().recorded_by == administrator


@pytest.mark.parametrize("size", [1, 10])
def test_the_page_s_queries_do_not_grow_with_reasons_or_reductions(
    client, team_manager, social_worker, size, django_assert_max_num_queries
):
    service = social_worker.service
    ReductionReason.objects.bulk_create(
        ReductionReason(service=service, name=f"Secondment {n}") for n in range(size * 3)
    )
    for n, reason in enumerate(service.reduction_reasons.all()[: size + 2]):
        weighting.reduction_create(
            person=social_worker, reason=reason, start_date=days_ago(n + 1), percentage=D(1)
        )
    client.force_login(team_manager.user)
    # With the FTE history and the own allowances for non-case time: 14.
    with django_assert_max_num_queries(14):
        page = client.get(reverse("person_plan", args=[social_worker.pk]))
    assert page.content.decode().count("% of their hours") >= size + 2


# The admin: the list is kept by administrators -------------------------------------


def test_the_service_s_admin_page_shows_its_reasons(client, administrator, service):
    client.force_login(administrator.user)
    page = client.get(reverse("admin:caseload_service_change", args=[service.pk]))
    assert page.status_code == 200
    assert "reasons for protected time" in page.content.decode().lower()
    assert "Phased return to work" in page.content.decode()


def reason_form(service, **fields) -> dict:
    return {
        "service": service.pk,
        "name": "Mentoring",
        "default_hours_per_week": "",
        "default_percentage": "",
        "maximum_hours_per_week": "",
        "maximum_percentage": "",
        "maximum_weeks": "",
        "reminder_days": "14",
        "active": "on",
        **fields,
    }


def test_an_administrator_adds_and_changes_a_reason_and_its_history_is_kept(
    client, administrator, service
):
    client.force_login(administrator.user)
    added = client.post(
        reverse("admin:weighting_reductionreason_add"),
        reason_form(service, default_hours_per_week="2", maximum_weeks="26"),
    )
    assert added.status_code == 302
    mentoring = service.reduction_reasons.get(name="Mentoring")
    changed = client.post(
        reverse("admin:weighting_reductionreason_change", args=[mentoring.pk]),
        reason_form(service, default_hours_per_week="2", maximum_weeks="12", active=""),
    )
    assert changed.status_code == 302
    mentoring.refresh_from_db()
    assert (mentoring.maximum_weeks, mentoring.active) == (12, False)
    assert mentoring.history.count() == 2
    assert mentoring.history.latest().history_user == administrator.user
    delete = reverse("admin:weighting_reductionreason_delete", args=[mentoring.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ReductionReason.objects.filter(pk=mentoring.pk).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "training"}, "The service already has a reason with this name."),
        (
            {"default_hours_per_week": "8", "maximum_hours_per_week": "4"},
            "The default hours a week are above the maximum.",
        ),
        (
            {"maximum_hours_per_week": "4", "maximum_percentage": "10"},
            "Give a maximum in hours a week or a percentage, not both.",
        ),
        ({"reminder_days": "0"}, "The reminder is from 1 to 365 days before the end."),
    ],
)
def test_the_admin_explains_a_reason_it_refuses(client, administrator, service, fields, message):
    client.force_login(administrator.user)
    response = client.post(
        reverse("admin:weighting_reductionreason_add"), reason_form(service, **fields)
    )
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not service.reduction_reasons.filter(name="Mentoring").exists()


def test_no_other_role_changes_the_list(
    client, service, social_worker, team_manager, dmt_member, student
):
    training = reason_named(service, "Training")
    url = reverse("admin:weighting_reductionreason_change", args=[training.pk])
    for person in (social_worker, team_manager, dmt_member, student):
        client.force_login(person.user)
        response = client.post(url, reason_form(service, name="Renamed"))
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    training.refresh_from_db()
    assert training.name == "Training"


def test_the_admin_records_protected_time_by_the_reason_s_rules(
    client, administrator, social_worker
):
    phased = limit(social_worker, "Phased return to work", maximum_percentage=D(60))
    client.force_login(administrator.user)

    def add(**fields):
        return client.post(
            reverse("admin:weighting_reduction_add"),
            {
                "person": social_worker.pk,
                "reason": phased.pk,
                "detail": "",
                "start_date": days_ago(10).strftime("%d/%m/%Y"),
                "end_date": "",
                "hours_per_week": "",
                "percentage": "",
                **fields,
            },
        )

    too_much = add(percentage="70")
    assert "at most 60% of someone&#x27;s hours; 70% asked" in too_much.content.decode()
    too_long = add(end_date=(days_ago(10) + datetime.timedelta(weeks=13)).strftime("%d/%m/%Y"))
    assert "Phased return to work: at most 12 weeks." in too_long.content.decode()
    assert not social_worker.reductions.exists()
    assert add().status_code == 302
    reduction = social_worker.reductions.get()
    assert (reduction.percentage, reduction.end_date) == (
        50,
        days_ago(10) + datetime.timedelta(weeks=12),
    )


@pytest.mark.parametrize("size", [1, 8])
def test_the_admin_pages_of_reasons_and_reductions_take_the_same_queries(
    client, administrator, team, size, django_assert_max_num_queries
):
    service = team.service
    ReductionReason.objects.bulk_create(
        ReductionReason(service=service, name=f"Secondment {n}") for n in range(size * 3)
    )
    for n in range(size * 2):
        worker = member(team, full_name=f"Worker {n}")
        weighting.reduction_create(
            person=worker, reason=reason_named(service, "Training"), start_date=days_ago(3),
            hours_per_week=D(1),
        )  # fmt: skip
    client.force_login(administrator.user)
    pages = [
        reverse("admin:caseload_service_change", args=[service.pk]),
        reverse("admin:weighting_reductionreason_changelist"),
        reverse("admin:weighting_reduction_changelist"),
        reverse("admin:weighting_reduction_add"),
    ]
    for url in pages:
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200, url
