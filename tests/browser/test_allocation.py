"""A manager allocates cases in a real browser."""

import re

from playwright.sync_api import expect

from tests.conftest import days_ago
from tests.factories import CaseFactory
from tests.test_allocation_journey import load_up, rate


def test_a_rated_case_is_allocated_in_three_clicks_from_the_team_page(
    sign_in,
    live_server,
    team,
    team_manager,
    social_worker,
    colleague,
    default_scheme,
    assert_accessible,
):
    case = CaseFactory(team=team, reference="CP-2001", label="Domestic abuse")
    rate(case, default_scheme)
    page = sign_in("manager")
    expect(page.get_by_role("heading", level=1)).to_have_text("Child Protection")
    assert_accessible(page)

    clicks = 0
    page.get_by_role("link", name="Allocate case CP-2001").click()
    clicks += 1
    expect(page.get_by_role("heading", level=1)).to_have_text("Allocate case CP-2001")
    assert_accessible(page)
    page.get_by_label(re.compile("Asha Patel — 0.0% now, 7.0% after")).check()
    clicks += 1
    page.get_by_role("button", name="Allocate").click()
    clicks += 1

    expect(page.locator(".govuk-panel__title")).to_have_text("Case CP-2001 allocated to Asha Patel")
    assert clicks <= 4
    assert_accessible(page)


def test_an_over_maximum_allocation_needs_a_reason_and_review_date(
    sign_in, live_server, team, team_manager, social_worker, default_scheme, assert_accessible
):
    load_up(team, social_worker, default_scheme, 11)  # 99% of capacity
    case = CaseFactory(team=team, reference="CP-2002")
    rate(case, default_scheme)
    page = sign_in("manager")
    page.goto(f"{live_server.url}/cases/{case.pk}/allocate/")
    page.get_by_label(re.compile("Asha Patel — 99.0% now, 106.0% after")).check()
    reason = page.get_by_label("Why allocate this case despite the maximum")
    page.get_by_role("button", name="Allocate").click()

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Give the reason for allocating over the maximum")
    expect(summary).to_contain_text("Enter the date the allocation will be reviewed by")
    assert_accessible(page)

    reason.fill("A sibling of a case she holds")
    page.get_by_label("How the rest of their work will be reprioritised").fill(
        "Two review cases move to Daniel"
    )
    review = page.get_by_role("group", name="Review date")
    review.get_by_label("Day").fill("1")
    review.get_by_label("Month").fill("1")
    review.get_by_label("Year").fill("2099")
    page.get_by_role("button", name="Allocate").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("within three months")
    assert not case.allocations.exists()

    review_by = days_ago(-21)
    review = page.get_by_role("group", name="Review date")
    review.get_by_label("Day").fill(str(review_by.day))
    review.get_by_label("Month").fill(str(review_by.month))
    review.get_by_label("Year").fill(str(review_by.year))
    page.get_by_role("button", name="Allocate").click()
    expect(page.locator(".govuk-panel__title")).to_have_text("Case CP-2002 allocated to Asha Patel")
    expect(page.get_by_text("This takes them over the maximum")).to_be_visible()

    page.goto(f"{live_server.url}/over-maximum/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allocations over the maximum")
    assert_accessible(page)


def test_the_case_actions_and_review_pages_have_no_wcag_violations(
    sign_in,
    live_server,
    team,
    other_team,
    held_case,
    team_manager,
    social_worker,
    default_scheme,
    assert_accessible,
):
    load_up(team, social_worker, default_scheme, 12)
    page = sign_in("manager")
    # Moving a case to another team is checked before it is done.
    page.goto(f"{live_server.url}/cases/{held_case.pk}/move-team/")
    page.get_by_label("Looked After Children").check()
    page.get_by_label("Reason for the move").fill("Care order granted")
    page.get_by_role("button", name="Move the case").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Move case {held_case.reference} to Looked After Children?"
    )
    assert_accessible(page)
    for path in (
        f"/cases/{held_case.pk}/",
        f"/cases/{held_case.pk}/transfer/",
        f"/cases/{held_case.pk}/move-team/",
        f"/cases/{held_case.pk}/close/",
        f"/cases/{held_case.pk}/planned-closing/",
        f"/cases/{held_case.pk}/involve/",
    ):
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page)
    page.goto(f"{live_server.url}/over-maximum/")
    page.get_by_role("link", name=re.compile("^Review")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review an over-maximum allocation")
    assert_accessible(page)


def test_an_unrated_case_is_rated_and_allocated_on_one_page_in_four_actions(
    sign_in, live_server, team, team_manager, social_worker, default_scheme, assert_accessible
):
    """Levels start at the middle of each scale (6: 0.0% now, 6.0% after);
    choosing risk 3 moves Asha's "after" to 7.0% before anything is sent."""
    CaseFactory(team=team, reference="CP-2003", label="New referral")
    page = sign_in("manager")
    actions = 0
    page.get_by_role("link", name="Allocate case CP-2003").click()
    actions += 1
    asha = page.get_by_label(re.compile("Asha Patel — 0.0% now, 6.0% after"))
    expect(asha).to_be_visible()
    page.get_by_role("group", name=re.compile("^Risk")).get_by_label("3", exact=True).check()
    actions += 1
    asha = page.get_by_label(re.compile("Asha Patel — 0.0% now, 7.0% after"))
    asha.check()
    actions += 1
    assert_accessible(page)
    page.get_by_role("button", name="Allocate").click()
    actions += 1
    expect(page.locator(".govuk-panel__title")).to_have_text("Case CP-2003 allocated to Asha Patel")
    assert actions <= 4
    rating = social_worker.allocations.get().case.ratings.get()
    assert (rating.status, rating.total) == ("provisional", 7)


def test_the_forecast_page_is_one_click_from_the_team_page(
    sign_in, live_server, team, team_manager, social_worker, held_case, assert_accessible
):
    page = sign_in("manager")
    expect(page.get_by_role("heading", name="The next 12 weeks")).to_be_visible()
    page.get_by_role("link", name="Plans for Asha Patel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans for Asha Patel")
    page.get_by_role("button", name="Record the protected time").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose the reason")
    assert_accessible(page)
    page.get_by_role("link", name="Back to Child Protection").click()
    page.get_by_role("link", name="Week by week, with a chart").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The next 12 weeks")
    expect(page.locator("#table-team-forecast tbody tr")).to_have_count(13)
    assert_accessible(page)
    page.get_by_role("link", name="Record or remove vacancies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vacancies")
    page.get_by_role("button", name="Record the vacancy").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the FTE of the post")
    assert_accessible(page)
    page.get_by_label("FTE").fill("0.5")
    start = page.get_by_role("group", name="Date the vacancy starts")
    start.get_by_label("Day").fill("1")
    start.get_by_label("Month").fill("2")
    start.get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Record the vacancy").click()
    expect(page.get_by_text("Vacancy recorded.")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("0.50")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the next 12 weeks").click()
    page.set_viewport_size({"width": 375, "height": 800})
    assert (
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        == 0
    )


def test_the_plans_page_records_an_own_allowance_and_shows_its_errors(
    sign_in, live_server, team_manager, social_worker, default_scheme, assert_accessible
):
    """Every plan of a person on one page, with no WCAG violation; a bad
    allowance is refused with the error summary, a good one is recorded."""
    page = sign_in("manager")
    page.goto(f"{live_server.url}/people/{social_worker.pk}/plan/")
    expect(page.get_by_role("heading", name="Own allowance for non-case time")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Hours a week for non-case time").fill("40")
    page.get_by_role("button", name="Record the allowance").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The hours a week must be 37 or less"
    )
    assert_accessible(page)
    page.get_by_label("Hours a week for non-case time").fill("3")
    dates = page.get_by_role("group", name="Date it applies from")
    dates.get_by_label("Day").fill("1")
    dates.get_by_label("Month").fill("1")
    dates.get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Record the allowance").click()
    expect(
        page.get_by_text("allowance for non-case time is 3 hours a week from 1 January 2027")
    ).to_be_visible()


def test_a_manager_restricts_a_case_and_names_who_else_sees_it(
    sign_in, live_server, held_case, team_manager, dmt_member, assert_accessible
):
    page = sign_in("manager")
    page.goto(f"{live_server.url}/cases/{held_case.pk}/")
    page.get_by_role("link", name="Change who can see this case").click()
    page.get_by_role("button", name="Save").click()  # nothing changed: the page again
    page.get_by_label("Only the people who must").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        f"Case {held_case.reference} is restricted"
    )
    page.get_by_role("button", name="Name them").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose who to name")
    assert_accessible(page)
    page.get_by_label("Name someone else who can see it").select_option(
        label="Dana Morris – Senior manager (DMT)"
    )
    page.get_by_role("button", name="Name them").click()
    expect(page.get_by_role("button", name="Remove Dana Morris")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/{held_case.pk}/")
    expect(page.locator(".govuk-warning-text")).to_contain_text("and Dana Morris can see")
    assert_accessible(page)
