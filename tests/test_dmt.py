"""The DMT dashboards: the numbers they show and export, decisions and the
agenda, who may see what, and queries that do not grow with the service."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from openpyxl import load_workbook
from pypdf import PdfReader

from allocation import services
from caseload.dates import Quarter, add_months
from caseload.models import Notification, Person
from caseload.services import RuleBroken
from caseload.tables import Column, Table, as_csv, as_xlsx
from reports.dashboards.positions import stored_position
from reports.models import DmtDecision
from reports.services.dmt import decision_record
from reports.services.reviews import quarterly_review
from tests.factories import CaseFactory, PersonFactory, TeamFactory, member
from tests.pdfs import structure
from tests.scenarios import JAN_5, QUARTER, build_small_team, date

D = Decimal
MEETING = date(2026, 7, 14)


@pytest.fixture
def small_team(default_scheme, team, other_team, team_manager):
    return build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )


@pytest.fixture
def review(small_team):
    """Q1 2026/27: Child Protection at 22.5 children per FTE, above its
    aspiration of 20; Looked After at 4."""
    return quarterly_review(small_team["asha"].service, QUARTER)


def read_csv(response) -> list[dict]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def read_xlsx(response) -> dict[str, list[dict]]:
    book = load_workbook(io.BytesIO(response.content))
    sheets = {}
    for sheet in book.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        sheets[sheet.title] = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    return sheets


REVIEW_BY = date(2026, 12, 31)


def decide(team, by, *, kind=DmtDecision.Kind.AGREED, review_by=REVIEW_BY, issue=None):
    return decision_record(
        team=team,
        quarter=QUARTER,
        kind=kind,
        reason="Court-heavy work; two starters in January" if kind == "agreed" else "",
        actions="Move four cases to Looked After" if kind == "actions" else "",
        review_by=review_by,
        meeting_on=MEETING,
        minute_reference="DMT/2026/07/3",
        capacity_issue=issue,
        by=by,
    )


# What the overview shows and exports ----------------------------------------------


def test_the_overview_shows_the_stored_review_and_today_side_by_side(client, review, dmt_member):
    client.force_login(dmt_member.user)
    page = client.get(reverse("service_overview", args=[review.service_id])).content.decode()
    assert "Apr–Jun 2026 (Q1 2026/27)" in page
    assert "Teams at the end of Apr–Jun 2026 (Q1 2026/27)" in page
    assert "Teams today" in page
    assert "Needs DMT agreement" in page  # Child Protection, 22.5 against 20
    assert "22.5" in page
    # Every chart is an SVG with a title, in a figure with its numbers in a table.
    for title in (
        "Average children per FTE by team, Apr–Jun 2026 (Q1 2026/27)",
        "People in each band by team, at the end of Apr–Jun 2026 (Q1 2026/27)",
        f"{review.service.name}: weighted load per FTE over the last 12 months",
    ):
        assert f">{escape(title)}</title>" in page
        assert f'<figcaption class="govuk-heading-s app-figure__caption">{escape(title)}' in page
    assert page.count("<figure") == 3
    # The bar chart's values are the table's under it.
    chart = page[page.index('id="figure-children-per-fte"') :]
    chart, table = chart.split("The numbers in this chart", 1)
    table = table[: table.index("</table>")]
    for value in ("22.5", "4.0"):
        assert f">{value}" in chart  # the bar's label
        assert f"{value}\n" in table or f"{value}</td>" in table
    assert ">22.5 (above)<" in chart  # Child Protection, above its aspiration
    assert "Children per FTE over the last 1 quarters" in page


def test_the_downloads_hold_the_stored_review_exactly(client, review, dmt_member):
    client.force_login(dmt_member.user)
    url = reverse("service_download", args=[review.service_id, "teams-quarter", "csv"])
    rows = {row["Team"]: row for row in read_csv(client.get(url, {"quarter": "2026-04"}))}
    stored = {row.team.name: row for row in review.rows.select_related("team")}
    for name, row in stored.items():
        exported = rows[name]
        assert D(exported["Case-holding FTE"]) == row.case_holding_fte
        assert D(exported["Cases per FTE"]) == row.cases_per_fte
        assert D(exported["Children per FTE"]) == row.people_per_fte
        assert D(exported["Children per FTE, quarter's daily mean"]) == row.mean_people_per_fte
        assert D(exported["Weight per FTE"]) == row.load_per_fte
        assert int(exported["Over 100%"]) == row.band_amber
        assert int(exported["Unallocated"]) == row.unallocated
    assert rows["Child Protection"]["Children per FTE"] == "22.5000"
    assert rows["Child Protection"]["DMT decision"] == "Needs DMT agreement"
    assert D(rows["Service"]["Children per FTE"]) == review.people_per_fte  # 9.2857

    url = reverse("service_download", args=[review.service_id, "all", "xlsx"])
    sheets = read_xlsx(client.get(url, {"quarter": "2026-04"}))
    sheet = {title[:20]: rows for title, rows in sheets.items()}
    teams = {row["Team"]: row for row in sheet["Teams at the end of "]}
    for name, row in stored.items():
        number = teams[name]["Children per FTE"]
        assert isinstance(number, int | float)  # a number, not text
        assert D(str(number)) == row.people_per_fte
        assert D(str(teams[name]["Weight per FTE"])) == row.load_per_fte
    chart_table = {row["Team"]: row for row in sheet["Average children per"]}
    assert D(str(chart_table["Child Protection"]["Children per FTE"])) == D("22.5")


def test_band_headings_follow_the_services_own_thresholds(client, small_team, dmt_member):
    """A service whose bands are under 90%, 90–105%, over 105% and 120% or
    more: its DMT tables, downloads, pack and chart key say so."""
    service = small_team["asha"].service
    service.band_green_from, service.band_amber_above, service.band_red_from = D(90), D(105), D(120)
    service.save()
    review = quarterly_review(service, QUARTER)
    headings = ["Under 90%", "90–105%", "Over 105%", "120% or more"]
    client.force_login(dmt_member.user)

    page = client.get(reverse("service_overview", args=[service.pk])).content.decode()
    for heading in headings:
        assert page.count(f"{heading}\n          </th>") == 3  # two teams tables, the bands'
        assert f">{heading}</text>" in page  # the bands chart's key
    for fixed in ("Under 95%", "95–100%", "Over 100%", "110% or more"):
        assert fixed not in page

    for slug in ("teams-quarter", "teams-today", "bands"):
        url = reverse("service_download", args=[service.pk, slug, "csv"])
        columns = list(read_csv(client.get(url, {"quarter": "2026-04"}))[0])
        assert [c for c in columns if "%" in c] == headings
    sheets = read_xlsx(client.get(reverse("service_download", args=[service.pk, "all", "xlsx"])))
    for title in ("Teams today", "Teams at the end of", "People in each band"):
        rows = next(rows for name, rows in sheets.items() if name.startswith(title[:20]))
        assert [c for c in rows[0] if c and "%" in c] == headings
    stored = {row.team.name: row for row in review.rows.select_related("team")}
    bands_table = {row["Team"]: row for row in sheets[next(n for n in sheets if "band" in n)]}
    assert bands_table["Child Protection"]["Over 105%"] == stored["Child Protection"].band_amber

    pack = client.get(reverse("service_pack", args=[service.pk]))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pack.content)).pages)
    for heading in headings:
        assert heading in text
    assert "Over 100%" not in text


def test_the_dmt_pack_is_one_pdf_with_the_charts_and_tables(client, review, dmt_member):
    client.force_login(dmt_member.user)
    response = client.get(reverse("service_pack", args=[review.service_id]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert review.service.name in text
    assert "Average children per FTE by team" in text
    assert "Child Protection" in text and "22.5" in text
    assert "Needs DMT agreement" in text
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages]
    assert all(len(page) > 300 for page in pages[:-1]), [len(page) for page in pages]
    tagged = structure(response.content)
    assert tagged["marked"] and tagged["lang"] == "en-GB" and tagged["shows_title"]
    assert tagged["title"].startswith(f"{review.service.name} DMT pack")
    for tag in ("H1", "H2", "Table", "TH", "TD", "Figure"):
        assert tagged["tags"].get(tag), (tag, tagged["tags"])


def test_text_a_spreadsheet_would_run_is_written_as_text():
    table = Table(
        "t",
        "Teams",
        [Column("Team"), Column("Children per FTE", "decimal"), Column("Change", "decimal")],
        [['=HYPERLINK("http://x","y")', D("22.5000"), D("-1.5")], ["@SUM(A1)", None, D(0)]],
    )
    rows = list(csv.reader(io.StringIO(as_csv(table).decode().removeprefix("\ufeff"))))
    assert rows[1] == ['\'=HYPERLINK("http://x","y")', "22.5000", "-1.5"]
    assert rows[2] == ["'@SUM(A1)", "", "0"]
    sheet = load_workbook(io.BytesIO(as_xlsx([table]))).active
    assert sheet["A2"].value == '\'=HYPERLINK("http://x","y")'
    assert sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 22.5 and sheet["C2"].value == -1.5  # numbers stay numbers


def test_sheets_are_named_as_their_captions_read_sized_and_frozen():
    """Excel's names are at most 31 characters, none of []:*?/\\: a caption
    is cut at a word, after the name it begins with; columns fit their
    widest cell."""
    long_name = "Looked After Children and Care Leavers"
    tables = [
        Table(
            "months",
            "Children's Social Care: weighted load each month",
            [Column("Team"), Column("Weighted load", "decimal")],
            [[long_name, D("512.25")], ["CP", D("1")]],
        ),
        Table("teams", "Teams [today]/now?", [Column("Team")], [["CP"]]),
    ]
    book = load_workbook(io.BytesIO(as_xlsx(tables)))
    assert book.sheetnames == ["Weighted load each month", "Teams today now"]
    first = book.worksheets[0]
    assert first.freeze_panes == "A2"
    assert first.column_dimensions["A"].width == len(long_name) + 2
    assert first.column_dimensions["B"].width == len("Weighted load") + 2


# What OWASP lists as a formula's first character (CSV injection), and the
# full-width forms a spreadsheet also reads as =, +, - and @.
FORMULA_LEADS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]


@pytest.mark.parametrize("lead", FORMULA_LEADS, ids=repr)
def test_every_formula_start_is_written_as_text_in_a_table_download(lead):
    table = Table("t", "Teams", [Column(f"{lead}Team"), Column("Cases", "integer")],
                  [[f"{lead}1+1", 3]])  # fmt: skip
    rows = list(csv.reader(io.StringIO(as_csv(table).decode().removeprefix("\ufeff"))))
    assert rows == [[f"'{lead}Team", "Cases"], [f"'{lead}1+1", "3"]]
    sheet = load_workbook(io.BytesIO(as_xlsx([table]))).active
    lead = lead.replace("\r", "\n")  # XML reads a carriage return as a line feed
    assert (sheet["A1"].value, sheet["A2"].value) == (f"'{lead}Team", f"'{lead}1+1")
    assert sheet["A2"].data_type == "s" and sheet["B2"].value == 3


def test_a_tables_rows_are_shown_escaped_and_rounded():
    table = Table(
        "t",
        "Teams",
        [Column("Team"), Column("Children per FTE", "decimal"), Column("Band")],
        [["Fostering <North>", D("22.46"), "amber"], ["Leaving Care", None, ""]],
        totals=["Service", D("20"), ""],
    )
    assert "Fostering &lt;North&gt;" in table.body_html
    assert "22.5" in table.body_html and "–" in table.body_html


# Decisions and the agenda ---------------------------------------------------------


def test_an_agreed_deviation_clears_the_flag_for_the_period_it_covers(
    review, team, dmt_member, team_manager
):
    assert [t.team_name for t in stored_position(review).needing_agreement] == ["Child Protection"]
    decision = decide(team, dmt_member)
    flagged = stored_position(review).teams[0]
    assert (flagged.above_aspiration, flagged.needs_agreement) == (True, False)
    assert flagged.decision_status == "Agreed until 31 December 2026"
    # From the quarter's start to the review date, and not after it.
    covering = DmtDecision.objects.agreements_covering
    assert list(covering(date(2026, 4, 1))) == [decision]
    assert list(covering(date(2026, 12, 31))) == [decision]
    assert list(covering(date(2027, 1, 1))) == []
    assert list(covering(date(2026, 3, 31))) == []
    # The team's managers are told.
    assert Notification.objects.filter(recipient=team_manager).count() == 1


def test_actions_do_not_clear_the_flag(review, team, dmt_member):
    decide(team, dmt_member, kind=DmtDecision.Kind.ACTIONS)
    assert stored_position(review).teams[0].needs_agreement


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"meeting_on": date(2099, 1, 1)}, "The meeting date cannot be in the future."),
        ({"review_by": MEETING}, "The review date must be after the meeting."),
        ({"reason": " "}, "Say why DMT agreed"),
        ({"kind": "actions", "actions": ""}, "Say what actions DMT agreed."),
    ],
)
def test_a_decision_that_breaks_a_rule_is_refused_and_nothing_is_written(
    team, dmt_member, change, message
):
    fields = {
        "team": team,
        "quarter": QUARTER,
        "kind": "agreed",
        "reason": "Court work",
        "actions": "",
        "review_by": date(2026, 12, 31),
        "meeting_on": MEETING,
        "minute_reference": "DMT/1",
        "capacity_issue": None,
        "by": dmt_member,
        **change,
    }
    with pytest.raises(RuleBroken, match=message):
        decision_record(**fields)
    assert not DmtDecision.objects.exists()


def test_the_database_holds_the_decision_rules(team, dmt_member):
    base = {
        "service": team.service,
        "team": team,
        "quarter_start": QUARTER.start,
        "review_by": date(2026, 12, 31),
        "meeting_on": MEETING,
        "minute_reference": "DMT/1",
        "recorded_by": dmt_member,
    }
    for broken in (
        {"kind": "agreed", "reason": ""},
        {"kind": "actions", "actions": ""},
        {"kind": "maybe", "reason": "x", "actions": "y"},
        {"kind": "agreed", "reason": "x", "review_by": MEETING},
        {"kind": "agreed", "reason": "x", "minute_reference": ""},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            DmtDecision.objects.create(**{**base, **broken})


def test_a_manager_puts_a_capacity_issue_on_the_agenda_and_a_decision_answers_it(
    client, team, team_manager, dmt_member, review
):
    client.force_login(team_manager.user)
    url = reverse("capacity_issue_create", args=[team.pk])
    refused = client.post(url, {"summary": "", "detail": ""})
    assert "Enter the issue in a line" in refused.content.decode()
    response = client.post(
        url,
        {"summary": "Two vacancies", "detail": "Caseloads above 22 children per worker."},
    )
    assert response.status_code == 302
    issue = team.capacity_issues.get()
    assert [n.recipient for n in Notification.objects.all()] == [dmt_member]

    client.force_login(dmt_member.user)
    overview = client.get(reverse("service_overview", args=[team.service_id])).content.decode()
    assert "On the DMT agenda" in overview and "Two vacancies" in overview
    decide(team, dmt_member, kind=DmtDecision.Kind.ACTIONS, issue=issue)
    overview = client.get(reverse("service_overview", args=[team.service_id])).content.decode()
    assert "On the DMT agenda" not in overview
    with pytest.raises(RuleBroken, match="already answers"):
        decide(team, dmt_member, kind=DmtDecision.Kind.ACTIONS, issue=issue)


def test_the_decision_form_records_a_decision_and_the_manager_sees_it(
    client, team, team_manager, dmt_member, review
):
    client.force_login(dmt_member.user)
    url = reverse("decision_create", args=[team.pk])
    empty = client.post(url, {"quarter": "2026-04"})
    assert "Choose what DMT decided" in empty.content.decode()
    response = client.post(
        url,
        {
            "quarter": "2026-04",
            "kind": "agreed",
            "reason": "Court-heavy work",
            "actions": "",
            "meeting_on_0": "14",
            "meeting_on_1": "7",
            "meeting_on_2": "2026",
            "review_by_0": "31",
            "review_by_1": "12",
            "review_by_2": "2026",
            "minute_reference": "DMT/2026/07/3",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("team_dashboard", args=[team.pk]) + "?quarter=2026-04"
    client.force_login(team_manager.user)
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "DMT/2026/07/3" in team_page and "Agreed to hold above the aspiration" in team_page
    dashboard = client.get(reverse("team_dashboard", args=[team.pk])).content.decode()
    assert "Agreed until 31 December 2026" in dashboard
    assert "Record a decision" not in dashboard  # managers read decisions; DMT records them


def test_a_decision_needs_only_what_dmt_decided_and_why(
    client, team, other_team, dmt_member, review
):
    """The meeting is today, the review at the end of next quarter, the quarter
    the one on screen, and the minute reference the last one recorded: a
    second decision of the same meeting is what was decided, why, and send."""
    decide(other_team, dmt_member, kind=DmtDecision.Kind.ACTIONS)
    DmtDecision.objects.update(minute_reference="DMT/2026/12/7")
    client.force_login(dmt_member.user)
    url = reverse("decision_create", args=[team.pk]) + "?quarter=2026-04"
    form = client.get(url).context["form"]
    today = timezone.localdate()
    next_quarter = Quarter(add_months(Quarter.containing(today).start, 3))
    assert form["meeting_on"].value() == today
    assert form["review_by"].value() == next_quarter.end
    assert form["quarter"].value() == "2026-04"
    assert form["minute_reference"].value() == "DMT/2026/12/7"
    sent = {name: form[name].value() for name in ("quarter", "minute_reference")} | {
        f"{name}_{i}": part
        for name in ("meeting_on", "review_by")
        for i, part in enumerate(form[name].field.widget.decompress(form[name].value()))
    }
    response = client.post(
        url, {**sent, "kind": "agreed", "reason": "Court-heavy work", "actions": ""}
    )
    assert response.status_code == 302
    decision = team.decisions.get()
    assert (decision.meeting_on, decision.review_by, decision.minute_reference) == (
        today,
        next_quarter.end,
        "DMT/2026/12/7",
    )


# Who sees what ----------------------------------------------------------------------


def status(client, person, url):
    client.force_login(person.user)
    return client.get(url).status_code


def test_the_dmt_pages_by_role(
    client,
    small_team,
    review,
    team,
    team_manager,
    other_manager,
    social_worker,
    dmt_member,
    other_dmt_member,
    administrator,
):
    asha = small_team["asha"]
    service = team.service
    pages = {
        "overview": reverse("service_overview", args=[service.pk]),
        "overview csv": reverse("service_download", args=[service.pk, "teams-today", "csv"]),
        "team": reverse("team_dashboard", args=[team.pk]),
        "team xlsx": reverse("team_download", args=[team.pk, "all", "xlsx"]),
        "person": reverse("person_dashboard", args=[asha.pk]),
        "person csv": reverse("person_download", args=[asha.pk, "case-types", "csv"]),
        "record a decision": reverse("decision_create", args=[team.pk]),
        "raise an issue": reverse("capacity_issue_create", args=[team.pk]),
    }
    expected = {
        dmt_member: [200, 200, 200, 200, 200, 200, 200, 404],
        team_manager: [404, 404, 200, 200, 200, 200, 403, 200],
        other_manager: [404, 404, 404, 404, 404, 404, 404, 404],
        social_worker: [404, 404, 404, 404, 404, 404, 404, 404],
        other_dmt_member: [404, 404, 404, 404, 404, 404, 404, 404],
        administrator: [200, 200, 200, 200, 200, 200, 403, 404],
    }
    seen = {person: [status(client, person, url) for url in pages.values()] for person in expected}
    assert seen == expected
    # A worker sees their own numbers, never a colleague's.
    assert status(client, asha, reverse("person_dashboard", args=[asha.pk])) == 200
    assert status(client, asha, reverse("person_dashboard", args=[small_team["ben"].pk])) == 404


def test_the_numbers_of_someone_in_no_service_are_a_page_not_a_server_error(
    client, team, team_manager, administrator
):
    """An administrator belongs to no service, nor does a new starter whose
    service is not yet set: their numbers page says so (it was a 500)."""
    new_starter = member(
        team, full_name="Sam Newton", service=None, supervisor=team_manager, user__username="sam"
    )
    other_admin = PersonFactory(
        full_name="Kim Lee", role=Person.Role.ADMINISTRATOR, user__username="admin2"
    )
    for viewer, person in [
        (administrator, administrator),
        (administrator, other_admin),
        (administrator, new_starter),
        (team_manager, new_starter),
        (new_starter, new_starter),
    ]:
        client.force_login(viewer.user)
        response = client.get(reverse("person_dashboard", args=[person.pk]))
        assert response.status_code == 200, (viewer, person)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", response.content.decode()))
        assert f"{person.full_name} is not in a service" in text, (viewer, person)
        download = reverse("person_download", args=[person.pk, "case-types", "csv"])
        assert client.get(download).status_code == 404
        assert "/numbers/download/" not in response.content.decode()


def test_dmt_sees_counts_and_weights_but_no_case_labels(
    client, small_team, review, team, dmt_member
):
    client.force_login(dmt_member.user)
    pages = [
        client.get(reverse("service_overview", args=[team.service_id])),
        client.get(reverse("team_dashboard", args=[team.pk])),
        client.get(reverse("person_dashboard", args=[small_team["asha"].pk])),
        client.get(reverse("team_download", args=[team.pk, "all", "xlsx"])),
    ]
    assert client.get(reverse("team_detail", args=[team.pk]))["Location"] == reverse(
        "team_dashboard", args=[team.pk]
    )
    for response in pages[:3]:
        # The page's words (not its tokens, where "C3" may turn up by chance).
        text = re.sub(r"<[^>]*>", " ", response.content.decode())
        for case in ("c1", "c3", "b1", "b3"):
            assert not re.search(rf"\b{small_team[case].reference}\b", text)
            assert small_team[case].label not in text
    person = pages[2].content.decode()
    assert "Cases held today by type" in person


def test_decisions_are_listed_for_the_service_and_the_managers_own_teams(
    client, team, other_team, dmt_member, team_manager, other_manager, social_worker
):
    decide(team, dmt_member)
    decide(other_team, dmt_member)
    url = reverse("decision_list")
    client.force_login(dmt_member.user)
    assert client.get(url).content.decode().count("DMT/2026/07/3") == 2
    client.force_login(team_manager.user)
    page = client.get(url).content.decode()
    assert page.count("DMT/2026/07/3") == 1 and other_team.name not in page
    client.force_login(social_worker.user)
    assert "DMT/2026/07/3" not in client.get(url).content.decode()


# Queries that do not grow ---------------------------------------------------------


def _service_of(service, teams: int) -> None:
    first = service.teams.count()
    for number in range(first, first + teams):
        team = TeamFactory(service=service, name=f"Team {number:02}")
        manager = member(team, role=Person.Role.TEAM_MANAGER)
        team.managers.add(manager)
        for worker in range(2):
            person = member(team, full_name=f"Worker {number}-{worker}", supervisor=manager)
            case = CaseFactory(team=team, reference=f"Q-{number}-{worker}", opened_on=JAN_5)
            services.allocation_create(
                case=case, person=person, start_date=JAN_5, allocated_by=None
            )
        CaseFactory(team=team, reference=f"U-{number}")  # one waiting


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["overview", "pack"])
def test_the_overview_makes_the_same_queries_for_3_teams_and_for_60(
    client, service, dmt_member, page
):
    name = "service_overview" if page == "overview" else "service_pack"
    url = reverse(name, args=[service.pk])
    client.force_login(dmt_member.user)
    counts = []
    for teams in (3, 57):  # 3, then 60 in all
        _service_of(service, teams)
        quarterly_review(service, Quarter(date(2026, 4, 1)), rerun=True)
        counts.append(_queries(client, url))
    assert counts[0] == counts[1]


def test_the_team_dashboard_makes_the_same_queries_for_3_people_and_for_30(
    client, team, team_manager
):
    client.force_login(team_manager.user)
    url = reverse("team_dashboard", args=[team.pk])
    counts = []
    for people in (3, 27):
        for number in range(people):
            person = member(team, full_name=f"Member {len(counts)}-{number}")
            case = CaseFactory(team=team, reference=f"T-{len(counts)}-{number}", opened_on=JAN_5)
            services.allocation_create(
                case=case, person=person, start_date=JAN_5, allocated_by=None
            )
        quarterly_review(team.service, QUARTER, rerun=True)
        counts.append(_queries(client, url))
    assert counts[0] == counts[1]
