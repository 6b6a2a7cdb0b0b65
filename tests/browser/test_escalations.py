"""An escalation, from the job to its resolution, in a real browser."""

from playwright.sync_api import expect

from reports.services.analyses import analyse
from reports.services.escalations import escalate
from supervision import services as supervision
from tests.scenarios import END, build_small_team, date


def test_a_manager_assesses_and_a_senior_manager_resolves_an_escalation(
    sign_in,
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
    escalate(date(2026, 6, 17))
    analyse([people["asha"].pk], END)

    page = sign_in("manager")
    page.get_by_role("link", name="Escalations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalations")
    assert_accessible(page)
    page.get_by_role("link", name="Ben Okafor").click()
    assert_accessible(page)
    page.get_by_label("Yes").check()
    page.get_by_label("What you assessed").fill("The court work continues until March")
    page.get_by_role("button", name="Record the assessment").click()
    expect(page.get_by_text("Your assessment is recorded.")).to_be_visible()
    summary = page.locator(".govuk-summary-list")
    expect(summary.get_by_text("Yes: The court work continues until March")).to_be_visible()
    page.screenshot(path=str(tmp_path / "escalation-assessed.png"), full_page=True)

    # The supervision record opens with the stored 12-week analysis.
    record = supervision.record_open(
        worker=people["asha"], supervisor=team_manager, held_on=date(2026, 5, 28)
    )
    page.goto(f"{page.url.split('/escalations')[0]}/supervision/{record.pk}/")
    expect(page.get_by_role("heading", name="Caseload analysis")).to_be_visible()
    expect(page.get_by_text("8 of 13")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    page = sign_in("dmt")
    page.get_by_role("link", name="Escalations").click()
    page.get_by_role("link", name="Ben Okafor").click()
    page.get_by_role("button", name="Record and resolve").click()
    expect(page.get_by_role("link", name="Say what the senior managers did")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("What the senior managers did").fill("Two cases moved to Cara Jones")
    page.get_by_role("button", name="Record and resolve").click()
    expect(page.get_by_text("The escalation of Ben Okafor is resolved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Resolved")).to_be_visible()
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "escalations.png"), full_page=True)
