"""The next 12 weeks, forecast from what is recorded today, worked by hand
(issue 26): each example's numbers follow from the default scheme (a
benchmark of 100, levels 1–3) and are asserted as a team manager reads them."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from caseload import services as caseload_services
from caseload.models import Person, TeamMembership
from tests.factories import CaseFactory, member, reason_named
from tests.test_supervision import rate
from weighting import services as weighting
from weighting.forecast import (
    forecast_days,
    next_quarter_end,
    service_forecast,
    team_forecast,
    weekly_demand,
)
from weighting.numbers import caseload_numbers

D = Decimal
TODAY = timezone.localdate


def weeks(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(weeks=n)


def ago(days: int) -> datetime.date:
    return TODAY() - datetime.timedelta(days=days)


def holding(team, person, scheme, levels=(3, 3, 3), **rating):
    """`person` holds a new case rated `levels` (a weight of their sum)."""
    case = CaseFactory(team=team)
    rate(case, scheme, levels, on=ago(30), **rating)
    allocation_services.allocation_create(
        case=case, person=person, start_date=ago(20), allocated_by=None
    )
    return case


def forecast(team, people):
    members = []
    for person in people:
        current = TeamMembership.objects.active_on(TODAY()).filter(team=team, person=person)
        upcoming = TeamMembership.objects.filter(team=team, person=person, start_date__gt=TODAY())
        person.team_start = None if current.exists() else upcoming.first().start_date
        person.team_end = current.first().end_date if current.exists() else None
        members.append(person)
    _today, _terms, result = team_forecast(members, TODAY(), team.service_id, team.pk)
    return {m.person.full_name: m.points for m in result.members}, result


def percent(point):
    return None if point is None else point.percent_display


def test_an_asyes_factor_steps_up_on_its_date(team, default_scheme):
    """Ben, an ASYE at 0.8 (capacity 80), holds 9: 11.25%. From three weeks
    ahead his factor is 0.9 (capacity 90): 10.0% from week 3."""
    ben = member(team, full_name="Ben Okafor", role=Person.Role.ASYE)
    holding(team, ben, default_scheme)
    weighting.experience_factor_set(
        person=ben, factor=D("0.9"), start_date=weeks(3), reason="Six months in", by=None
    )
    points, _ = forecast(team, [ben])
    assert [percent(p) for p in points["Ben Okafor"][:5]] == [
        "11.3%", "11.3%", "11.3%", "10.0%", "10.0%",
    ]  # fmt: skip
    assert points["Ben Okafor"][3].capacity == 90


def test_a_planned_fte_change_reaches_the_forecast_on_its_date(team, default_scheme):
    """Ben, an ASYE at 1.0 FTE and factor 0.8 (capacity 100 × 1.0 × 0.8 = 80),
    holds 9: 11.25%. From three weeks ahead his FTE is 0.6: capacity
    100 × 0.6 × 0.8 = 48, and 9 is 18.75% of it. Today's figure is as it was."""
    ben = member(team, full_name="Ben Okafor", role=Person.Role.ASYE)
    holding(team, ben, default_scheme)
    caseload_services.fte_change(person=ben, fte=D("0.6"), start_date=weeks(3), recorded_by=None)
    points, _ = forecast(team, [ben])
    assert [p.capacity for p in points["Ben Okafor"][:5]] == [80, 80, 80, 48, 48]
    assert [p.fte for p in points["Ben Okafor"][2:5]] == [1, D("0.6"), D("0.6")]
    assert percent(points["Ben Okafor"][4]) == "18.8%"
    assert caseload_numbers([ben], TODAY())[ben.pk].capacity == 80
    ben.refresh_from_db()
    assert ben.fte == 1  # a change ahead leaves today's FTE


def test_a_reduction_ends_and_capacity_returns(team, default_scheme):
    """Asha's 20% reduction ends in five weeks: capacity 80 → 100, 9 of it used."""
    asha = member(team, full_name="Asha Patel")
    holding(team, asha, default_scheme)
    weighting.reduction_create(
        person=asha, reason=reason_named(asha, "Phased return to work"), start_date=ago(10),
        end_date=weeks(5),
        percentage=D(20),
    )  # fmt: skip
    points, _ = forecast(team, [asha])
    assert [p.capacity for p in points["Asha Patel"]][4:7] == [80, 100, 100]
    assert percent(points["Asha Patel"][12]) == "9.0%"


def test_a_leaver_drops_out_and_a_starter_comes_in(team, default_scheme):
    """Daniel's membership ends in six weeks (exclusive); Ella starts in three."""
    daniel = member(team, full_name="Daniel Reid")
    TeamMembership.objects.filter(person=daniel).update(end_date=weeks(6))
    ella = member(team, full_name="Ella Shah", since=weeks(3))
    points, _ = forecast(team, [daniel, ella])
    assert [p is not None for p in points["Daniel Reid"]] == [True] * 6 + [False] * 7
    assert [p is not None for p in points["Ella Shah"]] == [False] * 3 + [True] * 10
    assert points["Ella Shah"][3].capacity == 100


def test_an_anticipated_rating_is_reached_on_its_date_and_an_overdue_one_is_not(
    team, default_scheme
):
    """Two cases of 9. One is anticipated at 6 in two weeks: from week 2 the
    load is 15. The other was anticipated at 3 three days ago: overdue, so
    not assumed, and counted as such. Today's live figure assumes neither."""
    asha = member(team, full_name="Asha Patel")
    ids = list(default_scheme.criteria.values_list("pk", flat=True))
    holding(
        team, asha, default_scheme,
        anticipated_levels=dict(zip(ids, map(D, (2, 2, 2)), strict=True)),
        anticipated_by=weeks(2),
    )  # fmt: skip
    holding(
        team, asha, default_scheme,
        anticipated_levels=dict(zip(ids, map(D, (1, 1, 1)), strict=True)),
        anticipated_by=ago(3),
    )  # fmt: skip
    points, result = forecast(team, [asha])
    assert [p.weighted_load for p in points["Asha Patel"][:4]] == [18, 18, 15, 15]
    assert caseload_numbers([asha], TODAY())[asha.pk].weighted_load == 18
    assert result.overdue_anticipated == 1


def test_the_team_page_shows_the_next_12_weeks_and_who_goes_over_first(
    client, team, team_manager, default_scheme
):
    """Asha holds 98 of 100, one case of 3 anticipated to rise to 6 the day
    before week 5: she goes over the maximum in week 5 (101%), and the page
    says so."""
    asha = member(team, full_name="Asha Patel")
    ids = list(default_scheme.criteria.values_list("pk", flat=True))
    for _ in range(10):
        holding(team, asha, default_scheme)  # 90
    holding(team, asha, default_scheme, levels=(2, 2, 1))  # 95
    holding(
        team, asha, default_scheme, levels=(1, 1, 1),
        anticipated_levels=dict(zip(ids, map(D, (2, 2, 2)), strict=True)),
        anticipated_by=weeks(5) - datetime.timedelta(days=1),
    )  # 98, then 101  # fmt: skip
    client.force_login(team_manager.user)
    page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    panel = " ".join(page.split('id="next-weeks"')[1].split("Unallocated cases")[0].split())
    assert "Asha Patel" in panel and "98.0%" in panel and "101.0%" in panel
    assert f"Asha Patel goes over the maximum by {weeks(5):%-d %B}" in panel
    assert "each anticipated rating is reached on its due date" in panel


def test_forecast_days_are_today_and_twelve_weeks_after():
    days = forecast_days(datetime.date(2026, 12, 7))
    assert (len(days), days[0], days[-1]) == (
        13,
        datetime.date(2026, 12, 7),
        datetime.date(2027, 3, 1),
    )


@pytest.mark.parametrize("people", [3, 30])
def test_the_forecast_adds_no_query_to_the_team_page(
    client, team, team_manager, default_scheme, people, django_assert_max_num_queries
):
    for n in range(people):
        holding(team, member(team, full_name=f"Worker {n}"), default_scheme)
    client.force_login(team_manager.user)
    with django_assert_max_num_queries(14):
        client.get(reverse("team_detail", args=[team.pk]))


def test_the_forecast_page_shows_the_team_week_by_week(
    client, team, team_manager, dmt_member, default_scheme
):
    """Asha holds 18 of 100; Ben, an ASYE, 9 of 80 until his factor is 0.9
    from week 3 (90). The team: 27 of 180 today, 27 of 190 from week 3."""
    asha = member(team, full_name="Asha Patel")
    ben = member(team, full_name="Ben Okafor", role=Person.Role.ASYE)
    holding(team, asha, default_scheme)
    holding(team, asha, default_scheme)
    holding(team, ben, default_scheme)
    weighting.experience_factor_set(
        person=ben, factor=D("0.9"), start_date=weeks(3), reason="Six months in", by=None
    )
    for viewer in (team_manager, dmt_member):
        client.force_login(viewer.user)
        response = client.get(reverse("team_forecast", args=[team.pk]))
        assert response.status_code == 200
    page = response.context["page"]
    rows = page.figure.table.rows
    assert len(rows) == 13
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows[:4]] == [
        ("Today", 2, 27, 180, "15.0%"),
        (f"{weeks(1):%-d %B %Y}", 2, 27, 180, "15.0%"),
        (f"{weeks(2):%-d %B %Y}", 2, 27, 180, "15.0%"),
        (f"{weeks(3):%-d %B %Y}", 2, 27, 190, "14.2%"),
    ]
    html = response.content.decode()
    assert 'id="chart-team-forecast-title"' in html
    assert "A forecast, not a record" in html
    ben_row = next(r for r in page.people.rows if r[0] == "Ben Okafor")
    assert ben_row[1:5] == ["11.3%", "11.3%", "11.3%", "10.0%"]


@pytest.mark.parametrize("people", [3, 30])
def test_the_forecast_page_query_count_does_not_grow(
    client, team, team_manager, default_scheme, people, django_assert_max_num_queries
):
    for n in range(people):
        holding(team, member(team, full_name=f"Worker {n}"), default_scheme)
    client.force_login(team_manager.user)
    with django_assert_max_num_queries(15):  # with the vacancies and the demand
        client.get(reverse("team_forecast", args=[team.pk]))


# A planned closing date ----------------------------------------------------------


def date_fields(name, day):
    return {f"{name}_0": day.day, f"{name}_1": day.month, f"{name}_2": day.year}


def test_a_case_planned_to_close_leaves_the_forecast_from_that_day(
    client, team, team_manager, default_scheme
):
    """Asha holds two cases of 9; one is planned to close in four weeks: the
    forecast's load is 18 until then and 9 from then. Today's live figure,
    and the case itself, stay as they are."""
    asha = member(team, full_name="Asha Patel")
    holding(team, asha, default_scheme)
    closing = holding(team, asha, default_scheme)
    client.force_login(team_manager.user)
    url = reverse("case_plan_closing", args=[closing.pk])
    response = client.post(url, date_fields("planned_close_on", weeks(4)))
    assert response.status_code == 302
    closing.refresh_from_db()
    assert (closing.planned_close_on, closing.status) == (weeks(4), "open")
    page = client.get(reverse("case_detail", args=[closing.pk])).content.decode()
    assert f"Planned to close on {weeks(4):%-d %B %Y}" in page
    points, _ = forecast(team, [asha])
    assert [p.weighted_load for p in points["Asha Patel"][3:6]] == [18, 9, 9]
    assert caseload_numbers([asha], TODAY())[asha.pk].weighted_load == 18

    client.post(url, {"clear": ""})
    closing.refresh_from_db()
    assert closing.planned_close_on is None


@pytest.mark.parametrize("day", [0, -3])
def test_a_planned_closing_date_is_in_the_future(client, team, team_manager, held_case, day):
    client.force_login(team_manager.user)
    url = reverse("case_plan_closing", args=[held_case.pk])
    response = client.post(url, date_fields("planned_close_on", weeks(0) + datetime.timedelta(day)))
    assert response.status_code == 200
    assert "Planned closing date must be in the future" in response.content.decode()
    held_case.refresh_from_db()
    assert held_case.planned_close_on is None


def test_only_the_teams_manager_plans_a_closing(
    client, held_case, social_worker, other_manager, dmt_member
):
    url = reverse("case_plan_closing", args=[held_case.pk])
    for person in (social_worker, other_manager, dmt_member):
        client.force_login(person.user)
        assert client.post(url, date_fields("planned_close_on", weeks(2))).status_code == 404
    held_case.refresh_from_db()
    assert held_case.planned_close_on is None


# Vacancies ------------------------------------------------------------------------


def vacancy(client, team, **fields):
    data = {"add": "", "fte": "1", **date_fields("start_date", weeks(4)), "note": "Social worker"}
    data.update(fields)
    return client.post(reverse("team_vacancies", args=[team.pk]), data)


def test_a_vacancy_counts_in_the_forecast_only_where_the_team_says_so(
    client, team, team_manager, default_scheme
):
    """Asha holds 18 of 100. A full-time vacancy from week 4: with the setting
    off the capacity stays 100; on, it is 200 from week 4 (9.0%). Today's
    figures never change."""
    asha = member(team, full_name="Asha Patel")
    holding(team, asha, default_scheme)
    holding(team, asha, default_scheme)
    client.force_login(team_manager.user)
    assert vacancy(client, team).status_code == 302
    url = reverse("team_forecast", args=[team.pk])

    rows = client.get(url).context["page"].figure.table.rows
    assert [r[3] for r in rows[3:6]] == [100, 100, 100]
    client.post(reverse("team_vacancies", args=[team.pk]), {"counts": "yes"})
    rows = client.get(url).context["page"].figure.table.rows
    assert [(r[3], r[4]) for r in rows[3:6]] == [(100, "18.0%"), (200, "9.0%"), (200, "9.0%")]
    assert caseload_numbers([asha], TODAY())[asha.pk].capacity == 100
    (ahead,) = service_forecast(team.service, TODAY(), [weeks(3), weeks(5)])
    assert ahead.vacancy_capacity == [0, 100]  # the service's forecast counts it too
    page = client.get(url).content.decode()
    assert "1.00 FTE from" in page and "The capacity above counts them" in page

    removed = team.vacancies.get()
    client.post(reverse("team_vacancies", args=[team.pk]), {"remove": str(removed.pk)})
    assert not team.vacancies.exists()
    assert removed.history.filter(history_type="-").exists()  # kept in its history


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"fte": "0"}, "The FTE must be more than 0"),
        ({"fte": "1.5"}, "The FTE must be 1 or less"),
        ({"fte": "a"}, "Enter the FTE as a number, like 1 or 0.5"),
        (date_fields("end_date", weeks(4)), "Date it is filled must be after the date it starts"),
        ({"start_date_1": "13"}, "Date the vacancy starts must be a real date"),
    ],
)
def test_a_bad_vacancy_is_explained_and_nothing_is_saved(
    client, team, team_manager, fields, message
):
    client.force_login(team_manager.user)
    response = vacancy(client, team, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not team.vacancies.exists()


def test_only_the_teams_manager_records_or_removes_vacancies(
    client, team, team_manager, social_worker, other_manager, dmt_member
):
    client.force_login(team_manager.user)
    vacancy(client, team)
    recorded = team.vacancies.get()
    for person in (social_worker, other_manager, dmt_member):
        client.force_login(person.user)
        assert vacancy(client, team).status_code == 404
        url = reverse("team_vacancies", args=[team.pk])
        assert client.post(url, {"remove": str(recorded.pk)}).status_code == 404
        assert client.post(url, {"counts": "yes"}).status_code == 404
    team.refresh_from_db()
    assert team.vacancies.count() == 1 and not team.forecast_counts_vacancies
    client.force_login(team_manager.user)
    other = client.post(reverse("team_vacancies", args=[team.pk]), {"remove": "x"})
    assert other.status_code == 404  # not a vacancy of this team


# A service's forecast ---------------------------------------------------------------


def test_the_service_forecast_names_the_teams_above_their_aspiration_next_quarter(
    client, team, other_team, dmt_member, default_scheme
):
    """Child Protection (aspiration 20): Asha, 1.0 FTE, holds cases of 25
    children in all, one of 5 planned to close before the quarter's end:
    20 per FTE then, within. Looked After Children: Cara, 0.5 FTE, holds 12
    children: 24 per FTE, above, and the overview says so."""
    other_team.aspiration = D(20)
    other_team.save()
    asha = member(team, full_name="Asha Patel")
    for children in (10, 10, 5):
        case = CaseFactory(team=team, people_count=children)
        allocation_services.allocation_create(
            case=case, person=asha, start_date=ago(10), allocated_by=None
        )
    closing = case
    cara = member(other_team, full_name="Cara Jones", fte=D("0.5"))
    case = CaseFactory(team=other_team, people_count=12)
    allocation_services.allocation_create(
        case=case, person=cara, start_date=ago(10), allocated_by=None
    )
    caseload_services.case_plan_closing(case=closing, on=weeks(2), by=None)
    client.force_login(dmt_member.user)
    page = client.get(reverse("service_forecast", args=[team.service_id]))
    assert page.status_code == 200
    above = page.context["page"].above
    assert [(t.name, per_fte) for t, per_fte in above] == [("Looked After Children", 24)]
    overview = client.get(reverse("service_overview", args=[team.service_id])).content.decode()
    end = next_quarter_end(TODAY())
    assert f"Forecast above their aspiration on {end:%-d %B %Y}" in overview
    assert "Looked After Children (24.0 against 20)" in overview


# Plans recorded on a person's page -------------------------------------------------


def plan(client, person, action, **fields):
    """Post one of the plan page's forms; a reason is given by its name."""
    if fields.get("reason"):
        fields["reason"] = reason_named(person, fields["reason"]).pk
    return client.post(reverse("person_plan", args=[person.pk]), {action: "", **fields})


def test_a_manager_plans_a_leaver_a_step_and_protected_time(
    client, team, team_manager, default_scheme
):
    """Asha leaves in six weeks; Ben's share steps to 0.9 in three; Chloe's
    training takes 20% of her hours from next week. The forecast reads each
    from its date; today's figures do not change."""
    asha = member(team, full_name="Asha Patel")
    ben = member(team, full_name="Ben Okafor", role=Person.Role.ASYE)
    chloe = member(team, full_name="Chloe Evans")
    client.force_login(team_manager.user)
    assert plan(client, asha, "leaving", **date_fields("end_date", weeks(6))).status_code == 302
    assert (
        plan(client, ben, "factor", factor="0.9", **date_fields("start_date", weeks(3)))
    ).status_code == 302
    response = plan(
        client, chloe, "reduction", reason="training", percentage="20",
        **date_fields("start_date", weeks(1)),
    )  # fmt: skip
    assert response.status_code == 302
    points, _ = forecast(team, [asha, ben, chloe])
    assert [p is not None for p in points["Asha Patel"][5:8]] == [True, False, False]
    assert [p.capacity for p in points["Ben Okafor"][2:4]] == [80, 90]
    assert [p.capacity for p in points["Chloe Evans"][0:2]] == [100, 80]
    page = client.get(reverse("person_plan", args=[ben.pk])).content.decode()
    assert "0.90 from" in page
    assert "1.00 FTE: 37.0 hours a week of a full-time 37" in page


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        (
            "leaving",
            {"end_date_0": "x", "end_date_1": "1", "end_date_2": "2027"},
            "Leaving date must be a real date",
        ),
        ("leaving", date_fields("end_date", weeks(0)), "The leaving date must be in the future"),
        ("factor", {"factor": "1.2"}, "The share must be 1 or less"),
        ("reduction", {"reason": "training"}, "Enter the hours a week or a percentage"),
        (
            "reduction",
            {"reason": "training", "hours_per_week": "7", "percentage": "10"},
            "Give hours a week or a percentage, not both",
        ),
    ],
)
def test_a_bad_plan_is_explained_and_nothing_changes(
    client, team, team_manager, social_worker, action, fields, message
):
    client.force_login(team_manager.user)
    response = plan(client, social_worker, action, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    membership = TeamMembership.objects.get(person=social_worker)
    assert membership.end_date is None
    assert not social_worker.reductions.exists() and not social_worker.experience_factors.exists()


def test_only_the_persons_manager_records_plans(
    client, team, social_worker, colleague, other_manager, dmt_member
):
    for person in (social_worker, colleague, other_manager, dmt_member):
        client.force_login(person.user)
        response = plan(client, social_worker, "leaving", **date_fields("end_date", weeks(6)))
        assert response.status_code == 404
    assert TeamMembership.objects.get(person=social_worker).end_date is None


def test_a_chosen_date_is_forecast_beside_the_weeks(client, team, team_manager, default_scheme):
    """Ben, an ASYE holding 9, steps to 0.9 in 20 weeks: on a date in 21
    weeks, beyond the 12 shown, his capacity is 90 (10.0%)."""
    ben = member(team, full_name="Ben Okafor", role=Person.Role.ASYE)
    holding(team, ben, default_scheme)
    weighting.experience_factor_set(
        person=ben, factor=D("0.9"), start_date=weeks(20), reason="Six months in", by=None
    )
    client.force_login(team_manager.user)
    url = reverse("team_forecast", args=[team.pk])
    response = client.get(url, {f"on_{n}": v for n, v in enumerate(
        (weeks(21).day, weeks(21).month, weeks(21).year)
    )})  # fmt: skip
    table = response.context["page"].chosen
    assert table.caption == f"Child Protection on {weeks(21):%-d %B %Y}"
    assert table.rows == [["Ben Okafor", 9, 90, "10.0%", table.rows[0][4]]]
    assert table.totals[:4] == ["Team", 9, 90, "10.0%"]
    late = client.get(url, {"on_0": "1", "on_1": "1", "on_2": str(TODAY().year + 3)})
    assert "Date to forecast must be after today and within a year" in late.content.decode()
    assert late.context["page"].chosen is None


def test_the_demand_line_assumes_new_work_as_in_the_last_12_weeks(
    client, team, team_manager, colleague, default_scheme
):
    """In the last 12 weeks the team took on two new cases, of 9 and 7, and
    moved a third between workers (a transfer, not new work): 16 points in
    12 weeks, 1.33 a week. Asha holds 16: the line is 16 + 1.33 × week."""
    asha = member(team, full_name="Asha Patel")
    holding(team, asha, default_scheme)  # 9, allocated 20 days ago
    holding(team, asha, default_scheme, levels=(3, 3, 1))  # 7
    moved = CaseFactory(team=team, opened_on=ago(300))
    rate(moved, default_scheme, (3, 3, 3), on=ago(200))
    allocation_services.allocation_create(
        case=moved, person=colleague, start_date=ago(150), allocated_by=None
    )
    allocation_services.case_reallocate(
        case=moved, to_person=asha, on=ago(10), by=None,
        reason="Court work",
    )  # fmt: skip
    assert weekly_demand(team, TODAY(), D(6)) == D(16) / 12
    client.force_login(team_manager.user)
    page = client.get(reverse("team_forecast", args=[team.pk])).context["page"]
    rows = page.figure.table.rows
    assert rows[0][2] == rows[0][7] == 25  # today: 9 + 7 + 9, and no new work yet
    assert rows[12][7] == 25 + D(16)  # twelve weeks of 16/12
    assert "new work keeps arriving as in the last 12 weeks: 1.3 weighted points a week" in (
        page.figure.note
    )
