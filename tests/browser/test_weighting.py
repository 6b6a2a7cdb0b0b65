"""A manager rates a case and reads the weighting scheme, in a real browser."""

import re

from playwright.sync_api import expect

from weighting import services as weighting


def test_a_manager_rates_a_case_and_sees_the_new_total(
    sign_in, live_server, held_case, team_manager, default_scheme, assert_accessible
):
    page = sign_in("manager")
    page.goto(f"{live_server.url}/cases/{held_case.pk}/")
    expect(page.get_by_text("This case has not been rated yet")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Rate this case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rate this case")
    assert_accessible(page)
    page.get_by_role("group", name=re.compile("^Complexity")).get_by_label("3", exact=True).check()
    page.get_by_role("group", name=re.compile("^Risk")).get_by_label("3", exact=True).check()
    page.get_by_role("group", name=re.compile("^Travel")).get_by_label("1", exact=True).check()
    page.get_by_role("button", name="Save rating").click()

    expect(page).to_have_url(re.compile(rf"/cases/{held_case.pk}/#rating$"))
    expect(page.get_by_text("Case CP-1042 rated 7 of 9 (provisional).")).to_be_visible()
    expect(page.locator("p.govuk-body-l strong")).to_have_text("7 of 9")
    expect(page.get_by_role("cell", name="Current risk not assessed", exact=False)).to_be_visible()
    assert_accessible(page)


def test_a_rating_with_a_missing_level_shows_the_error_summary(
    sign_in, live_server, held_case, team_manager, default_scheme, assert_accessible
):
    page = sign_in("manager")
    page.goto(f"{live_server.url}/cases/{held_case.pk}/rate/")
    page.get_by_role("group", name=re.compile("^Complexity")).get_by_label("2", exact=True).check()
    page.get_by_role("button", name="Save rating").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Choose a level of risk")
    expect(summary).to_contain_text("Choose a level of travel")
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)


def test_the_scheme_pages_have_no_wcag_violations(
    sign_in, live_server, team, team_manager, default_scheme, assert_accessible
):
    page = sign_in("manager")
    page.goto(f"{live_server.url}/teams/{team.pk}/scheme/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Weighting scheme")
    assert_accessible(page)
    page.get_by_role("button", name="Draft a new version").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Draft version 1 of the weighting scheme"
    )
    assert_accessible(page)
    page.get_by_label("Benchmark").fill("110")
    page.get_by_role("button", name="Save and record as agreed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record version 1 as agreed")
    assert_accessible(page)
    page.get_by_role("button", name="Record as agreed").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the date agreed")
    assert_accessible(page)
    draft = team.schemes.get()
    weighting.scheme_discard_draft(scheme=draft)


def test_a_manager_tries_a_draft_on_todays_caseload(
    sign_in, live_server, team, team_manager, held_case, default_scheme, assert_accessible
):
    """From the scheme page to the draft's what-if; a mapping to a level the
    draft lacks is refused; the page and its error have no WCAG violation."""
    from tests.test_supervision import rate

    rate(held_case, default_scheme, (3, 3, 1))
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    page = sign_in("manager")
    page.goto(f"{live_server.url}/teams/{team.pk}/scheme/")
    page.get_by_role("link", name="what it would do to today's caseload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"What if draft version {draft.version} were agreed"
    )
    expect(page.get_by_text("No one changes band.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Green band from (%)").fill("5")
    page.get_by_label("Amber band above (%)").fill("6")
    page.get_by_role("button", name="Show the draft's numbers").click()
    expect(page.get_by_text("1 person changes band.")).to_be_visible()
    page.get_by_label("Amber band above (%)").fill("300")
    page.get_by_role("button", name="Show the draft's numbers").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The bands must rise")
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= 375")


def test_a_manager_pauses_a_case_and_ends_the_pause(
    sign_in, live_server, held_case, team_manager, default_scheme, assert_accessible
):
    """Pausing with no reason shows the error summary; paused, the case's
    page shows the tag; ending the pause takes it away. No WCAG violation."""
    page = sign_in("manager")
    page.goto(f"{live_server.url}/cases/{held_case.pk}/")
    page.get_by_role("link", name="Pause this case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pause this case")
    assert_accessible(page)
    page.get_by_role("button", name="Pause the case").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Choose the reason the case is paused"
    )
    assert_accessible(page)
    page.get_by_label("Awaiting closure").check()
    page.get_by_role("button", name="Pause the case").click()
    expect(page.locator("strong.govuk-tag", has_text="Paused: Awaiting closure")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="End the pause").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("End the pause")
    assert_accessible(page)
    page.get_by_role("button", name="End the pause").click()
    expect(page.get_by_text("Case CP-1042 counts in full from")).to_be_visible()
    expect(page.get_by_role("link", name="Pause this case")).to_be_visible()
