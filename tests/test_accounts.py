"""Log-ins: administrators get what their work needs through a group kept in
step with their role, and new people set their own password from an
invitation (Django's password-reset machinery), so nobody else ever knows it."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse

from caseload import notifications, services
from caseload.models import Notification, Person
from tests.factories import PersonFactory

INVITATION_LINK = re.compile(r"https?://\S+/invitation/\S+/")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator.user)
    return client


def new_person_form(service, team_manager, **changes):
    data = {
        "username": "new.worker",
        "email": "new.worker@example.org",
        "full_name": "Nia Brown",
        "role": "social_worker",
        "service": service.pk,
        "fte": "1.00",
        "supervisor": team_manager.pk,
        "asye_start_date": "",
        "send_invitation": "on",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def invitation_link(person: Person) -> str:
    body = Notification.objects.get(recipient=person).body
    return INVITATION_LINK.search(body).group(0)


def test_a_person_added_in_the_admin_is_invited_to_set_a_password(
    admin_client, client, service, team_manager
):
    response = admin_client.post(
        reverse("admin:caseload_person_add"), new_person_form(service, team_manager)
    )
    assert response.status_code == 302
    person = Person.objects.get(full_name="Nia Brown")
    assert person.user.username == "new.worker"
    assert not person.user.has_usable_password()
    email = Notification.objects.get(recipient=person)
    assert email.email == "new.worker@example.org"
    assert "set your password" in email.body
    assert mail.outbox == []  # written to the outbox, sent by the sweep

    link = invitation_link(person).removeprefix("http://127.0.0.1:8000")
    client.logout()
    form_page = client.get(link, follow=True)
    assert "Set your password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "plum orchard lantern", "new_password2": "plum orchard lantern"},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()
    person.user.refresh_from_db()
    assert person.user.check_password("plum orchard lantern")
    again = client.get(link, follow=True).content.decode()
    assert "This link has already been used or has expired" in again


def test_the_invitation_is_sent_by_the_outbox(service, team_manager, administrator):
    person = PersonFactory(full_name="Nia Brown", user__username="nia", user__password=None)
    person.user.set_unusable_password()
    person.user.save()
    assert services.people_invite(people=[person], by=administrator) == 1
    assert notifications.send_pending() == 1
    assert mail.outbox[0].to == ["nia@example.org"]
    assert INVITATION_LINK.search(mail.outbox[0].body)


def test_an_invitation_expires(admin_client, client, service, team_manager, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3 * 24 * 60 * 60
    admin_client.post(reverse("admin:caseload_person_add"), new_person_form(service, team_manager))
    link = invitation_link(Person.objects.get(full_name="Nia Brown"))
    client.logout()
    with time_machine.travel(datetime.datetime.now() + datetime.timedelta(days=3, hours=1)):
        page = client.get(link, follow=True).content.decode()
    assert "This link has already been used or has expired" in page


def test_no_invitation_unless_the_box_is_ticked(admin_client, service, team_manager):
    admin_client.post(
        reverse("admin:caseload_person_add"),
        new_person_form(service, team_manager, send_invitation=None),
    )
    assert Person.objects.filter(full_name="Nia Brown").exists()
    assert not Notification.objects.exists()


def test_the_add_page_refuses_a_user_name_taken(admin_client, service, team_manager, social_worker):
    response = admin_client.post(
        reverse("admin:caseload_person_add"),
        new_person_form(service, team_manager, username="worker"),
    )
    assert "already taken" in response.content.decode()
    assert not Person.objects.filter(full_name="Nia Brown").exists()


def test_only_new_people_with_an_email_are_invited(social_worker, administrator):
    def new(username, email, active=True):
        person = PersonFactory(user__username=username, user__email=email)
        person.user.set_unusable_password()
        person.user.is_active = active
        person.user.save()
        return person

    invited = new("nia", "nia@example.org")
    people = [invited, new("no.email", ""), new("left", "left@example.org", False), social_worker]
    assert services.people_invite(people=people, by=administrator) == 1
    assert list(Notification.objects.values_list("recipient", flat=True)) == [invited.pk]


def test_the_send_invitation_action(admin_client, social_worker):
    nia = PersonFactory(full_name="Nia Brown", user__username="nia")
    nia.user.set_unusable_password()
    nia.user.save()
    response = admin_client.post(
        reverse("admin:caseload_person_changelist"),
        {"action": "send_invitation", "_selected_action": [nia.pk, social_worker.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "Sent 1 invitation" in page
    assert "1 not sent" in page
    assert list(Notification.objects.values_list("recipient", flat=True)) == [nia.pk]


def test_a_person_made_administrator_joins_the_group_and_leaves_it_with_the_role(
    social_worker,
):
    services.person_change_role(person=social_worker, role=Person.Role.ADMINISTRATOR)
    social_worker.user.refresh_from_db()
    assert social_worker.user.is_staff and not social_worker.user.is_superuser
    assert list(social_worker.user.groups.values_list("name", flat=True)) == ["Administrators"]
    services.person_change_role(person=social_worker, role=Person.Role.SOCIAL_WORKER)
    social_worker.user.refresh_from_db()
    assert not social_worker.user.is_staff
    assert not social_worker.user.groups.exists()


def test_the_admin_keeps_the_group_in_step_with_the_role(admin_client, social_worker):
    from tests.test_admin import person_form

    admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, role="administrator", supervisor=""),
    )
    social_worker.user.refresh_from_db()
    assert social_worker.user.groups.filter(name="Administrators").exists()


def test_administrators_have_only_the_permissions_their_work_needs(administrator):
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name="Administrators").permissions.select_related("content_type")
    }
    assert not {g for g in granted if ".delete_" in g}
    assert not {g for g in granted if g.startswith(("supervision.", "auth.add_group"))}
    assert {"caseload.change_person", "caseload.add_case", "auth.change_user"} <= granted
    assert {"axes.view_accessattempt", "axes.view_accesslog"} <= granted
    assert not {"axes.change_accessattempt", "auth.change_group", "auth.add_user"} & granted
    user = administrator.user
    assert not user.has_perm("supervision.view_supervisionrecord")
    assert not user.has_perm("auth.change_group")


def test_an_emptied_database_gets_the_group_back_with_the_same_permissions(db):
    from caseload.accounts import ADMINISTRATOR_PERMISSIONS, administrators_group

    Group.objects.filter(name="Administrators").delete()
    granted = {
        (p.content_type.app_label, p.codename)
        for p in administrators_group().permissions.select_related("content_type")
    }
    wanted = {(app, code) for app, codes in ADMINISTRATOR_PERMISSIONS.items() for code in codes}
    assert granted == wanted


def test_signing_in_is_not_kept_as_a_change_to_the_log_in(client, social_worker):
    before = social_worker.user.history.count()
    response = client.post(
        reverse("login"), {"username": "worker", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    social_worker.user.refresh_from_db()
    assert social_worker.user.last_login is not None
    assert social_worker.user.history.count() == before


# Forgotten passwords: the person asks for a link by their email address.


def ask_for_a_link(client, email: str):
    return client.post(reverse("password_reset"), {"email": email}, follow=True)


def test_a_person_who_forgot_their_password_sets_a_new_one_from_an_emailed_link(
    client, social_worker
):
    social_worker.user.email = "asha.patel@example.org"
    social_worker.user.set_password("an-old-password-1")
    social_worker.user.save()
    sign_in = client.get(reverse("login"))
    assert reverse("password_reset") in sign_in.content.decode()

    response = ask_for_a_link(client, "Asha.Patel@example.org")
    assert "Check your email" in response.content.decode()
    link = invitation_link(social_worker)
    assert social_worker.user.username not in Notification.objects.get().subject

    page = client.get(link, follow=True)
    assert "Set your password" in page.content.decode()
    client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "a-new-password-9", "new_password2": "a-new-password-9"},
    )
    signed_in = client.post(
        reverse("login"), {"username": "worker", "password": "a-new-password-9"}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("home")
    client.post(reverse("logout"))
    used = client.get(link, follow=True)
    assert "already been used or has expired" in used.content.decode()


@pytest.mark.parametrize("case", ["unknown address", "inactive", "no person"])
def test_a_link_goes_to_no_one_else_and_the_page_says_the_same(
    client, social_worker, django_user_model, case
):
    social_worker.user.email = "asha.patel@example.org"
    social_worker.user.save()
    email = "asha.patel@example.org"
    if case == "unknown address":
        email = "nobody@example.org"
    elif case == "inactive":
        social_worker.user.is_active = False
        social_worker.user.save()
    else:
        django_user_model.objects.create_superuser("breakglass", "root@example.org", "x-9-y-8-z")
        email = "root@example.org"
    response = ask_for_a_link(client, email)
    assert "Check your email" in response.content.decode()
    assert Notification.objects.count() == 0


def test_asking_again_soon_sends_no_second_email(client, social_worker):
    social_worker.user.email = "asha.patel@example.org"
    social_worker.user.save()
    ask_for_a_link(client, "asha.patel@example.org")
    ask_for_a_link(client, "asha.patel@example.org")
    assert Notification.objects.count() == 1
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(minutes=16)
    with time_machine.travel(later):
        ask_for_a_link(client, "asha.patel@example.org")
    assert Notification.objects.count() == 2


def test_an_empty_or_malformed_address_is_an_error_on_the_page(client, db):
    response = client.post(reverse("password_reset"), {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter an email address in the correct format" in response.content.decode()
    assert Notification.objects.count() == 0


def test_the_locked_out_page_offers_a_new_password(client, social_worker, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "worker", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "worker", "password": "wrong"})
    assert reverse("password_reset") in response.content.decode()
