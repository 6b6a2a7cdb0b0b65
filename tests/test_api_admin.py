"""Administrators set up the systems that send case events: a token shown
once, rotated with a day's overlap, revoked at once; and what the API
keeps goes after its time."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiClient, ApiEvent, ApiRequestCount, ApiToken
from api.tokens import TokenRefused, token_authenticate
from caseload.retention import apply_retention
from tests.api_client import system_with_token


@pytest.fixture
def admin_browser(administrator) -> Client:
    browser = Client()
    browser.force_login(administrator.user)
    return browser


def shown_token(html: str) -> str:
    found = re.findall(r"cla_[0-9a-f]{10}_[A-Za-z0-9_-]{43}", html)
    assert len(found) == 1
    return found[0]


def test_a_new_systems_token_is_shown_once_and_kept_only_as_a_hash(admin_browser, service):
    response = admin_browser.post(
        reverse("admin:api_apiclient_add"), {"name": "Mosaic", "services": [service.pk]}
    )
    assert response.status_code == 200
    value = shown_token(response.content.decode())
    token = ApiToken.objects.get()
    assert value not in token.secret_hash and token.prefix in value
    assert token_authenticate(f"Bearer {value}") == token
    assert list(token.client.services.all()) == [service]
    page = admin_browser.get(reverse("admin:api_apiclient_change", args=[token.client.pk]))
    assert token.prefix in page.content.decode()
    assert value.rsplit("_", 1)[1] not in page.content.decode()


def test_rotating_gives_a_new_token_and_the_old_one_stops_after_a_day(admin_browser, service):
    client, old = system_with_token("Mosaic", service)
    response = admin_browser.post(
        reverse("admin:api_apiclient_changelist"),
        {"action": "rotate_token", "_selected_action": [client.pk]},
    )
    new = shown_token(response.content.decode())
    assert new != old
    assert token_authenticate(f"Bearer {new}").client == client
    old_token = token_authenticate(f"Bearer {old}")  # still working, for a day
    assert old_token.expires_at <= timezone.now() + datetime.timedelta(hours=24)


def test_revoking_stops_every_token_at_once(admin_browser, service):
    client, token = system_with_token("Mosaic", service)
    admin_browser.post(
        reverse("admin:api_apiclient_changelist"),
        {"action": "revoke_tokens", "_selected_action": [client.pk]},
    )
    with pytest.raises(TokenRefused, match="revoked"):
        token_authenticate(f"Bearer {token}")


def test_people_who_are_not_administrators_cannot_set_up_systems(client, team_manager):
    client.force_login(team_manager.user)
    response = client.post(reverse("admin:api_apiclient_add"), {"name": "Mosaic"})
    assert response.status_code == 302
    assert not ApiClient.objects.exists()


def test_old_events_and_request_counts_go_with_the_daily_retention(service):
    client, _ = system_with_token("Mosaic", service)
    now = timezone.now()
    for days, event_id in ((91, "old"), (89, "recent")):
        ApiEvent.objects.create(
            client=client,
            event_id=event_id,
            service=service,
            case_reference="CP-1",
            event_type="case",
            occurred_at=now,
            received_at=now - datetime.timedelta(days=days),
            outcome="applied",
            status_code=200,
        )
    token = client.tokens.get()
    ApiRequestCount.objects.create(token=token, minute=now - datetime.timedelta(days=2), count=5)
    ApiRequestCount.objects.create(token=token, minute=now, count=1)
    done = apply_retention(now)
    assert (done["api_events"], done["api_request_counts"]) == (1, 1)
    assert list(ApiEvent.objects.values_list("event_id", flat=True)) == ["recent"]
    assert ApiRequestCount.objects.get().count == 1


def test_the_command_creates_rotates_and_revokes_tokens(service):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("api_tokens", "create", "Mosaic", "--service", str(service.pk), stdout=out)
    first = out.getvalue().strip()
    assert token_authenticate(f"Bearer {first}").client.name == "Mosaic"
    out = StringIO()
    call_command("api_tokens", "rotate", "Mosaic", "--overlap-hours", "0", stdout=out)
    second = out.getvalue().strip()
    assert token_authenticate(f"Bearer {second}").client.name == "Mosaic"
    with pytest.raises(TokenRefused, match="expired"):
        token_authenticate(f"Bearer {first}")
    call_command("api_tokens", "revoke", "Mosaic", stdout=StringIO())
    with pytest.raises(TokenRefused, match="revoked"):
        token_authenticate(f"Bearer {second}")
