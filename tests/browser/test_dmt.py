"""A DMT member's quarter, in a real browser: the service overview, the drill
down to a team and a person, a DMT decision, and the downloads."""

import csv
import io
import re
from pathlib import Path

import openpyxl
import pypdf
from django.utils import timezone
from playwright.sync_api import expect

from caseload.dates import Quarter
from reports.services.reviews import quarterly_review
from reports.services.snapshots import backfill_snapshots
from tests.scenarios import QUARTER, build_small_team, date


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot in the test's folder, to look at after a run."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    return path


def download(page, link, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        link.click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_a_dmt_member_reviews_the_quarter_drills_down_records_a_decision_and_downloads(
    sign_in,
    service,
    team,
    other_team,
    team_manager,
    dmt_member,
    default_scheme,
    assert_accessible,
    tmp_path,
):
    people = build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    case_references = [c.reference for c in people.values() if hasattr(c, "reference")]
    assert sorted(case_references) == ["B1", "B2", "B3", "C1", "C2", "C3", "D1"]
    # Every day's snapshot to today (the 12-week and 12-month trends), then
    # two quarterly reviews so that the quarter picker has a choice.
    backfill_snapshots(date(2026, 1, 1), timezone.localdate())
    quarterly_review(service, Quarter(date(2026, 1, 1)))  # Q4 2025/26
    quarterly_review(service, QUARTER)  # Q1 2026/27: Child Protection at 22.5
    any_case_reference = re.compile(rf"\b({'|'.join(case_references)})\b")

    # The DMT member lands on the service overview, at the latest quarter.
    page = sign_in("dmt")
    expect(page.get_by_role("heading", level=1)).to_have_text("Children's Social Care")
    expect(page.get_by_label("Quarter", exact=True)).to_have_value("2026-04")
    expect(page.get_by_label("Quarter", exact=True).locator("option")).to_have_count(2)
    figure = page.locator("figure", has_text="Average children per FTE by team")
    expect(figure).to_be_visible()
    chart = figure.locator("svg[role=img]")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("Average children per FTE by team")
    teams = page.locator("#table-teams-quarter")
    child_protection = teams.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Child Protection")
    )
    expect(child_protection.get_by_role("cell").nth(2)).to_have_text("22.5")  # children per FTE
    expect(child_protection).to_contain_text("Needs DMT agreement")
    assert_accessible(page)
    screenshot(page, tmp_path, "overview.png")

    # The team dashboard keeps the quarter and shows people, never cases.
    child_protection.get_by_role("link", name="Child Protection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Child Protection")
    expect(page).to_have_url(re.compile(r"\?quarter=2026-04$"))
    people_today = page.locator("#table-people-today")
    asha = people_today.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Asha Patel")
    )
    # Asha today: C1 (2 children) and C3 (3), weighted 12 of a capacity of 20.
    expect(asha.get_by_role("cell")).to_have_text(
        ["Social worker", "0.20", "2", "5", "12.0", "20.0", "60.0", "Under 95%"]
    )
    ben = people_today.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="Ben Okafor")
    )
    expect(ben).to_contain_text("Over 100%")
    assert not any_case_reference.search(page.locator("body").inner_text())
    assert_accessible(page)
    screenshot(page, tmp_path, "team.png")

    # A person's numbers: the cards and the last 12 weeks, a week apart.
    asha.get_by_role("link", name="Asha Patel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Asha Patel")
    cards = page.locator(".app-card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_contain_text("60.0%")
    expect(cards.nth(0)).to_contain_text("of capacity today")
    expect(cards.nth(1)).to_contain_text("2")
    expect(cards.nth(1)).to_contain_text("cases · 5 children")
    expect(cards.nth(2)).to_contain_text("weighted load, of a capacity of 20.0 (FTE 0.20)")
    weeks = page.locator("#table-person-trend tbody tr")
    expect(weeks).to_have_count(13)  # today and each of the 12 weeks before
    expect(weeks.last.get_by_role("rowheader")).to_have_text(
        re.compile(rf"^{timezone.localdate().day} ")
    )
    expect(weeks.last.get_by_role("cell")).to_have_text(
        ["2", "5", "12.0", "20.0", "60.0", "Under 95%"]
    )
    assert not any_case_reference.search(page.locator("body").inner_text())
    assert_accessible(page)
    screenshot(page, tmp_path, "person.png")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Child Protection dashboard"
    ).click()
    expect(page).to_have_url(re.compile(r"/dashboard/\?quarter=2026-04$"))
    expect(page.get_by_label("Quarter", exact=True)).to_have_value("2026-04")
    expect(page.get_by_label("Quarter", exact=True).locator("option:checked")).to_have_text(
        "Apr–Jun 2026 (Q1 2026/27)"
    )

    # Record a decision: first with nothing filled in, then as minuted.
    page.get_by_role("link", name="Record a decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record a DMT decision")
    expect(page.get_by_label("Quarter", exact=True)).to_have_value("2026-04")
    page.get_by_role("button", name="Record the decision").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary.get_by_role("link", name="Choose what DMT decided")).to_be_visible()
    expect(summary.get_by_role("link", name="Enter the minute reference")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)
    page.get_by_label("Agreed: the team may hold above its aspiration").check()
    page.get_by_label("Why DMT agreed it").fill("Two court-heavy cases end in the autumn")
    meeting_on = date(2026, 7, 15)
    review_by = date(2027, 3, 31)
    assert meeting_on < timezone.localdate()
    for name, day in [("Meeting date", meeting_on), ("Review date", review_by)]:
        group = page.get_by_role("group", name=name)
        group.get_by_label("Day").fill(str(day.day))
        group.get_by_label("Month").fill(str(day.month))
        group.get_by_label("Year").fill(str(day.year))
    page.get_by_label("Minute reference").fill("DMT/2026/07/3")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("The DMT decision for Child Protection is recorded.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dashboard/\?quarter=2026-04$"))
    expect(page.locator("#table-decisions")).to_contain_text("DMT/2026/07/3")
    screenshot(page, tmp_path, "decision.png")

    # Back on the service overview, the quarter's flag is cleared.
    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Children's Social Care"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Children's Social Care")
    expect(child_protection).to_contain_text("Agreed until 31 March 2027")
    expect(child_protection).not_to_contain_text("Needs DMT agreement")

    # The downloads hold the stored figures: CSV, XLSX and the DMT pack.
    table_csv = download(page, teams.get_by_role("link", name=re.compile(" CSV$")), tmp_path)
    text = table_csv.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = {row["Team"]: row for row in csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))}
    assert rows["Child Protection"]["Children per FTE"] == "22.5000"

    table_xlsx = download(page, teams.get_by_role("link", name=re.compile(" XLSX$")), tmp_path)
    sheet = openpyxl.load_workbook(table_xlsx).worksheets[0]
    assert sheet.title.startswith("Teams at the end of")
    headings = [cell.value for cell in sheet[1]]
    by_team = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    children = by_team["Child Protection"][headings.index("Children per FTE")]
    assert isinstance(children, int | float) and not isinstance(children, bool)
    assert children == 22.5

    pack = download(page, page.get_by_role("link", name="DMT pack (PDF)"), tmp_path)
    assert pack.read_bytes().startswith(b"%PDF")
    pack_text = "\n".join(p.extract_text() for p in pypdf.PdfReader(pack).pages)
    assert "Children's Social Care" in pack_text.replace("\u2019", "'")
    assert "Child Protection" in pack_text


def test_a_manager_puts_a_capacity_issue_on_the_dmt_agenda(
    sign_in, service, team, team_manager, dmt_member, assert_accessible
):
    quarterly_review(service, QUARTER)
    page = sign_in("manager")
    page.get_by_role("link", name="The team's dashboard, trends and all DMT decisions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(team.name)
    assert_accessible(page)
    page.get_by_role("link", name="Put a capacity issue on the DMT agenda").click()
    page.get_by_role("button", name="Put it on the agenda").click()
    expect(page.get_by_role("link", name="Enter the issue in a line")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("The issue in a line").fill("Two vacancies from January")
    page.get_by_label("What is happening and what the team needs from DMT").fill(
        "Caseloads pass 22 children per worker; we need agency cover."
    )
    page.get_by_role("button", name="Put it on the agenda").click()
    expect(page.get_by_text("The capacity issue is on the DMT agenda.")).to_be_visible()
    expect(page.locator("#table-capacity-issues")).to_contain_text("On the agenda")
    page.get_by_role("button", name="Sign out").click()

    # DMT sees it on the agenda and answers it with a decision.
    page = sign_in("dmt")
    banner = page.get_by_role("region", name="On the DMT agenda")
    expect(banner).to_contain_text("Two vacancies from January")
    banner.get_by_role("link", name="Record a decision").click()
    expect(page.get_by_label("Capacity issue this answers (optional)")).to_have_value(
        str(team.capacity_issues.get().pk)
    )
    page.get_by_label("Actions agreed").check()
    page.get_by_label("Actions", exact=True).fill("Agency cover approved for three months")
    for name, day in [("Meeting date", date(2026, 7, 15)), ("Review date", date(2026, 10, 15))]:
        group = page.get_by_role("group", name=name)
        group.get_by_label("Day").fill(str(day.day))
        group.get_by_label("Month").fill(str(day.month))
        group.get_by_label("Year").fill(str(day.year))
    page.get_by_label("Minute reference").fill("DMT/2026/07/9")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text(f"The DMT decision for {team.name} is recorded.")).to_be_visible()
    page.get_by_role("link", name="Decisions", exact=True).click()
    expect(page.locator("#table-decisions")).to_contain_text("DMT/2026/07/9")
    expect(page.locator("#table-capacity-issues")).to_contain_text("No capacity issues raised.")
    assert_accessible(page)


def test_a_dmt_decision_is_recorded_in_at_most_six_actions(
    sign_in, service, team, other_team, team_manager, dmt_member, default_scheme, tmp_path
):
    """From the service overview: the team, Record a decision, what DMT
    decided, why, send. The meeting is today, the review the end of next
    quarter, the quarter the one on screen."""
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    quarterly_review(service, QUARTER)
    page = sign_in("dmt")
    actions = 0
    page.locator("#table-teams-quarter").get_by_role("link", name="Child Protection").click()
    actions += 1
    page.get_by_role("link", name="Record a decision").click()
    actions += 1
    page.get_by_label("Agreed: the team may hold above its aspiration").check()
    actions += 1
    page.get_by_label("Why DMT agreed it").fill("Two court-heavy cases end in the spring")
    actions += 1
    page.get_by_label("Minute reference").fill("DMT/2026/12/1")
    actions += 1
    page.get_by_role("button", name="Record the decision").click()
    actions += 1
    expect(page.get_by_text("The DMT decision for Child Protection is recorded.")).to_be_visible()
    assert actions <= 6
    screenshot(page, tmp_path, "decision-recorded.png")


def test_the_service_forecast_is_one_click_from_the_overview(
    sign_in, service, team, other_team, team_manager, dmt_member, default_scheme, assert_accessible
):
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    page = sign_in("dmt")
    page.get_by_role("link", name="Each team's next 12 weeks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The next 12 weeks")
    expect(page.locator("#table-teams-forecast tbody tr")).to_have_count(2)
    assert_accessible(page)
    page.locator("#table-teams-forecast").get_by_role("link", name="Child Protection").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The next 12 weeks")
    assert_accessible(page)
