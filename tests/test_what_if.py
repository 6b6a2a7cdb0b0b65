"""What if a draft scheme, or draft thresholds, were agreed (issue 26), worked
by hand from the default scheme (a benchmark of 100; complexity, risk and
travel, each 1–3) and read as a team manager or DMT reads the page.

Asha (1.0 FTE, factor 1) holds CP-1 rated 3, 3, 3 (9), CP-2 rated 1, 2, 1
(4) and CP-3, unrated (the middle, 6): 19 of 100, 19%.
The draft: complexity 1–4, risk and travel 1–3 as before, and a new court
work criterion 0–2 (middle 1), with a benchmark of 25.
"""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from allocation import services as allocation_services
from caseload.models import Allocation
from reports.models import CaseloadSnapshot
from tests.conftest import days_ago
from tests.factories import CaseFactory, member
from tests.test_supervision import rate
from weighting import services as weighting
from weighting.models import Rating, Scheme

D = Decimal


def holds(person, team, reference, scheme=None, levels=None):
    case = CaseFactory(team=team, reference=reference)
    if levels:
        rate(case, scheme, levels, on=days_ago(30))
    allocation_services.allocation_create(
        case=case, person=person, start_date=days_ago(40), allocated_by=None
    )
    return case


@pytest.fixture
def asha(team, social_worker, default_scheme):
    holds(social_worker, team, "CP-1", default_scheme, (3, 3, 3))
    holds(social_worker, team, "CP-2", default_scheme, (1, 2, 1))
    holds(social_worker, team, "CP-3")
    return social_worker


@pytest.fixture
def draft(team, team_manager, default_scheme):
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    specs = weighting.criteria_of(draft)
    specs[0].levels.append((D(4), "Very complex"))
    specs.append(
        weighting.CriterionSpec("Court work", "", [(D(0), "None"), (D(1), "Some"), (D(2), "Most")])
    )
    return weighting.scheme_update_draft(
        scheme=draft, name=draft.name, benchmark=D(25), criteria=specs
    )


def page(client, user, draft, data=None):
    client.force_login(user)
    return client.get(reverse("scheme_what_if", args=[draft.pk]), data)


def person_row(response, name):
    rows = response.context["page"].tables["people"].rows
    row = next(r for r in rows if r[0] == name)
    return {
        "load": row[2],
        "draft load": row[3],
        "capacity": row[4],
        "draft capacity": row[5],
        "percent": row[6],
        "band": str(row[7]),
        "draft percent": row[8],
        "draft band": str(row[9]),
    }


def submitted(response, **changes):
    """The page's form as shown, with some fields changed by their labels."""
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    for label, value in changes.items():
        name = next(name for name in form.fields if form.fields[name].label == label)
        data[name] = value
    return data


def test_a_draft_weighs_todays_cases_by_its_criteria_and_benchmark(
    client, team_manager, asha, draft
):
    """Default mapping: every old level to the same level, court work from
    no old criterion (its middle, 1). CP-1: 3+3+3+1 = 10; CP-2: 1+2+1+1 = 5;
    CP-3, unrated: the draft's middle, 2.5+2+2+1 = 7.5. 22.5 of 25: 90%."""
    response = page(client, team_manager.user, draft)
    assert response.status_code == 200
    assert person_row(response, "Asha Patel") == {
        "load": D(19),
        "draft load": D("22.5"),
        "capacity": D(100),
        "draft capacity": D(25),
        "percent": D("19.0"),
        "band": "Under 95%",
        "draft percent": D("90.0"),
        "draft band": "Under 95%",
    }
    text = response.content.decode()
    assert (
        "Court work takes its level from no old criterion: all 2 rated cases count its "
        "middle level, 1." in text
    )
    assert "No one changes band." in text


def test_a_mapping_edited_on_the_page_changes_the_weights_and_lists_what_is_unmapped(
    client, team_manager, asha, draft
):
    """Complexity 3 becomes 4 and travel 1 is left unmapped (the draft's
    middle, 2): CP-1 11, CP-2 1+2+2+1 = 6, CP-3 7.5: 24.5 of 25, 98%, green."""
    first = page(client, team_manager.user, draft)
    data = submitted(first, **{"Complexity 3 becomes": "4", "Travel 1 becomes": "middle"})
    response = page(client, team_manager.user, draft, data)
    asha_row = person_row(response, "Asha Patel")
    assert (asha_row["draft load"], asha_row["draft percent"]) == (D("24.5"), D("98.0"))
    assert asha_row["draft band"] == "95–100%"
    changes = response.context["page"].tables["band-changes"].rows
    assert [(row[0], str(row[7]), str(row[9])) for row in changes] == [
        ("Asha Patel", "Under 95%", "95–100%")
    ]
    unmapped = response.context["page"].tables["unmapped"].rows
    assert unmapped == [["CP-2", "Asha Patel", "Travel"]]
    assert "1 person changes band." in response.content.decode()


def test_a_draft_with_the_agreed_criteria_and_benchmark_changes_nothing(
    client, team, team_manager, asha
):
    same = weighting.scheme_draft_new_version(team=team, by=team_manager)
    response = page(client, team_manager.user, same)
    row = person_row(response, "Asha Patel")
    assert (row["draft load"], row["draft capacity"]) == (row["load"], row["capacity"])
    assert response.context["page"].tables["unmapped"].rows == []


def test_draft_thresholds_move_people_between_bands(client, team, dmt_member, asha):
    """DMT tries green from 15%, amber above 18%, red from 50%: Asha's 19%
    is amber ("Over 18%") instead of blue."""
    client.force_login(dmt_member.user)
    url = reverse("service_what_if", args=[team.service_id])
    response = client.get(url, {"green_from": "15", "amber_above": "18", "red_from": "50"})
    changes = response.context["page"].tables["band-changes"].rows
    assert [(row[0], str(row[7]), str(row[9])) for row in changes] == [
        ("Asha Patel", "Under 95%", "Over 18%")
    ]
    totals = response.context["page"].tables["totals"].rows
    assert totals[0][5:7] == [0, 1]  # agreed: none over the maximum, one blue
    assert totals[1][5:] == [1, 0, 0, 1, 0, 0]  # draft: one over, amber


def test_a_draft_aspiration_shows_which_teams_would_be_above_it(client, team, dmt_member, asha):
    """Asha's 3 cases hold 6 children (two each) at 1 FTE: 6 per FTE, above a
    draft aspiration of 5, within the agreed 20."""
    client.force_login(dmt_member.user)
    url = reverse("service_what_if", args=[team.service_id])
    data = {"green_from": "95", "amber_above": "100", "red_from": "110", "aspiration": "5"}
    rows = client.get(url, data).context["page"].tables["teams"].rows
    row = next(r for r in rows if r[0] == team.name)
    assert (row[2], row[3], row[4], row[5], row[6]) == (D(6), D(20), D(5), "No", "Yes")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"Complexity 3 becomes": "5"},
            "Map Complexity 3 to a level Complexity has in the draft (1, 2, 3, 4), or leave "
            "it not mapped",
        ),
        ({"Amber band above (%)": "120"}, "The bands must rise: green from, then amber above"),
        ({"Green band from (%)": "-5"}, "The green band&#x27;s start must be more than 0"),
        ({"Old criterion for Court work": "Court orders"}, "Choose which old criterion"),
    ],
)
def test_bad_input_gets_a_clear_message_and_no_numbers(
    client, team_manager, asha, draft, change, message
):
    data = submitted(page(client, team_manager.user, draft), **change)
    response = page(client, team_manager.user, draft, data)
    text = response.content.decode()
    assert "There is a problem" in text
    assert message in text
    assert "The draft&#x27;s numbers" not in text
    assert response.context["page"].tables == {}


def test_nothing_is_written_and_the_draft_stays_a_draft(client, team_manager, asha, draft):
    counts = (Rating.objects.count(), Allocation.objects.count(), CaseloadSnapshot.objects.count())
    data = submitted(page(client, team_manager.user, draft), **{"Complexity 3 becomes": "4"})
    page(client, team_manager.user, draft, data)
    client.get(reverse("scheme_what_if_download", args=[draft.pk, "people", "csv"]), data)
    assert (
        Rating.objects.count(),
        Allocation.objects.count(),
        CaseloadSnapshot.objects.count(),
    ) == counts
    draft.refresh_from_db()
    assert draft.status == Scheme.Status.DRAFT


def test_who_may_open_a_drafts_what_if(
    client, asha, draft, team_manager, other_manager, colleague, outsider, dmt_member,
    other_dmt_member, administrator, default_scheme,
):  # fmt: skip
    """The team's managers and the service's DMT (and administrators); no
    one else, and no agreed scheme."""
    url = reverse("scheme_what_if", args=[draft.pk])
    for person, expected in [
        (team_manager, 200),
        (dmt_member, 200),
        (administrator, 200),
        (asha, 404),
        (colleague, 404),
        (outsider, 404),
        (other_manager, 404),
        (other_dmt_member, 404),
    ]:
        client.force_login(person.user)
        assert client.get(url).status_code == expected, person.full_name
    client.force_login(team_manager.user)
    agreed = reverse("scheme_what_if", args=[default_scheme.pk])
    assert client.get(agreed).status_code == 404


def test_dmt_sees_no_case_labels(client, team_manager, dmt_member, asha, draft):
    data = submitted(page(client, team_manager.user, draft), **{"Travel 1 becomes": "middle"})
    response = page(client, dmt_member.user, draft, data)
    text = response.content.decode()
    assert "CP-" not in text
    assert "unmapped" not in response.context["page"].tables
    assert "Travel: 1 case" in text
    download = client.get(reverse("scheme_what_if_download", args=[draft.pk, "all", "xlsx"]), data)
    workbook = openpyxl.load_workbook(io.BytesIO(download.content))
    cells = [str(c) for sheet in workbook for row in sheet.iter_rows(values_only=True) for c in row]
    assert not any(c.startswith("CP-") for c in cells)


def test_the_service_what_if_is_for_dmt(client, team, team_manager, dmt_member, asha):
    url = reverse("service_what_if", args=[team.service_id])
    client.force_login(team_manager.user)
    assert client.get(url).status_code == 404
    client.force_login(dmt_member.user)
    assert client.get(url).status_code == 200


def test_the_tables_download_as_the_meeting_reads_them(client, team_manager, asha, draft):
    response = client.get(reverse("scheme_what_if_download", args=[draft.pk, "people", "csv"]))
    assert response.status_code == 302  # signed out
    client.force_login(team_manager.user)
    response = client.get(reverse("scheme_what_if_download", args=[draft.pk, "people", "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Person", "Team", "Weighted load", "Draft weighted load"]
    assert rows[1][:2] == ["Asha Patel", "Child Protection"]
    assert [D(value) for value in rows[1][2:4]] == [D(19), D("22.5")]
    workbook = client.get(reverse("scheme_what_if_download", args=[draft.pk, "all", "xlsx"]))
    sheets = openpyxl.load_workbook(io.BytesIO(workbook.content)).sheetnames
    assert len(sheets) == 5
    bad = {"green_from": "200", "amber_above": "100", "red_from": "110"}
    response = client.get(reverse("scheme_what_if_download", args=[draft.pk, "people", "csv"]), bad)
    assert response.status_code == 302
    assert response.url.startswith(reverse("scheme_what_if", args=[draft.pk]))


@pytest.mark.parametrize("people", [3, 30])
def test_the_what_if_query_count_does_not_grow(
    client, team, team_manager, default_scheme, draft, people, django_assert_max_num_queries
):
    for n in range(people):
        worker = member(team, full_name=f"Worker {n}")
        holds(worker, team, f"CP-{n}-A", default_scheme, (3, 2, 1))
        holds(worker, team, f"CP-{n}-B")
    client.force_login(team_manager.user)
    with django_assert_max_num_queries(18):
        response = client.get(reverse("scheme_what_if", args=[draft.pk]))
    assert len(response.context["page"].tables["people"].rows) == people


@pytest.mark.parametrize("people", [3, 30])
def test_the_service_what_if_query_count_does_not_grow(
    client, team, other_team, dmt_member, default_scheme, people, django_assert_max_num_queries
):
    for n in range(people):
        worker = member(team if n % 2 else other_team, full_name=f"Worker {n}")
        holds(worker, worker.memberships.get().team, f"CP-{n}-A", default_scheme, (3, 2, 1))
    client.force_login(dmt_member.user)
    data = {"green_from": "90", "amber_above": "100", "red_from": "110"}
    with django_assert_max_num_queries(12):
        response = client.get(reverse("service_what_if", args=[team.service_id]), data)
    assert len(response.context["page"].tables["people"].rows) == people


def test_what_a_link_leaves_out_is_taken_as_agreed(client, team_manager, asha, draft):
    """A link with only the thresholds keeps the default mapping: 22.5, as
    on a first visit."""
    response = page(client, team_manager.user, draft, {"green_from": "90"})
    assert person_row(response, "Asha Patel")["draft load"] == D("22.5")
    assert person_row(response, "Asha Patel")["draft band"] == "90–100%"


def test_a_draft_in_hours_weighs_todays_points_ratings_by_its_mapping(
    client, team, team_manager, asha
):
    """A draft measuring hours a month (complexity 10, 20 or 30 hours; 7
    hours a week for non-case time): complexity 1 and 3 (the levels in use)
    map to 10 and 30.
    CP-1 30, CP-2 10, CP-3 unrated 20: 60 of (37 − 7) × 52 ÷ 12 = 130 hours."""
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    weighting.scheme_update_draft(
        scheme=draft,
        name="Hours a month",
        benchmark=draft.benchmark,
        criteria=[
            weighting.CriterionSpec(
                "Complexity", "", [(D(10), "Light"), (D(20), "Regular"), (D(30), "Intensive")]
            )
        ],
        unit=Scheme.Unit.HOURS,
        non_case_hours=D(7),
    )
    first = page(client, team_manager.user, draft)
    data = submitted(
        first,
        **{"Complexity 1 becomes": "10", "Complexity 3 becomes": "30"},
    )
    row = person_row(page(client, team_manager.user, draft, data), "Asha Patel")
    assert (row["draft load"], row["draft capacity"]) == (D(60), D(130))
    assert row["draft percent"] == D("46.2")
