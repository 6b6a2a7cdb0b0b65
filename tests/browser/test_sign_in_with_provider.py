"""Signing in and out with the council's identity provider, in a real
browser: the provider's own pages (tests/oidc_provider.py) and Caseload's,
under Caseload's content security policy."""

import re

from playwright.sync_api import expect

from tests.oidc_provider import PROVIDER_NAME


def test_a_worker_signs_in_with_the_provider_and_out_of_both(
    page, live_server, provider, settings, social_worker, assert_accessible
):
    settings.LOCAL_SIGN_IN = False
    provider.person("asha", email="worker@example.org", email_verified=True)
    page.goto(f"{live_server.url}/sign-in/")
    expect(page.get_by_label("Password")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    # The provider's sign-in page.
    page.get_by_placeholder("sub").fill("asha")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your caseload")
    expect(page.get_by_text("Asha Patel – Social worker")).to_be_visible()
    # Signing out goes on to the provider's sign-out (the policy lets the
    # form's answer lead there), which comes back to the sign-in page.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/oauth2/end_session\?"))
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Caseload")
    page.goto(f"{live_server.url}/my-caseload/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Caseload")


def test_someone_caseload_does_not_know_reads_why(page, live_server, provider, assert_accessible):
    provider.person("stranger", email="stranger@example.org", email_verified=True)
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_role("button", name=f"Sign in with {PROVIDER_NAME}").click()
    page.get_by_placeholder("sub").fill("stranger")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your account is not set up in Caseload"
    )
    expect(page.get_by_text("Ask your team manager or an administrator.")).to_be_visible()
    assert_accessible(page)
