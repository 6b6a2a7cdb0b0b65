"""Preparing for supervision and signing the record, in a real browser."""

import re

from playwright.sync_api import expect

from allocation import services as allocation_services
from supervision.models import SupervisionRecord
from tests.conftest import days_ago
from tests.factories import CaseFactory
from tests.test_supervision import rate


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()


def test_propose_record_agree_and_sign_a_supervision(
    sign_in, live_server, team, social_worker, team_manager, default_scheme, assert_accessible
):
    case = CaseFactory(team=team, reference="CP-1042", label="Sibling group")
    allocation_services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(20), allocated_by=None
    )
    rate(case, default_scheme, (3, 3, 1), on=days_ago(15))

    # The worker proposes a re-rating and records her view of her workload.
    page = sign_in("worker")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    assert_accessible(page)
    page.get_by_role("link", name="Propose a new rating for CP-1042").click()
    assert_accessible(page)
    page.get_by_role("group", name=re.compile("^Risk")).get_by_label("2", exact=True).check()
    page.get_by_label("Why should the rating change?").fill("Risk assessment completed")
    page.get_by_role("button", name="Propose this rating").click()
    expect(page.get_by_text("You proposed a change")).to_be_visible()
    # One tap on their page records how the workload feels today.
    page.get_by_role("button", name="Hard to manage").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Your view of your workload is recorded"
    )
    assert_accessible(page)
    page.get_by_role("link", name="Say more about how your workload feels").click()
    assert_accessible(page)
    page.get_by_label("Just about manageable").check()
    page.get_by_label("Anything you want your supervisor to know").fill("Two reports due")
    page.get_by_role("button", name="Record my view").click()
    sign_out(page)

    # The supervisor opens the record: both are there already.
    page = sign_in("manager")
    page.get_by_role("link", name="Supervision").click()
    assert_accessible(page)
    page.get_by_role("link", name="Open a record for Asha Patel").click()
    assert_accessible(page)
    page.get_by_role("button", name="Open the record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervision record")
    expect(page.get_by_text("Risk assessment completed")).to_be_visible()
    expect(page.get_by_text("Two reports due")).to_be_visible()
    assert_accessible(page)
    card = page.locator(".govuk-summary-card", has_text="CP-1042")
    expect(card.get_by_label("Agree a rating for CP-1042 in this supervision")).to_be_checked()
    expect(card.get_by_role("group", name="Risk", exact=True).get_by_label("2")).to_be_checked()
    card.get_by_text("Anticipated rating by the next supervision").click()
    card.get_by_role("group", name="Anticipated complexity").get_by_label("2").check()
    card.get_by_role("group", name="Anticipated risk").get_by_label("1").check()
    card.get_by_role("group", name="Anticipated travel").get_by_label("1").check()
    anticipated_by = days_ago(-14)
    by = card.get_by_role("group", name="Anticipated date")
    by.get_by_label("Day").fill(str(anticipated_by.day))
    by.get_by_label("Month").fill(str(anticipated_by.month))
    by.get_by_label("Year").fill(str(anticipated_by.year))
    page.get_by_label("Discussion of the relative complexity").fill("Court work dominates")
    page.get_by_role("group", name="Is a deviation from the average caseload agreed?").get_by_label(
        "No"
    ).check()
    page.get_by_label("Time available to work directly").fill("About half the week")
    page.get_by_label("Issues meeting other demands").fill("Reports")
    page.get_by_role("button", name="Sign as supervisor").click()
    expect(page.get_by_text("Signed. The agreed ratings have taken effect")).to_be_visible()
    assert_accessible(page)
    record = SupervisionRecord.objects.get()
    sign_out(page)

    # The worker signs; the case page shows the agreed rating.
    page = sign_in("worker")
    page.get_by_role("link", name="Read and sign it").click()
    page.get_by_label("I agree with this record").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_text("You have signed the record.")).to_be_visible()
    expect(page.get_by_role("heading", name="Signed by the worker")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    expect(page.locator("p.govuk-body-l")).to_contain_text("6 of 9")
    expect(page.locator("p.govuk-body-l")).to_contain_text("Agreed")
    sign_out(page)

    # An attempt to edit the signed record is refused.
    page = sign_in("manager")
    response = page.request.post(
        f"{live_server.url}/supervision/{record.pk}/",
        form={"caseload_discussion": "Rewritten"},
        headers={
            "X-CSRFToken": page.evaluate("document.querySelector('meta[name=csrf-token]').content")
        },
    )
    assert response.status == 403
    record.refresh_from_db()
    assert record.caseload_discussion == "Court work dominates"


def test_concern_pages_have_no_wcag_violations(
    sign_in, live_server, social_worker, team_manager, assert_accessible
):
    page = sign_in("worker")
    page.get_by_role("link", name="Concerns").click()
    page.get_by_role("link", name="Raise a concern").click()
    assert_accessible(page)
    page.get_by_label("What is wrong with your workload?").fill("Too many new cases")
    page.get_by_role("button", name="Raise the concern").click()
    expect(page.get_by_text("Response due")).to_be_visible()
    assert_accessible(page)
    sign_out(page)
    page = sign_in("manager")
    page.goto(f"{live_server.url}/concerns/")
    page.get_by_role("link", name="Respond to Asha Patel").click()
    assert_accessible(page)


def test_the_page_warns_before_the_session_times_out_and_saves_the_draft(
    sign_in, live_server, settings, social_worker, team_manager, default_scheme
):
    settings.SESSION_COOKIE_AGE = 8  # seconds: warned at 4, saved at 6.4
    page = sign_in("manager")
    page.goto(f"{live_server.url}/supervision/new/{social_worker.pk}/")
    page.get_by_role("button", name="Open the record").click()
    page.get_by_label("Discussion of the relative complexity").fill("Typed in the meeting")
    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_visible(timeout=8000)
    expect(page.get_by_text("Draft saved.")).to_be_visible(timeout=8000)
    record = SupervisionRecord.objects.get()
    assert record.caseload_discussion == "Typed in the meeting"


def test_staying_signed_in_closes_the_warning(sign_in, live_server, settings, team_manager):
    settings.SESSION_COOKIE_AGE = 8
    page = sign_in("manager")
    dialog = page.get_by_role("dialog", name="You will be signed out soon")
    expect(dialog).to_be_visible(timeout=8000)
    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text("Child Protection")


def test_a_worker_proposes_a_re_rating_in_three_actions(
    sign_in, live_server, team, social_worker, team_manager, default_scheme, assert_accessible
):
    case = CaseFactory(team=team, reference="CP-1042", label="Sibling group")
    allocation_services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(20), allocated_by=None
    )
    rate(case, default_scheme, (3, 3, 1), on=days_ago(15))
    page = sign_in("worker")
    actions = 0
    page.get_by_role("link", name="Propose a new rating for CP-1042").click()
    actions += 1
    page.get_by_role("group", name=re.compile("^Risk")).get_by_label("2", exact=True).check()
    actions += 1
    page.get_by_role("button", name="Propose this rating").click()
    actions += 1
    expect(page.get_by_text("You proposed a change")).to_be_visible()
    assert actions <= 3
    assert_accessible(page)


def test_the_print_guide_and_statement_pages_have_no_violations(
    sign_in, live_server, team, social_worker, team_manager, default_scheme, assert_accessible
):
    """axe's WCAG 2.2 A/AA rules and its 'region' rule: every part of the
    page inside a landmark, the printable record's header included."""
    from supervision import services
    from tests.test_supervision import _complete_draft

    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(1))
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    page = sign_in("manager")
    for path in (f"/supervision/{record.pk}/print/", "/import/format/", "/accessibility/"):
        page.goto(f"{live_server.url}{path}")
        assert_accessible(page)
