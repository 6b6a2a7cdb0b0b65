"""A manager signs in and sees their team, in a real browser."""

import re

from playwright.sync_api import expect

from allocation import services
from tests.conftest import days_ago


def test_a_manager_signs_in_and_sees_the_team_page(
    sign_in, live_server, team, team_manager, held_case, social_worker
):
    page = sign_in("manager")
    expect(page).to_have_url(re.compile(rf"/teams/{team.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Child Protection")
    expect(page.get_by_role("cell", name="Asha Patel")).to_be_visible()
    expect(page.get_by_text("Claire Hughes – Team manager")).to_be_visible()
    # GOV.UK Frontend's scripts ran under the strict CSP (no inline script).
    expect(page.locator("body")).to_have_class(re.compile("govuk-frontend-supported"))
    expect(page.locator("th[aria-sort] button").first).to_be_visible()  # MoJ sortable table


def test_a_wrong_password_shows_the_error_summary(sign_in, team_manager, assert_accessible):
    page = sign_in("manager", "wrong")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(page).to_have_title(re.compile("^Error: Sign in"))
    assert_accessible(page)


def test_a_locked_out_person_is_told_when_to_try_again(
    sign_in, settings, team_manager, assert_accessible
):
    settings.AXES_FAILURE_LIMIT = 2
    sign_in("manager", "wrong")
    page = sign_in("manager", "wrong")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in locked")
    expect(page.locator(".govuk-inset-text")).to_contain_text(
        re.compile(r"Try again after \d\d:\d\d \(in 30 minutes\)")
    )
    assert_accessible(page)


def test_an_address_that_failed_too_often_is_told_when_to_try_again(
    sign_in, settings, team_manager, assert_accessible
):
    settings.SIGN_IN_ADDRESS_LIMIT = 2
    sign_in("someone", "wrong")
    sign_in("someone.else", "wrong")
    page = sign_in("manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many attempts to sign in")
    expect(page.locator(".govuk-inset-text")).to_contain_text(
        re.compile(r"Try again after \d\d:\d\d \(in 5 minutes\)")
    )
    assert_accessible(page)


def test_sign_out_returns_to_sign_in(sign_in, live_server, team_manager, team):
    page = sign_in("manager")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Caseload")
    page.goto(f"{live_server.url}/teams/{team.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Caseload")


def test_sign_in_and_home_pages_have_no_wcag_violations(
    page, live_server, sign_in, assert_accessible, team, team_manager, held_case, dmt_member
):
    page.goto(f"{live_server.url}/sign-in/")
    assert_accessible(page)
    sign_in("manager")
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/{held_case.pk}/")
    assert_accessible(page)


def test_someone_who_forgot_their_password_asks_for_a_link(
    page, live_server, assert_accessible, social_worker
):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set a new password")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your email address")
    assert_accessible(page)
    page.get_by_label("Email address").fill("asha.patel@example.org")
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    assert_accessible(page)


def test_each_role_home_has_no_wcag_violations(
    sign_in, assert_accessible, held_case, social_worker, dmt_member, administrator, colleague
):
    services.case_reallocate(
        case=held_case, to_person=colleague, on=days_ago(3), by=None, reason="Cover"
    )
    for username, heading in (
        ("colleague", "Your caseload"),
        ("dmt", "Children's Social Care"),
        ("admin", "Services"),
    ):
        page = sign_in(username)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert_accessible(page)
        page.get_by_role("button", name="Sign out").click()


def test_the_accessibility_check_does_catch_violations(page, axe):
    """The axe check above can fail: an input without a label is reported."""
    page.set_content('<html lang="en"><title>x</title><main><input type="text"></main></html>')
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a"]}})
    assert results.violations_count >= 1
    assert "label" in results.generate_report()
