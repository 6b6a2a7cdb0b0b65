"""The scheme page and its versions, the case page's rating, and rating a case."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from caseload.models import Service
from tests.conftest import days_ago
from tests.factories import CaseFactory
from weighting import services as weighting
from weighting.models import Rating, Scheme


def date_fields(prefix: str, day) -> dict[str, str]:
    return {
        f"{prefix}_0": str(day.day),
        f"{prefix}_1": str(day.month),
        f"{prefix}_2": str(day.year),
    }


def signed_in(client, person):
    client.force_login(person.user)
    return client


# The scheme page -------------------------------------------------------------


def test_the_scheme_page_shows_the_agreed_criteria_and_descriptors(
    client, team, team_manager, default_scheme
):
    page = signed_in(client, team_manager).get(reverse("team_scheme", args=[team.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Caseload weighting, version 1" in text
    assert "agreed for all of Children&#x27;s Social Care" in text
    assert "Current risk not assessed / change of circumstances requiring new assessment." in text
    assert "100 weighted points for one full-time practitioner" in text
    assert "from 3 (the lowest level of each criterion) to 9 (the highest)" in text
    assert "A case not rated yet counts as 6" in text
    assert "Draft a new version" in text


def test_the_scheme_page_by_role(
    client,
    team,
    social_worker,
    outsider,
    team_manager,
    other_manager,
    dmt_member,
    other_dmt_member,
    default_scheme,
):
    url = reverse("team_scheme", args=[team.pk])
    expected = {
        team_manager: 200,
        social_worker: 200,  # rates against it, so may read it
        dmt_member: 200,
        outsider: 404,
        other_manager: 404,
        other_dmt_member: 404,
    }
    seen = {}
    for person in expected:
        client.force_login(person.user)
        response = client.get(url)
        seen[person] = response.status_code
        if response.status_code == 200 and person != team_manager:
            assert "Draft a new version" not in response.content.decode()
    assert seen == expected
    client.logout()
    assert client.get(url).status_code == 302


def test_only_the_teams_manager_may_draft_a_version(
    client, team, social_worker, other_manager, dmt_member, default_scheme
):
    url = reverse("scheme_draft_create", args=[team.pk])
    assert signed_in(client, social_worker).post(url).status_code == 403
    assert signed_in(client, dmt_member).post(url).status_code == 403
    assert signed_in(client, other_manager).post(url).status_code == 404
    assert not Scheme.objects.filter(status="draft").exists()


def test_a_manager_drafts_edits_and_agrees_a_new_version(
    client, team, team_manager, social_worker, default_scheme
):
    case = CaseFactory(team=team)
    ids = {c.name: c.pk for c in default_scheme.criteria.all()}
    old = weighting.rating_create(
        case=case,
        levels={pk: Decimal(2) for pk in ids.values()},
        rated_on=days_ago(20),
        rated_by=None,
        status="provisional",
    )
    signed_in(client, team_manager)
    response = client.post(reverse("scheme_draft_create", args=[team.pk]))
    draft = Scheme.objects.get(status="draft")
    assert response["Location"] == reverse("scheme_edit", args=[draft.pk])

    edit = client.get(reverse("scheme_edit", args=[draft.pk])).content.decode()
    assert "1 = No travelling outside usual agency area involved." in edit

    form = {
        "name": "Child Protection weighting",
        "benchmark": "110",
        "criteria-TOTAL_FORMS": "4",
        "criteria-INITIAL_FORMS": "3",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
    }
    for index, spec in enumerate(weighting.criteria_of(draft)):
        form[f"criteria-{index}-name"] = spec.name
        form[f"criteria-{index}-description"] = spec.description
        form[f"criteria-{index}-levels"] = "\n".join(
            f"{value.normalize():f} = {text}" for value, text in spec.levels
        )
    form["criteria-2-remove"] = "on"  # travel is dropped
    form["criteria-3-name"] = "Court work"
    form["criteria-3-levels"] = "0 = None\n1.5 = Proceedings under way"
    response = client.post(reverse("scheme_edit", args=[draft.pk]), {**form, "agree": "1"})
    assert response["Location"] == reverse("scheme_agree", args=[draft.pk])

    response = client.post(
        reverse("scheme_agree", args=[draft.pk]), date_fields("agreed_on", days_ago(1))
    )
    assert response["Location"] == reverse("team_scheme", args=[team.pk])
    draft.refresh_from_db()
    assert (draft.status, draft.agreed_on, draft.benchmark) == ("agreed", days_ago(1), 110)
    assert draft.recorded_by == team_manager
    assert [c.name for c in draft.criteria.all()] == ["Complexity", "Risk", "Court work"]
    page = client.get(reverse("team_scheme", args=[team.pk])).content.decode()
    assert "Child Protection weighting, version 1" in page
    assert "Proceedings under way" in page
    # The old rating keeps the version it was made with.
    old.refresh_from_db()
    assert old.scheme == default_scheme and old.total == 6


def test_a_bad_level_line_is_explained_and_saves_nothing(
    client, team, team_manager, default_scheme
):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    form = {
        "name": "Draft",
        "benchmark": "100",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
        "criteria-0-name": "Risk",
        "criteria-0-levels": "1 = Low\nhigh risk",
    }
    response = signed_in(client, team_manager).post(reverse("scheme_edit", args=[draft.pk]), form)
    text = response.content.decode()
    assert "There is a problem" in text
    assert "Line 2: start with the level&#x27;s number" in text
    assert [c.name for c in draft.criteria.all()] == ["Complexity", "Risk", "Travel"]


def draft_form(**changes: str) -> dict[str, str]:
    """The scheme edit page's form with one criterion, Risk, 1 = Low / 2 = High."""
    return {
        "name": "Draft",
        "benchmark": "100",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
        "criteria-0-name": "Risk",
        "criteria-0-levels": "1 = Low\n2 = High",
        **changes,
    }


# Text that shows nothing: a non-breaking space, an em space, an ideographic
# space, a zero-width space, a byte-order mark, and a mixture.
INVISIBLE = ["\xa0", "\u2003", "\u3000", "\u200b", "\ufeff", " \xa0\u200b\t"]


@pytest.mark.parametrize("blank", INVISIBLE, ids=repr)
def test_a_level_that_says_nothing_is_refused_and_saves_nothing(
    client, team, team_manager, default_scheme, blank
):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    form = draft_form(**{"criteria-0-levels": f"1 = {blank}\n2 = High"})
    response = signed_in(client, team_manager).post(reverse("scheme_edit", args=[draft.pk]), form)
    assert response.status_code == 200
    text = response.content.decode()
    assert "There is a problem" in text
    assert "Line 1: after the = write what level 1 means" in text
    assert [c.name for c in draft.criteria.all()] == ["Complexity", "Risk", "Travel"]
    assert all(level.descriptor.strip() for c in draft.criteria.all() for level in c.levels.all())


@pytest.mark.parametrize("blank", INVISIBLE, ids=repr)
def test_names_that_say_nothing_are_refused(client, team, team_manager, default_scheme, blank):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    url = reverse("scheme_edit", args=[draft.pk])
    signed_in(client, team_manager)
    response = client.post(url, draft_form(name=blank))
    assert "Enter the name of the scheme" in response.content.decode()
    response = client.post(url, draft_form(**{"criteria-0-name": blank}))
    assert "Enter the criterion&#x27;s name" in response.content.decode()
    draft.refresh_from_db()
    assert draft.name != blank.strip()
    assert [c.name for c in draft.criteria.all()] == ["Complexity", "Risk", "Travel"]


def test_a_zero_benchmark_is_refused(client, team, team_manager, default_scheme):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    form = {
        "name": "Draft",
        "benchmark": "0",
        "criteria-TOTAL_FORMS": "0",
        "criteria-INITIAL_FORMS": "0",
        "criteria-MIN_NUM_FORMS": "0",
        "criteria-MAX_NUM_FORMS": "12",
    }
    response = signed_in(client, team_manager).post(reverse("scheme_edit", args=[draft.pk]), form)
    assert "The benchmark must be more than 0 points." in response.content.decode()
    draft.refresh_from_db()
    assert draft.benchmark == 100


def test_a_scheme_cannot_be_agreed_in_the_future(client, team, team_manager, default_scheme):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    response = signed_in(client, team_manager).post(
        reverse("scheme_agree", args=[draft.pk]), date_fields("agreed_on", days_ago(-2))
    )
    assert "The date agreed must be today or in the past" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_drafts_are_the_managers_alone(
    client, team, team_manager, social_worker, other_manager, default_scheme
):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    for person in (social_worker, other_manager):
        signed_in(client, person)
        assert client.get(reverse("scheme_edit", args=[draft.pk])).status_code == 404
        assert client.post(reverse("scheme_agree", args=[draft.pk])).status_code == 404
        assert client.post(reverse("scheme_discard", args=[draft.pk])).status_code == 404
    assert Scheme.objects.filter(pk=draft.pk, status="draft").exists()


def test_agreed_versions_cannot_be_opened_for_editing(client, team, team_manager, default_scheme):
    signed_in(client, team_manager)
    assert client.get(reverse("scheme_edit", args=[default_scheme.pk])).status_code == 404


def test_a_draft_can_be_discarded(client, team, team_manager, default_scheme):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    signed_in(client, team_manager).post(reverse("scheme_discard", args=[draft.pk]))
    assert not Scheme.objects.filter(pk=draft.pk).exists()


# Rating a case ---------------------------------------------------------------


def rating_form(default_scheme, complexity, risk, travel, **extra) -> dict[str, str]:
    ids = {c.name: c.pk for c in default_scheme.criteria.all()}
    return {
        f"level_{ids['Complexity']}": str(complexity),
        f"level_{ids['Risk']}": str(risk),
        f"level_{ids['Travel']}": str(travel),
        **date_fields("rated_on", timezone.localdate()),
        **extra,
    }


def test_a_manager_rates_a_case_and_sees_the_total(client, held_case, team_manager, default_scheme):
    signed_in(client, team_manager)
    form = client.get(reverse("case_rate", args=[held_case.pk])).content.decode()
    assert "Multiple or complex contact with other agencies" in form
    response = client.post(
        reverse("case_rate", args=[held_case.pk]), rating_form(default_scheme, 3, 3, 1), follow=True
    )
    text = response.content.decode()
    assert "Case CP-1042 rated 7 of 9 (provisional)." in text
    assert "<strong>7 of 9</strong>" in text
    rating = held_case.ratings.get()
    assert (rating.status, rating.rated_by, rating.total) == ("provisional", team_manager, 7)

    client.post(reverse("case_rate", args=[held_case.pk]), rating_form(default_scheme, 2, 2, 1))
    assert held_case.ratings.latest("pk").status == Rating.Status.INTERIM


def test_an_anticipated_rating_is_recorded_with_its_changes(
    client, held_case, team_manager, default_scheme
):
    ids = {c.name: c.pk for c in default_scheme.criteria.all()}
    form = rating_form(
        default_scheme,
        3,
        3,
        1,
        **{
            f"anticipated_{ids['Complexity']}": "3",
            f"anticipated_{ids['Risk']}": "2",
            f"anticipated_{ids['Travel']}": "1",
            f"change_{ids['Risk']}": "A clearer picture of the risks",
            **date_fields("anticipated_by", days_ago(-14)),
        },
    )
    signed_in(client, team_manager).post(reverse("case_rate", args=[held_case.pk]), form)
    rating = held_case.ratings.get()
    assert (rating.anticipated_total, rating.anticipated_by) == (6, days_ago(-14))
    risk = rating.levels.get(criterion__name="Risk")
    assert risk.anticipated_change == "A clearer picture of the risks"
    page = client.get(reverse("case_detail", args=[held_case.pk])).content.decode()
    assert "6 of 9 by" in page and "A clearer picture of the risks" in page


def test_a_half_given_anticipated_rating_is_refused(
    client, held_case, team_manager, default_scheme
):
    ids = {c.name: c.pk for c in default_scheme.criteria.all()}
    form = rating_form(default_scheme, 3, 3, 1, **{f"anticipated_{ids['Risk']}": "2"})
    response = signed_in(client, team_manager).post(reverse("case_rate", args=[held_case.pk]), form)
    text = response.content.decode()
    assert "Choose the anticipated level of complexity" in text
    assert "Enter the date the anticipated rating is due" in text
    assert not held_case.ratings.exists()


def test_missing_and_out_of_range_levels_are_refused_by_the_form(
    client, held_case, team_manager, default_scheme
):
    signed_in(client, team_manager)
    form = rating_form(default_scheme, 3, 4, 1)
    del form[next(k for k in form if k.startswith("level_") and form[k] == "3")]
    response = client.post(reverse("case_rate", args=[held_case.pk]), form)
    text = response.content.decode()
    assert "Choose a level of complexity" in text
    assert "Select a valid choice. 4 is not one of the available choices." in text
    assert not held_case.ratings.exists()


def test_a_rating_cannot_be_dated_in_the_future(client, held_case, team_manager, default_scheme):
    form = {**rating_form(default_scheme, 1, 1, 1), **date_fields("rated_on", days_ago(-1))}
    response = signed_in(client, team_manager).post(reverse("case_rate", args=[held_case.pk]), form)
    assert "must be today or in the past" in response.content.decode()
    assert not held_case.ratings.exists()


def test_only_the_teams_managers_rate_cases(
    client,
    held_case,
    social_worker,
    colleague,
    other_manager,
    dmt_member,
    administrator,
    default_scheme,
):
    url = reverse("case_rate", args=[held_case.pk])
    for person in (social_worker, colleague, other_manager, dmt_member):
        signed_in(client, person)
        assert client.get(url).status_code == 404, person
        assert client.post(url, rating_form(default_scheme, 1, 1, 1)).status_code == 404
    assert not held_case.ratings.exists()
    assert signed_in(client, administrator).get(url).status_code == 200


def test_the_worker_sees_the_rating_but_no_rate_button(
    client, held_case, social_worker, team_manager, default_scheme
):
    signed_in(client, team_manager).post(
        reverse("case_rate", args=[held_case.pk]), rating_form(default_scheme, 3, 3, 1)
    )
    page = signed_in(client, social_worker).get(reverse("case_detail", args=[held_case.pk]))
    text = page.content.decode()
    assert "7 of 9" in text
    assert "Current risk not assessed" in text
    assert "Rate this case" not in text


@pytest.mark.parametrize("ratings", [1, 20])
def test_the_case_page_query_count_does_not_grow(
    client, held_case, team_manager, default_scheme, ratings, django_assert_max_num_queries
):
    ids = [c.pk for c in default_scheme.criteria.all()]
    for days in range(ratings):
        weighting.rating_create(
            case=held_case,
            levels={pk: Decimal(1 + days % 3) for pk in ids},
            rated_on=days_ago(50 - days),
            rated_by=team_manager,
            status="interim",
        )
    signed_in(client, team_manager)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("case_detail", args=[held_case.pk]))
    assert response.content.decode().count("Version 1") == (ratings if ratings > 1 else 0)


# The default scheme for every service ----------------------------------------


def test_a_service_added_in_the_admin_adopts_the_default_scheme_and_reasons(client, administrator):
    """With a reason of its own given on the same page, beside the defaults
    (one of the same name is the service's own)."""
    reason = "reduction_reasons-0-"
    signed_in(client, administrator).post(
        reverse("admin:caseload_service_add"),
        {
            "name": "Early Help",
            "kind": "children",
            "band_green_from": "95",
            "band_amber_above": "100",
            "band_red_from": "110",
            "supervision_weeks": "4",
            "asye_supervision_weeks": "2",
            "full_time_hours": "37",
            "reduction_reasons-TOTAL_FORMS": "2",
            "reduction_reasons-INITIAL_FORMS": "0",
            f"{reason}name": "Secondment",
            f"{reason}maximum_weeks": "26",
            f"{reason}reminder_days": "28",
            f"{reason}active": "on",
            "reduction_reasons-1-name": "Training",
            "reduction_reasons-1-maximum_hours_per_week": "7.4",
            "reduction_reasons-1-reminder_days": "14",
            "reduction_reasons-1-active": "on",
            "pause_reasons-TOTAL_FORMS": "1",
            "pause_reasons-INITIAL_FORMS": "0",
            "pause_reasons-0-name": "Respite",
            "pause_reasons-0-factor": "0.75",
            "pause_reasons-0-maximum_weeks": "4",
            "pause_reasons-0-active": "on",
        },
    )
    service = Service.objects.get(name="Early Help")
    scheme = service.schemes.get()
    assert (scheme.status, scheme.agreed_on, scheme.criteria.count()) == (
        "agreed",
        timezone.localdate(),
        3,
    )
    reasons = {r.name: (r.maximum_hours_per_week, r.maximum_weeks, r.reminder_days)
               for r in service.reduction_reasons.all()}  # fmt: skip
    assert reasons == {
        "Secondment": (None, 26, 28),
        "Training": (Decimal("7.4"), None, 14),
        "Practice educator": (None, None, 14),
        "Trade union duties": (None, None, 14),
        "Phased return to work": (None, 12, 14),
        "Other protected time": (None, None, 14),
    }
    assert {r.name: (r.factor, r.maximum_weeks) for r in service.pause_reasons.all()} == {
        "Respite": (Decimal("0.75"), 4),
        "Awaiting closure": (Decimal("0.5"), 8),
        "Child in hospital": (Decimal("0.5"), 12),
        "On hold": (Decimal("0.25"), 12),
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_services_the_default_scheme():
    before = [("caseload", "0003_service_bands"), ("weighting", "0002_postgresql_constraints")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old_apps.get_model("caseload", "Service").objects.create(name="Existing service")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    scheme = Scheme.objects.get(service__name="Existing service")
    assert (scheme.version, scheme.status, scheme.benchmark) == (1, "agreed", 100)
    levels = [lv.descriptor for c in scheme.criteria.all() for lv in c.levels.all()]
    assert len(levels) == 9
    assert "No travelling outside usual agency area involved." in levels
