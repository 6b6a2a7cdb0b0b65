"""A new person follows their invitation, sets a password and signs in, in a
real browser."""

import re

from playwright.sync_api import expect

from caseload import services
from caseload.models import Notification
from tests.factories import PersonFactory


def test_a_new_person_sets_their_password_from_the_invitation(
    page, live_server, sign_in, assert_accessible, team, administrator
):
    nia = PersonFactory(full_name="Nia Brown", user__username="nia", service=team.service)
    nia.user.set_unusable_password()
    nia.user.save()
    assert services.people_invite(people=[nia], by=administrator) == 1
    body = Notification.objects.get(recipient=nia).body
    link = re.search(r"https?://\S+?(/invitation/\S+/)", body).group(1)

    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set your password")
    assert "/set-password/" in page.url  # the token is no longer in the address
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Confirm your new password").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("There is a problem")
    expect(page).to_have_title(re.compile("^Error: Set your password"))
    assert_accessible(page)

    page.get_by_label("New password", exact=True).fill("plum orchard lantern")
    page.get_by_label("Confirm your new password").fill("plum orchard lantern")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_text("Your password is set")).to_be_visible()
    sign_in("nia", "plum orchard lantern")
    expect(page.get_by_text("Nia Brown")).to_be_visible()

    page.goto(f"{live_server.url}{link}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This link has already been used or has expired"
    )
    assert_accessible(page)
