"""Signing in with the council's identity provider (issue 27), against a real
OpenID Connect provider on loopback (tests/oidc_provider.py): the first
sign-in links a person by the email address the provider vouches for, every
later one by the subject alone; nobody is created; leavers, switched-off
log-ins and other tenants are refused with a page that says why; passwords
can be switched off but for the break-glass superuser; signing out ends the
provider's session; and a session the provider no longer vouches for ends."""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from caseload import services
from caseload.models import Notification, Person, SignInIdentity, TeamMembership
from tests.oidc_provider import PROVIDER_NAME

NOT_SET_UP = "Your account is not set up in Caseload"
ASK = "Ask your team manager or an administrator."
TENANT = str(uuid.UUID(int=0x0F1E2D3C4B5A69788796A5B4C3D2E1F0))
PASSWORD = "correct horse battery staple"


@pytest.fixture
def entra(provider, settings):
    """The provider as Microsoft Entra ID is matched: by `oid` within the
    council's tenant (`tid`), its issuer pinned, its emails trusted."""
    settings.OIDC_ENTRA_TENANT_ID = TENANT
    settings.OIDC_ENTRA_TRUST_EMAIL = True
    return provider


@pytest.fixture
def superuser(db, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long emergency passphrase")
    call_command(
        "createsuperuser", interactive=False, username="breakglass", email="it@example.org"
    )
    return get_user_model().objects.get(username="breakglass")


def signed_in_as(client):  # type: ignore[no-untyped-def]
    """Who the client's session belongs to, as the next page sees it."""
    response = client.get(reverse("no_role"))
    return response.wsgi_request.user if response.status_code == 200 else None


def records() -> tuple[int, int, int]:
    return (
        get_user_model().objects.count(),
        Person.objects.count(),
        SignInIdentity.objects.count(),
    )


def leave(person: Person) -> None:
    TeamMembership.objects.filter(person=person, end_date__isnull=True).update(
        end_date=timezone.localdate()
    )


# Linking and matching -------------------------------------------------------------


def test_a_first_sign_in_links_by_verified_email_and_stores_the_subject(
    client, provider, social_worker
):
    provider.person("asha-1", email="Worker@Example.org", email_verified=True)
    response = provider.sign_in(client, "asha-1", next_url=reverse("my_caseload"))
    assert response.status_code == 302
    assert response["Location"] == reverse("my_caseload")
    assert signed_in_as(client) == social_worker.user
    identity = SignInIdentity.objects.get()
    assert (identity.user, identity.issuer, identity.subject) == (
        social_worker.user,
        provider.issuer,
        "asha-1",
    )
    # The sign-in is in the log administrators read, as a password's is.
    assert AccessLog.objects.filter(
        username="worker", path_info=reverse("oidc_authentication_callback")
    ).exists()


def test_later_sign_ins_match_the_subject_alone_whatever_the_email_says(
    client, provider, social_worker, colleague
):
    provider.person("asha-1", email="worker@example.org", email_verified=True)
    provider.sign_in(client, "asha-1")
    client.post(reverse("logout"))
    # She marries and changes her address; then the provider sends (wrongly)
    # a colleague's, unverified: neither moves her account.
    for email, verified in (("asha.okafor@example.org", True), ("colleague@example.org", False)):
        provider.person("asha-1", email=email, email_verified=verified)
        assert provider.sign_in(client, "asha-1").status_code == 302
        assert signed_in_as(client) == social_worker.user
        client.post(reverse("logout"))
    assert SignInIdentity.objects.get().user == social_worker.user
    social_worker.user.refresh_from_db()
    assert social_worker.user.email == "worker@example.org"  # never overwritten


def test_an_email_the_provider_does_not_vouch_for_links_nobody(client, provider, social_worker):
    before = records()
    for sub, claims in (
        ("asha-1", {"email": "worker@example.org", "email_verified": False}),
        ("asha-2", {"email": "worker@example.org"}),
    ):
        provider.person(sub, **claims)
        response = provider.sign_in(client, sub)
        assert response.status_code == 403
        page = response.content.decode()
        assert NOT_SET_UP in page
        assert "did not confirm your email address" in page
    assert records() == before
    assert signed_in_as(client) is None


def test_someone_caseload_does_not_know_is_told_and_nothing_is_written(
    client, provider, social_worker
):
    before = records()
    provider.person("stranger", email="someone.else@example.org", email_verified=True)
    response = provider.sign_in(client, "stranger")
    assert response.status_code == 403
    page = response.content.decode()
    assert NOT_SET_UP in page
    assert ASK in page
    assert records() == before
    assert signed_in_as(client) is None
    # Recorded where failed sign-ins are, and never counted against the
    # address's password sign-ins (nobody guessed a password).
    failure = AccessFailureLog.objects.get()
    assert failure.username == "someone.else@example.org"
    assert failure.path_info == reverse("oidc_authentication_callback")


def test_a_provider_that_stops_answering_mid_sign_in_is_told_and_nothing_written(
    client, provider, settings, social_worker
):
    provider.person("asha", email="worker@example.org", email_verified=True)
    authorize = client.get(reverse("oidc_authentication_init"))["Location"]
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/oauth2/token"  # nothing listens
    response = provider.come_back(client, authorize, "asha")
    assert response.status_code == 403
    assert "Signing in did not finish" in response.content.decode()
    assert SignInIdentity.objects.count() == 0
    assert signed_in_as(client) is None


def test_refusals_lock_nobody_out_nor_slow_the_address_s_password_sign_ins(
    client, provider, settings, social_worker
):
    settings.SIGN_IN_ADDRESS_LIMIT = 2
    settings.AXES_FAILURE_LIMIT = 2
    for n in range(3):
        provider.person(f"stranger{n}", email=f"s{n}@example.org", email_verified=True)
        assert provider.sign_in(client, f"stranger{n}").status_code == 403
    assert AccessFailureLog.objects.count() == 3
    signed_in = client.post(reverse("login"), {"username": "worker", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert signed_in_as(client) == social_worker.user


def test_the_break_glass_superuser_is_never_reached_through_the_provider(
    client, provider, superuser
):
    provider.person("it", email="it@example.org", email_verified=True)
    response = provider.sign_in(client, "it")
    assert response.status_code == 403
    assert SignInIdentity.objects.count() == 0


def test_an_address_that_moved_to_another_account_does_not_take_the_record(
    client, provider, social_worker
):
    provider.person("asha-1", email="worker@example.org", email_verified=True)
    provider.sign_in(client, "asha-1")
    client.post(reverse("logout"))
    provider.person("impostor", email="worker@example.org", email_verified=True)
    response = provider.sign_in(client, "impostor")
    assert response.status_code == 403
    assert "belongs to another" in response.content.decode()
    assert list(SignInIdentity.objects.values_list("subject", flat=True)) == ["asha-1"]


# Microsoft Entra ID: oid within the tenant, issuer pinned ---------------------------


def test_entra_links_by_object_id_in_the_council_s_tenant(client, entra, social_worker):
    entra.person("pairwise-sub-1", email="worker@example.org", oid="oid-asha", tid=TENANT)
    assert entra.sign_in(client, "pairwise-sub-1").status_code == 302
    assert SignInIdentity.objects.get().subject == "oid-asha"
    client.post(reverse("logout"))
    # The same object id under another `sub` (another app's view of her) is her.
    entra.person("pairwise-sub-2", email="changed@example.org", oid="oid-asha", tid=TENANT)
    assert entra.sign_in(client, "pairwise-sub-2").status_code == 302
    assert signed_in_as(client) == social_worker.user


def test_entra_refuses_another_tenant_and_another_issuer(client, entra, settings, social_worker):
    entra.person("asha", email="worker@example.org", oid="oid-asha", tid=TENANT)
    entra.sign_in(client, "asha")
    client.post(reverse("logout"))
    other_tenant = str(uuid.uuid4())
    entra.person("asha", email="worker@example.org", oid="oid-asha", tid=other_tenant)
    response = entra.sign_in(client, "asha")
    assert response.status_code == 403
    assert "not one of the council" in response.content.decode()
    assert signed_in_as(client) is None
    # The right tenant, from an issuer that is not the pinned one.
    entra.person("asha", email="worker@example.org", oid="oid-asha", tid=TENANT)
    settings.OIDC_OP_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert entra.sign_in(client, "asha").status_code == 403
    assert signed_in_as(client) is None
    assert SignInIdentity.objects.count() == 1


def test_entra_emails_link_nobody_unless_the_tenant_s_are_trusted(
    client, entra, settings, social_worker
):
    settings.OIDC_ENTRA_TRUST_EMAIL = False
    entra.person(
        "asha", email="worker@example.org", email_verified=True, oid="oid-asha", tid=TENANT
    )
    response = entra.sign_in(client, "asha")
    assert response.status_code == 403
    assert NOT_SET_UP in response.content.decode()
    assert SignInIdentity.objects.count() == 0
    # An administrator's link (the admin) is enough.
    SignInIdentity.objects.create(user=social_worker.user, issuer=entra.issuer, subject="oid-asha")
    assert entra.sign_in(client, "asha").status_code == 302
    assert signed_in_as(client) == social_worker.user


# Leavers and switched-off log-ins --------------------------------------------------


def test_a_leaver_is_refused_linked_or_not(client, provider, social_worker, colleague):
    provider.person("asha", email="worker@example.org", email_verified=True)
    provider.sign_in(client, "asha")
    client.post(reverse("logout"))
    leave(social_worker)
    leave(colleague)
    response = provider.sign_in(client, "asha")
    assert response.status_code == 403
    assert "Your Caseload account has ended" in response.content.decode()
    # Not yet linked: refused before anything is written.
    provider.person("daniel", email="colleague@example.org", email_verified=True)
    assert provider.sign_in(client, "daniel").status_code == 403
    assert list(SignInIdentity.objects.values_list("subject", flat=True)) == ["asha"]
    assert signed_in_as(client) is None


def test_a_switched_off_log_in_is_refused(client, provider, social_worker):
    provider.person("asha", email="worker@example.org", email_verified=True)
    social_worker.user.is_active = False
    social_worker.user.save()
    response = provider.sign_in(client, "asha")
    assert response.status_code == 403
    assert "switched off" in response.content.decode()
    assert SignInIdentity.objects.count() == 0


def test_a_signed_in_person_who_leaves_is_signed_out_at_the_next_page(
    client, provider, social_worker
):
    provider.person("asha", email="worker@example.org", email_verified=True)
    provider.sign_in(client, "asha")
    assert signed_in_as(client) == social_worker.user
    leave(social_worker)
    assert signed_in_as(client) is None


# Passwords switched off --------------------------------------------------------------


def test_the_sign_in_page_offers_the_provider(client, provider):
    page = client.get(reverse("login")).content.decode()
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'type="password"' in page  # passwords are still on


def test_without_a_provider_there_is_no_button_and_its_pages_are_not_found(client, db):
    assert "Sign in with" not in client.get(reverse("login")).content.decode()
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    answer = reverse("oidc_authentication_callback") + "?code=x&state=y"
    assert client.get(answer).status_code == 404


@pytest.mark.parametrize("principal", ["anonymous", "worker", "manager", "admin"])
def test_the_provider_s_pages_answer_everyone_alike(
    client, provider, principal, social_worker, team_manager, administrator
):
    people = {"worker": social_worker, "manager": team_manager, "admin": administrator}
    if principal in people:
        client.force_login(people[principal].user)
    start = client.get(reverse("oidc_authentication_init"))
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider.url}/oauth2/authorize?")
    # An answer with no code, or one whose state this session never sent,
    # signs nobody in and nobody out.
    assert client.get(reverse("oidc_authentication_callback"))["Location"] == reverse("login")
    forged = client.get(reverse("oidc_authentication_callback") + "?code=x&state=forged")
    assert forged.status_code == 400
    for name in ("oidc_authentication_init", "oidc_authentication_callback"):
        assert client.post(reverse(name)).status_code == 405
    if principal in people:
        assert signed_in_as(client) == people[principal].user
    assert SignInIdentity.objects.count() == 0


@pytest.fixture
def passwords_off(provider, settings):
    settings.LOCAL_SIGN_IN = False
    return provider


def test_with_passwords_off_only_the_break_glass_superuser_uses_one(
    client, passwords_off, social_worker, superuser
):
    page = client.get(reverse("login")).content.decode()
    assert f"Sign in with {PROVIDER_NAME}" in page
    assert 'type="password"' not in page
    assert "Forgotten your password?" not in page
    refused = client.post(reverse("login"), {"username": "worker", "password": PASSWORD})
    assert refused.status_code == 200
    assert f"sign in with {PROVIDER_NAME}" in refused.content.decode()
    assert signed_in_as(client) is None
    # The admin's sign-in page refuses her too.
    client.post(reverse("admin:login"), {"username": "worker", "password": PASSWORD})
    assert signed_in_as(client) is None
    # The break-glass superuser signs in with a password, at either page.
    for page_name in ("login", "admin:login"):
        answer = client.post(
            reverse(page_name),
            {"username": "breakglass", "password": "a long emergency passphrase"},
        )
        assert answer.status_code == 302
        assert signed_in_as(client) == superuser
        client.post(reverse("logout"))


def test_with_passwords_off_no_password_link_is_sent_or_used(client, passwords_off, social_worker):
    assert client.get(reverse("password_reset")).status_code == 404
    answer = client.post(reverse("password_reset"), {"email": "worker@example.org"})
    assert answer.status_code == 404
    assert "does not use passwords" in answer.content.decode()
    assert Notification.objects.count() == 0
    # An invitation sent before passwords were switched off sets nothing.
    from caseload import accounts

    user = social_worker.user
    user.set_unusable_password()
    user.save()
    url = accounts.invitation_url(user).removeprefix("http://127.0.0.1:8000")
    assert client.get(url).status_code == 404
    user.refresh_from_db()
    assert not user.has_usable_password()


def test_with_passwords_off_an_invitation_says_how_to_sign_in(passwords_off, team, team_manager):
    newcomer = services.person_create(
        username="nia", email="nia@example.org", full_name="Nia Brown", role="social_worker"
    )
    assert services.people_invite(people=[newcomer], by=team_manager) == 1
    email = Notification.objects.get()
    assert email.subject == "You can sign in to Caseload"
    assert f"Sign in with {PROVIDER_NAME}" in email.body
    assert "/invitation/" not in email.body


# Signing out, and the recheck ----------------------------------------------------------


def test_signing_out_ends_the_provider_s_session_too(client, provider, social_worker):
    provider.person("asha", email="worker@example.org", email_verified=True)
    provider.sign_in(client, "asha")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    to = urlsplit(response["Location"])
    assert f"{to.scheme}://{to.netloc}{to.path}" == f"{provider.url}/oauth2/end_session"
    query = parse_qs(to.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/sign-in/"]
    assert query["id_token_hint"][0].count(".") == 2  # the ID token she signed in with
    assert signed_in_as(client) is None
    # The provider's page ends its session and sends her back to sign in.
    assert requests.get(response["Location"], timeout=5).status_code == 200
    back = requests.post(
        f"{provider.url}/oauth2/end_session/confirm",
        data={"redirect_uri": query["post_logout_redirect_uri"][0]},
        allow_redirects=False,
        timeout=5,
    )
    assert back.headers["Location"] == "http://testserver/sign-in/"


def test_a_password_session_signs_out_to_the_sign_in_page(client, provider, social_worker):
    client.post(reverse("login"), {"username": "worker", "password": PASSWORD})
    assert signed_in_as(client) == social_worker.user
    assert client.post(reverse("logout"))["Location"] == reverse("login")


def test_the_provider_is_asked_again_silently_after_the_recheck_time(
    client, provider, settings, social_worker
):
    provider.person("asha", email="worker@example.org", email_verified=True)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        provider.sign_in(client, "asha")
        clock.shift(datetime.timedelta(minutes=14))
        assert client.get(reverse("my_caseload")).status_code == 200
        # POSTs are never sent away mid-form (and the session timer's
        # keep-alive goes on).
        clock.shift(datetime.timedelta(minutes=2))
        assert client.post(reverse("session_keep_alive")).status_code == 204
        recheck = client.get(reverse("my_caseload"))
        assert recheck.status_code == 302
        authorize = urlsplit(recheck["Location"])
        assert f"{authorize.scheme}://{authorize.netloc}" == provider.url
        assert parse_qs(authorize.query)["prompt"] == ["none"]


def test_someone_the_provider_no_longer_signs_in_is_signed_out_at_the_recheck(
    client, provider, social_worker
):
    provider.person("asha", email="worker@example.org", email_verified=True)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        provider.sign_in(client, "asha")
        clock.shift(datetime.timedelta(minutes=16))
        # Her account is disabled at the provider meanwhile.
        provider.revoke("asha")
        authorize = client.get(reverse("my_caseload"))["Location"]
        answer = provider.silent_answer(client, authorize)
        assert answer["Location"] == reverse("login")
        assert signed_in_as(client) is None
        page = client.get(reverse("login")).content.decode()
        assert f"You have been signed out: {PROVIDER_NAME} did not confirm" in page
        assert AccessLog.objects.count() == 1  # the one sign-in


def test_the_recheck_time_is_a_setting(client, provider, settings, social_worker):
    settings.OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = 5 * 60
    provider.person("asha", email="worker@example.org", email_verified=True)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        provider.sign_in(client, "asha")
        clock.shift(datetime.timedelta(minutes=6))
        assert client.get(reverse("my_caseload")).status_code == 302


def test_a_password_session_is_never_sent_to_the_provider(client, provider, social_worker):
    client.post(reverse("login"), {"username": "worker", "password": PASSWORD})
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=20)):
        assert client.get(reverse("my_caseload")).status_code == 200


def test_an_administrator_links_a_person_in_the_admin_and_removes_no_link(
    client, administrator, social_worker
):
    client.force_login(administrator.user)
    issuer = f"https://login.microsoftonline.com/{TENANT}/v2.0"
    added = client.post(
        reverse("admin:caseload_signinidentity_add"),
        {"user": social_worker.user.pk, "issuer": issuer, "subject": "oid-asha"},
    )
    assert added.status_code == 302
    identity = SignInIdentity.objects.get()
    assert (identity.user, identity.issuer, identity.subject) == (
        social_worker.user,
        issuer,
        "oid-asha",
    )
    # The same subject for someone else is refused with the form's message.
    again = client.post(
        reverse("admin:caseload_signinidentity_add"),
        {"user": administrator.user.pk, "issuer": issuer, "subject": "oid-asha"},
    )
    assert again.status_code == 200
    assert SignInIdentity.objects.count() == 1
    delete = reverse("admin:caseload_signinidentity_delete", args=[identity.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert SignInIdentity.objects.count() == 1


def test_a_sign_in_takes_the_same_queries_however_many_people_are_linked(
    provider, social_worker, team
):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.factories import PersonFactory

    def callback_queries() -> int:
        client = Client()
        start = client.get(reverse("oidc_authentication_init"))
        with CaptureQueriesContext(connection) as queries:
            assert provider.come_back(client, start["Location"], "asha").status_code == 302
        client.post(reverse("logout"))
        return len(queries)

    provider.person("asha", email="worker@example.org", email_verified=True)
    callback_queries()  # the first sign-in links her
    few = callback_queries()
    for n in range(40):
        person = PersonFactory(user__username=f"linked{n}")
        SignInIdentity.objects.create(user=person.user, issuer=provider.issuer, subject=f"s{n}")
    assert callback_queries() == few
