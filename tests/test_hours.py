"""Hours-based capacity, the individual capacity planner of seed 003 (issue
26), worked by hand and read as the team manager and the worker read it.

Child Protection agrees an hours scheme: each case's weight is the hours a
month it needs (direct work 10, 20 or 30 hours, plus travel and recording
0, 5 or 10), with 7 hours a week of each person's time for non-case work.
Asha, 1.0 FTE in a service of 37-hour weeks, factor 1, no reduction:
capacity = (37 − 7) × 52 ÷ 12 = 130 hours a month. Her cases need 40, 35
and 30 hours: 105 of 130 hours, 80.8%, blue.
"""

import datetime
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from caseload.services import RuleBroken
from tests.conftest import days_ago
from tests.test_what_if import holds
from weighting import services as weighting
from weighting.models import NonCaseAllowance, Scheme
from weighting.numbers import caseload_numbers

D = Decimal
HOURS_CRITERIA = [
    weighting.CriterionSpec(
        "Direct work", "", [(D(10), "Light"), (D(20), "Regular"), (D(30), "Intensive")]
    ),
    weighting.CriterionSpec(
        "Travel and recording", "", [(D(0), "None"), (D(5), "Some"), (D(10), "A lot")]
    ),
]


SEVEN = D(7)


def hours_scheme(team, manager, non_case_hours=SEVEN, criteria=HOURS_CRITERIA, agreed=100):
    draft = weighting.scheme_draft_new_version(team=team, by=manager)
    weighting.scheme_update_draft(
        scheme=draft,
        name="Hours a month",
        benchmark=draft.benchmark,
        criteria=criteria,
        unit=Scheme.Unit.HOURS,
        non_case_hours=non_case_hours,
    )
    return weighting.scheme_agree(scheme=draft, agreed_on=days_ago(agreed), by=manager)


@pytest.fixture
def asha(team, team_manager, social_worker, default_scheme):
    scheme = hours_scheme(team, team_manager)
    holds(social_worker, team, "CP-1", scheme, (30, 10))
    holds(social_worker, team, "CP-2", scheme, (30, 5))
    holds(social_worker, team, "CP-3", scheme, (20, 10))
    return social_worker


def test_the_worked_example_is_105_of_130_hours_blue(asha):
    numbers = caseload_numbers([asha], timezone.localdate())[asha.pk]
    assert (numbers.weighted_load, numbers.capacity) == (D(105), D(130))
    assert numbers.percent_display == "80.8%"
    assert numbers.band_label == "Under 95%"
    assert (numbers.weighted_load_display, numbers.capacity_display) == (
        "105 hours",
        "130.0 hours",
    )


def test_pages_speak_hours_for_an_hours_scheme(client, team, team_manager, asha):
    client.force_login(team_manager.user)
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "105 hours" in team_page
    assert "130.0 hours" in team_page
    assert "less the team's 7 hours a week for non-case time" in team_page
    client.force_login(asha.user)
    own = client.get(reverse("my_caseload")).content.decode()
    assert "105 hours" in own
    assert "of a capacity of 130.0 hours" in own


def test_a_persons_own_allowance_replaces_the_teams_from_its_date(asha):
    """Asha's own allowance of 3 hours a week from 10 days ago: (37 − 3) ×
    52 ÷ 12 = 147.33 hours; before it, the team's 7 (130 hours)."""
    NonCaseAllowance.objects.create(person=asha, hours_per_week=D(3), start_date=days_ago(10))
    today = caseload_numbers([asha], timezone.localdate())[asha.pk]
    before = caseload_numbers([asha], days_ago(11))[asha.pk]
    assert today.capacity == D(34) * 52 / 12
    assert today.capacity.quantize(D("0.01")) == D("147.33")
    assert before.capacity == D(130)


def test_part_time_and_the_experience_factor_scale_the_hours(team, team_manager, default_scheme):
    """An ASYE at 0.5 FTE (18.5 hours), factor 0.8: (18.5 − 7) × 52 ÷ 12 ×
    0.8 = 39.87 hours a month."""
    from tests.factories import member

    hours_scheme(team, team_manager)
    ben = member(team, full_name="Ben Okafor", role="asye", fte=D("0.5"))
    capacity = caseload_numbers([ben], timezone.localdate())[ben.pk].capacity
    assert capacity == (D("18.5") - 7) * 52 / 12 * D("0.8")
    assert capacity.quantize(D("0.01")) == D("39.87")


@pytest.mark.parametrize(
    ("non_case_hours", "criteria", "message"),
    [
        (D(-1), HOURS_CRITERIA, "cannot be below 0 hours"),
        (D(40), HOURS_CRITERIA, "cannot be more than the service's full-time week of 37 hours"),
        (
            D(7),
            [weighting.CriterionSpec("Direct work", "", [(D(10), "Light"), (D(170), "All")])],
            "would need 170 hours a month, more than a full-time month of 160.3 hours",
        ),
    ],
)
def test_bad_hours_are_refused_with_a_clear_message_and_change_nothing(
    team, team_manager, default_scheme, non_case_hours, criteria, message
):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    with pytest.raises(RuleBroken, match=message):
        weighting.scheme_update_draft(
            scheme=draft,
            name="Hours",
            benchmark=draft.benchmark,
            criteria=criteria,
            unit=Scheme.Unit.HOURS,
            non_case_hours=non_case_hours,
        )
    draft.refresh_from_db()
    assert (draft.unit, draft.non_case_hours, draft.criteria.count()) == ("points", 0, 3)


def test_the_scheme_editor_takes_hours_and_says_what_is_wrong(
    client, team, team_manager, default_scheme
):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    client.force_login(team_manager.user)
    url = reverse("scheme_edit", args=[draft.pk])
    form = client.get(url).context["formset"]
    data = {
        "name": "Hours a month",
        "unit": "hours",
        "benchmark": "100",
        "non_case_hours": "-2",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "1000",
        "criteria-0-name": "Direct work",
        "criteria-0-levels": "10 = Light\n20 = Regular\n30 = Intensive",
    }
    assert form is not None
    response = client.post(url, data)
    assert "The weekly allowance cannot be below 0 hours" in response.content.decode()
    draft.refresh_from_db()
    assert draft.unit == "points"
    data["non_case_hours"] = "7"
    client.post(url, data)
    draft.refresh_from_db()
    assert (draft.unit, draft.non_case_hours) == ("hours", D(7))


def test_a_new_version_keeps_the_unit_and_allowance(team, team_manager, asha):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    assert (draft.unit, draft.non_case_hours) == ("hours", D(7))


def plan(client, person, **fields):
    day = fields.pop("on")
    data = {
        "allowance": "",
        "start_date_0": day.day,
        "start_date_1": day.month,
        "start_date_2": day.year,
        **fields,
    }
    return client.post(reverse("person_plan", args=[person.pk]), data)


def test_a_manager_records_a_persons_own_allowance(client, team_manager, asha):
    """From a week ahead, 3 hours a week: capacity 147.33 from then, the
    team's 130 until then (a forecast reads it)."""
    client.force_login(team_manager.user)
    ahead = timezone.localdate() + datetime.timedelta(days=7)
    response = plan(client, asha, on=ahead, hours_per_week="3", reason="Fewer duty shifts")
    assert response.status_code == 302
    allowance = asha.non_case_allowances.get()
    assert (allowance.hours_per_week, allowance.start_date) == (D(3), ahead)
    assert caseload_numbers([asha], timezone.localdate())[asha.pk].capacity == D(130)
    assert caseload_numbers([asha], ahead)[asha.pk].capacity == D(34) * 52 / 12
    page = client.get(reverse("person_plan", args=[asha.pk])).content.decode()
    assert "3 hours a week from" in page


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("-1", "The hours a week cannot be below 0"),
        ("38", "The hours a week must be 37 or less"),
        ("three", "Enter the hours a week as a number, like 3"),
        ("", "Enter the hours a week for non-case time"),
    ],
)
def test_a_bad_allowance_gets_a_clear_message_and_changes_nothing(
    client, team_manager, asha, hours, message
):
    client.force_login(team_manager.user)
    response = plan(client, asha, on=timezone.localdate(), hours_per_week=hours)
    assert message in response.content.decode()
    assert not NonCaseAllowance.objects.exists()


def test_only_the_persons_manager_records_an_allowance(
    client, asha, colleague, outsider, other_manager, dmt_member
):
    for person in (asha, colleague, outsider, other_manager, dmt_member):
        client.force_login(person.user)
        response = plan(client, asha, on=timezone.localdate(), hours_per_week="3")
        assert response.status_code == 404, person.full_name
    assert not NonCaseAllowance.objects.exists()


def test_an_allowance_cannot_start_before_the_current_one(asha, team_manager):
    weighting.non_case_allowance_set(
        person=asha, hours_per_week=D(3), start_date=days_ago(5), by=team_manager
    )
    with pytest.raises(RuleBroken, match="a new one must start after that"):
        weighting.non_case_allowance_set(
            person=asha, hours_per_week=D(4), start_date=days_ago(6), by=team_manager
        )
    assert asha.non_case_allowances.count() == 1


def test_dmt_compares_weight_per_fte_only_among_teams_of_the_same_unit(
    client, team, other_team, dmt_member, asha, outsider, default_scheme
):
    """Child Protection (hours) has Asha's 105 hours at 1 FTE; Looked After
    Children (points) has Katie's case of 7 points at 1 FTE. Hours per FTE:
    105 and the service's 105; weight per FTE: 7 and the service's 7, never
    112 over 2 FTE."""
    holds(outsider, other_team, "LA-1", default_scheme, (3, 3, 1))
    client.force_login(dmt_member.user)
    response = client.get(reverse("service_overview", args=[team.service_id]))
    table = response.context["page"].tables["teams-today"]
    headings = [c.heading for c in table.columns]
    weight, hours = headings.index("Weight per FTE"), headings.index("Hours a month per FTE")
    rows = {str(row[0]): row for row in table.rows}
    assert (rows[team.name][weight], rows[team.name][hours]) == (None, D(105))
    assert (rows[other_team.name][weight], rows[other_team.name][hours]) == (D(7), None)
    assert (table.totals[weight], table.totals[hours]) == (D(7), D(105))


def test_a_quarterly_review_keeps_each_teams_unit(team, other_team, asha, outsider):
    from caseload.dates import Quarter
    from reports.services.reviews import quarterly_review

    quarter = Quarter.containing(timezone.localdate()).previous
    review = quarterly_review(team.service, quarter)
    units = dict(review.rows.values_list("team__name", "unit"))
    assert units == {team.name: "hours", other_team.name: "points"}


def test_a_case_rated_in_points_counts_as_unrated_once_the_team_measures_hours(
    team, team_manager, social_worker, default_scheme
):
    """CP-9 was rated 9 points before Child Protection agreed its hours
    scheme: today it counts the hours scheme's middle (20 + 5 = 25 hours)
    and is flagged unrated until it is rated in hours; before the switch it
    was 9 points."""
    holds(social_worker, team, "CP-9", default_scheme, (3, 3, 3))  # 30 days ago
    hours_scheme(team, team_manager, agreed=10)
    today = caseload_numbers([social_worker], timezone.localdate())[social_worker.pk]
    assert (today.weighted_load, today.unrated_count) == (D(25), 1)
    before = caseload_numbers([social_worker], days_ago(20))[social_worker.pk]
    assert (before.weighted_load, before.unrated_count) == (D(9), 0)


def test_a_snapshot_keeps_the_unit_and_dmt_pages_say_hours(
    client, team, asha, dmt_member, outsider, other_team, default_scheme
):
    """Asha's stored day is 105 of 130 in hours; her DMT page's headings say
    hours a month, and the people table of the service's teams says which
    rows are hours."""
    from reports.models import CaseloadSnapshot
    from reports.services.snapshots import write_snapshots

    holds(outsider, other_team, "LA-1", default_scheme, (3, 3, 1))
    write_snapshots([asha.pk, outsider.pk], [days_ago(7)])
    stored = CaseloadSnapshot.objects.get(person=asha, day=days_ago(7))
    assert (stored.weighted_load, stored.capacity, stored.unit) == (D(105), D(130), "hours")
    client.force_login(dmt_member.user)
    page = client.get(reverse("person_dashboard", args=[asha.pk]))
    headings = [c.heading for c in page.context["page"].tables["person-trend"].columns]
    assert "Weighted load (hours a month)" in headings
    assert "Capacity (hours a month)" in headings
    dashboard = client.get(reverse("team_dashboard", args=[team.pk])).context["page"]
    people = dashboard.tables["people-today"]
    measured = [c.heading for c in people.columns].index("Measured in")
    assert [row[measured] for row in people.rows] == ["hours a month"]


def rate_page(client, case, **fields):
    today = timezone.localdate()
    data = {"rated_on_0": today.day, "rated_on_1": today.month, "rated_on_2": today.year}
    return client.post(reverse("case_rate", args=[case.pk]), {**data, **fields})


def test_a_manager_sets_a_cases_hours_directly_in_an_hours_scheme(client, team, team_manager, asha):
    """CP-1 (40 hours by its levels) is set to 55 hours a month directly:
    Asha's load is 105 − 40 + 55 = 120 of 130 hours, 92.3%."""
    case = asha.allocations.get(case__reference="CP-1").case
    client.force_login(team_manager.user)
    response = rate_page(client, case, hours="55")
    assert response.status_code == 302
    rating = case.ratings.latest("pk")
    assert (rating.total, rating.levels.count()) == (D(55), 0)
    numbers = caseload_numbers([asha], timezone.localdate())[asha.pk]
    assert (numbers.weighted_load, numbers.percent_display) == (D(120), "92.3%")
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "55 hours a month" in page
    assert "given for this case directly" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hours": "0"}, "The hours a month must be more than 0"),
        ({"hours": "200"}, "at most a full-time month of 160.3 hours"),
        ({"hours": "lots"}, "Enter the hours a month as a number, like 25"),
        ({}, "Choose a level of direct work, or give the hours a month"),
    ],
)
def test_bad_hours_for_a_case_get_a_clear_message_and_change_nothing(
    client, team_manager, asha, fields, message
):
    case = asha.allocations.get(case__reference="CP-1").case
    client.force_login(team_manager.user)
    response = rate_page(client, case, **fields)
    assert message in response.content.decode()
    assert case.ratings.count() == 1


def test_a_points_scheme_takes_no_hours_directly(held_case, default_scheme):
    with pytest.raises(RuleBroken, match="Only a scheme measured in hours a month"):
        weighting.rating_create(
            case=held_case,
            levels={},
            rated_on=timezone.localdate(),
            rated_by=None,
            status="interim",
            hours=D(20),
        )
    assert not held_case.ratings.exists()


def test_the_12_week_analysis_keeps_and_shows_the_unit(client, asha, team_manager):
    from reports.models import CaseloadAnalysis
    from reports.services.analyses import analyse

    analyse([asha.pk], timezone.localdate(), notify_people=False)
    analysis = CaseloadAnalysis.objects.get(person=asha)
    assert analysis.weeks[-1]["unit"] == "hours"
    assert analysis.in_hours
    html = render_to_string("reports/_analysis.html", {"analysis": analysis})
    assert "105 hours" in html
    assert "130.0 hours" in html
