"""Contracted FTE as dated history (docs/adr/0025): one write function ends
the open row; each day's capacity uses that day's FTE; every path that
writes an FTE (the plans page, the admin, the import) goes through it."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from caseload import services
from caseload.models import FteChange, Person
from caseload.services import RuleBroken
from reports.models import CaseloadSnapshot
from reports.services.snapshots import write_snapshots
from tests.conftest import days_ago
from tests.factories import CaseFactory, member, reason_named
from tests.test_numbers import rate
from weighting import services as weighting
from weighting.numbers import caseload_numbers, caseload_series
from weighting.totals import team_totals

D = Decimal
TODAY = timezone.localdate


def ahead(days: int) -> datetime.date:
    return TODAY() + datetime.timedelta(days=days)


def history(person: Person) -> list[tuple]:
    return list(person.fte_history.values_list("fte", "start_date", "end_date"))


# The write function --------------------------------------------------------------------


def test_a_change_ends_the_open_row_on_the_day_it_starts(team):
    """Asha, in the team since a year ago at 1.0 FTE with no dated FTE yet:
    her 1.0 becomes the first row, ended on the day 0.6 starts."""
    asha = member(team, full_name="Asha Patel")
    services.fte_change(person=asha, fte=D("0.6"), start_date=days_ago(30), recorded_by=None)
    services.fte_change(person=asha, fte=D("0.8"), start_date=ahead(21), recorded_by=None)
    assert history(asha) == [
        (D("1.00"), days_ago(365), days_ago(30)),
        (D("0.60"), days_ago(30), ahead(21)),
        (D("0.80"), ahead(21), None),
    ]
    asha.refresh_from_db()
    assert asha.fte == D("0.6")  # today's: the change ahead leaves it


def test_a_change_on_the_open_rows_first_day_corrects_it(team, team_manager):
    asha = member(team, full_name="Asha Patel")
    services.fte_change(person=asha, fte=D("0.6"), start_date=ahead(7), recorded_by=None)
    services.fte_change(person=asha, fte=D("0.5"), start_date=ahead(7), recorded_by=team_manager)
    assert history(asha)[1:] == [(D("0.50"), ahead(7), None)]
    corrected = asha.fte_history.get(start_date=ahead(7))
    assert corrected.recorded_by == team_manager
    assert [h.fte for h in corrected.history.order_by("history_id")] == [D("0.60"), D("0.50")]


@pytest.mark.parametrize(
    ("fte", "start", "message"),
    [
        (D("0"), 5, "FTE must be more than 0 and no more than 1."),
        (D("1.2"), 5, "FTE must be more than 0 and no more than 1."),
        (D("0.5"), 20, "Asha Patel's FTE of 0.80 from {start} is the latest recorded: a change "
                       "cannot start before that day."),
        (D("0.8"), 5, "Asha Patel's FTE is already 0.8 from {start}."),
    ],
)  # fmt: skip
def test_a_change_the_rules_refuse_changes_nothing(team, fte, start, message):
    asha = member(team, full_name="Asha Patel")
    services.fte_change(person=asha, fte=D("0.8"), start_date=days_ago(10), recorded_by=None)
    before = history(asha)
    with pytest.raises(RuleBroken) as refusal:
        services.fte_change(person=asha, fte=fte, start_date=days_ago(start), recorded_by=None)
    assert refusal.value.messages == [message.format(start=f"{days_ago(10):%-d %B %Y}")]
    assert history(asha) == before
    asha.refresh_from_db()
    assert asha.fte == D("0.8")


def test_someone_added_starts_their_history_on_that_day(service):
    person = services.person_create(
        username="noor.ali", email="", full_name="Noor Ali", role="social_worker",
        service=service, fte=D("0.6"),
    )  # fmt: skip
    assert history(person) == [(D("0.60"), TODAY(), None)]


def test_the_database_keeps_one_fte_at_a_time(social_worker):
    services.fte_change(
        person=social_worker, fte=D("0.5"), start_date=days_ago(10), recorded_by=None
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        FteChange.objects.create(person=social_worker, fte=D("0.7"), start_date=ahead(3))
    with pytest.raises(IntegrityError), transaction.atomic():
        FteChange.objects.filter(person=social_worker).update(fte=D("1.5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        FteChange.objects.filter(end_date__isnull=False).update(end_date=days_ago(400))


@pytest.mark.postgres
def test_past_ftes_cannot_overlap_in_the_database(social_worker):
    services.fte_change(
        person=social_worker, fte=D("0.5"), start_date=days_ago(10), recorded_by=None
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        FteChange.objects.create(
            person=social_worker, fte=D("0.7"), start_date=days_ago(60), end_date=days_ago(40)
        )


# The numbers ---------------------------------------------------------------------------


def test_each_days_capacity_uses_that_days_fte(team, default_scheme):
    """Asha holds a case of 7 and has 3.7 protected hours a week. She was
    full-time until 60 days ago, and has been 0.5 since:
    90 days ago: 100 × 1.0 × (1 − 3.7 ÷ 37) = 90; 7 is 7.8% of it;
    today:       100 × 0.5 × (1 − 3.7 ÷ 18.5) = 40; 7 is 17.5% of it."""
    asha = member(team, full_name="Asha Patel", since=days_ago(400))
    case = CaseFactory(team=team, opened_on=days_ago(300))
    rate(case, default_scheme, 3, 3, 1, on=days_ago(200))
    allocation_services.allocation_create(
        case=case, person=asha, start_date=days_ago(150), allocated_by=None
    )
    weighting.reduction_create(
        person=asha,
        reason=reason_named(asha, "Training"),
        start_date=days_ago(120),
        hours_per_week=D("3.7"),
    )
    services.fte_change(person=asha, fte=D("0.5"), start_date=days_ago(60), recorded_by=None)
    series = caseload_series([asha], [days_ago(90), days_ago(61), days_ago(60), TODAY()])
    assert [(series[day][asha.pk].fte, series[day][asha.pk].capacity) for day in series] == [
        (1, 90), (1, 90), (D("0.5"), 40), (D("0.5"), 40),
    ]  # fmt: skip
    assert series[TODAY()][asha.pk].percent_display == "17.5%"
    assert series[days_ago(90)][asha.pk].percent_display == "7.8%"


def test_the_team_fte_is_the_sum_of_that_days_ftes(team, default_scheme):
    """Asha (1.0, then 0.6 from 20 days ago) and Daniel (0.8): the team's
    FTE is 1.8 a month ago and 1.4 today."""
    asha = member(team, full_name="Asha Patel")
    daniel = member(team, full_name="Daniel Reid", fte=D("0.8"))
    services.fte_change(person=asha, fte=D("0.6"), start_date=days_ago(20), recorded_by=None)
    before = team_totals(caseload_numbers([asha, daniel], days_ago(30)).values())[team.pk]
    now = team_totals(caseload_numbers([asha, daniel], TODAY()).values())[team.pk]
    assert (before.case_holding_fte, now.case_holding_fte) == (D("1.8"), D("1.4"))


@pytest.mark.parametrize(
    ("rows", "fte_on"),
    [
        ([], {-100: "0.70", 0: "0.70", 50: "0.70"}),  # no rows: the FTE on the record
        ([("0.80", 0, None)], {-100: "0.80", 0: "0.80", 50: "0.80"}),  # before the first: it
        ([("1.00", -200, -30), ("0.60", -30, 40), ("0.90", 40, None)],
         {-300: "1.00", -31: "1.00", -30: "0.60", 0: "0.60", 39: "0.60", 40: "0.90"}),
        ([("0.50", -200, -100), ("0.90", -50, None)], {-70: "0.90"}),  # a gap: the next row
    ],
)  # fmt: skip
def test_the_numbers_and_the_queryset_agree_on_the_fte_of_a_day(team, rows, fte_on):
    """`_fte_on` in the numbers and `Person.objects.with_fte_on` in SQL: one rule."""
    person = member(team, fte=D("0.70"))
    FteChange.objects.bulk_create(
        FteChange(person=person, fte=D(fte), start_date=ahead(start),
                  end_date=ahead(end) if end is not None else None)
        for fte, start, end in rows
    )  # fmt: skip
    for offset, wanted in fte_on.items():
        day = ahead(offset)
        assert caseload_numbers([person], day)[person.pk].fte == D(wanted), offset
        annotated = Person.objects.with_fte_on(day).get(pk=person.pk).fte_on_day
        assert annotated == D(wanted), offset


def _workers_with_fte_history(team, count: int) -> list[Person]:
    people = [member(team, full_name=f"Worker {n}") for n in range(count)]
    FteChange.objects.bulk_create(
        FteChange(person=person, fte=fte, start_date=start, end_date=end)
        for person in people
        for fte, start, end in [
            (D("1"), days_ago(400), days_ago(100)),
            (D("0.8"), days_ago(100), ahead(30)),
            (D("0.6"), ahead(30), None),
        ]
    )
    return people


@pytest.mark.parametrize("count", [3, 60])
def test_dated_ftes_add_no_query_to_the_numbers(
    team, default_scheme, count, django_assert_max_num_queries
):
    people = _workers_with_fte_history(team, count)
    days = [days_ago(200), TODAY(), ahead(60)]
    # People with their teams, what they hold, schemes with their terms,
    # experience factors with reductions and FTEs.
    with django_assert_max_num_queries(4):
        series = caseload_series(people, days)
    assert {series[day][people[-1].pk].fte for day in days} == {D("1"), D("0.8"), D("0.6")}


def test_a_snapshot_keeps_the_fte_of_its_day(team, default_scheme):
    asha = member(team, full_name="Asha Patel")
    services.fte_change(person=asha, fte=D("0.5"), start_date=days_ago(10), recorded_by=None)
    write_snapshots([asha.pk], [days_ago(20), days_ago(5)])
    stored = CaseloadSnapshot.objects.filter(person=asha).order_by("day")
    assert [(s.day, s.fte, s.capacity) for s in stored] == [
        (days_ago(20), D("1.00"), D("100.00")),
        (days_ago(5), D("0.50"), D("50.00")),
    ]


# The plans page ------------------------------------------------------------------------


def date_fields(name, day):
    return {f"{name}_0": day.day, f"{name}_1": day.month, f"{name}_2": day.year}


def post_fte(client, person, fte, start):
    return client.post(
        reverse("person_plan", args=[person.pk]),
        {"fte": fte, **date_fields("start_date", start)},
    )


def test_a_manager_records_an_fte_change_ahead(client, team, team_manager, social_worker):
    client.force_login(team_manager.user)
    response = post_fte(client, social_worker, "0.6", ahead(21))
    assert response.status_code == 302
    assert history(social_worker)[-1] == (D("0.60"), ahead(21), None)
    assert history(social_worker)[-1:] == list(
        social_worker.fte_history.filter(recorded_by=team_manager).values_list(
            "fte", "start_date", "end_date"
        )
    )
    page = client.get(response["Location"]).content.decode()
    assert f"Asha Patel&#x27;s FTE is 0.6 from {ahead(21):%-d %B %Y}." in page
    assert "1.00 FTE: 37.0 hours a week of a full-time 37." in page  # today's, unchanged
    assert f"0.60 FTE (22.2 hours a week) from {ahead(21):%-d %B %Y}" in page


def test_the_plans_page_shows_todays_fte_once_a_change_has_come(
    client, team, team_manager, social_worker
):
    """Person.fte is what was written for today when the change was made:
    the page reads the dated rows, so a change planned then is today's now."""
    services.fte_change(
        person=social_worker, fte=D("0.5"), start_date=days_ago(3), recorded_by=None
    )
    Person.objects.filter(pk=social_worker.pk).update(fte=D("1"))  # as before its day came
    client.force_login(team_manager.user)
    page = client.get(reverse("person_plan", args=[social_worker.pk])).content.decode()
    assert "0.50 FTE: 18.5 hours a week of a full-time 37." in page
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "SW</abbr>, part-time" in team_page


@pytest.mark.parametrize(
    ("fte", "start", "message"),
    [
        ("0", 7, "The FTE must be more than 0"),
        ("1.2", 7, "The FTE must be 1 or less"),
        ("", 7, "Enter the FTE"),
        ("0.5", -20, "Asha Patel&#x27;s FTE of 0.80 from {start} is the latest recorded"),
    ],
)
def test_a_bad_fte_change_is_explained_and_nothing_changes(
    client, team, team_manager, social_worker, fte, start, message
):
    services.fte_change(
        person=social_worker, fte=D("0.8"), start_date=days_ago(10), recorded_by=None
    )
    before = history(social_worker)
    client.force_login(team_manager.user)
    response = post_fte(client, social_worker, fte, days_ago(-start) if start < 0 else ahead(start))
    assert response.status_code == 200
    assert message.format(start=f"{days_ago(10):%-d %B %Y}") in response.content.decode()
    assert history(social_worker) == before


@pytest.mark.parametrize(
    "fixture", ["social_worker", "colleague", "outsider", "other_manager", "dmt_member"]
)
def test_only_the_persons_manager_changes_their_fte(client, team, social_worker, fixture, request):
    """The worker themself, a colleague, a worker and the manager of another
    team, and DMT: none of them may, and the page is not there for them."""
    client.force_login(request.getfixturevalue(fixture).user)
    assert post_fte(client, social_worker, "0.5", ahead(7)).status_code == 404
    assert not social_worker.fte_history.exists()
    social_worker.refresh_from_db()
    assert social_worker.fte == 1


@pytest.mark.parametrize("changes", [1, 12])
def test_the_plans_page_query_count_does_not_grow_with_the_history(
    client, team, team_manager, social_worker, changes, django_assert_max_num_queries
):
    for n in range(changes):
        services.fte_change(
            person=social_worker,
            fte=D("0.5") if n % 2 else D("0.8"),
            start_date=ahead(7 * (n + 1)),
            recorded_by=team_manager,
        )
    client.force_login(team_manager.user)
    # The same 14 for 1 change and 12: the log-in and its session, the
    # person, their team, their FTEs, the service's reasons, their protected
    # time, their own allowances for non-case time, the menu's teams.
    with django_assert_max_num_queries(14):
        response = client.get(reverse("person_plan", args=[social_worker.pk]))
    assert response.content.decode().count(" hours a week) from ") == changes


# The admin -----------------------------------------------------------------------------


def person_form(person, **changes):
    data = {
        "full_name": person.full_name,
        "role": person.role,
        "service": person.service_id or "",
        "supervisor": person.supervisor_id or "",
        "asye_start_date": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    return data | changes


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator.user)
    return client


def test_the_admin_records_an_fte_change_from_a_day(admin_client, social_worker, administrator):
    url = reverse("admin:caseload_person_change", args=[social_worker.pk])
    form = admin_client.get(url).content.decode()
    assert 'name="new_fte" value="1.00"' in form
    response = admin_client.post(
        url, person_form(social_worker, new_fte="0.6", fte_from=ahead(14).strftime("%d/%m/%Y"))
    )
    assert response.status_code == 302
    assert history(social_worker)[-1] == (D("0.60"), ahead(14), None)
    assert social_worker.fte_history.get(end_date=None).recorded_by == administrator
    social_worker.refresh_from_db()
    assert social_worker.fte == 1  # from a later day: today's is as it was
    page = admin_client.get(url).content.decode()
    assert f"0.60 from {ahead(14):%-d %B %Y}" in page


def test_the_admin_leaves_the_fte_alone_unless_it_is_changed(admin_client, social_worker):
    url = reverse("admin:caseload_person_change", args=[social_worker.pk])
    response = admin_client.post(url, person_form(social_worker, full_name="Asha Patel-Jones"))
    assert response.status_code == 302
    assert not social_worker.fte_history.exists()


@pytest.mark.parametrize(
    ("fte", "start", "message"),
    [
        ("0", 0, "FTE must be more than 0 and no more than 1."),
        ("1.5", 0, "FTE must be more than 0 and no more than 1."),
        ("0.5", 40, "is the latest recorded: a change cannot start before that day."),
    ],
)
def test_the_admin_refuses_an_fte_the_rules_refuse(
    admin_client, social_worker, fte, start, message
):
    services.fte_change(
        person=social_worker, fte=D("0.8"), start_date=days_ago(10), recorded_by=None
    )
    before = history(social_worker)
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, new_fte=fte, fte_from=days_ago(start).strftime("%d/%m/%Y")),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert history(social_worker) == before
