"""Signing in with the council's identity provider (issue 27), against a real
OpenID Connect provider on loopback (tests/oidc_provider.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from caseload.models import SignInIdentity
from tests.oidc_provider import running_provider


@pytest.fixture
def provider(settings):
    with running_provider() as provider:
        for name, value in provider.settings().items():
            setattr(settings, name, value)
        yield provider


def test_a_first_sign_in_links_by_verified_email_and_stores_the_subject(
    client, provider, social_worker
):
    provider.person("asha-1", email="worker@example.org", email_verified=True)
    response = provider.sign_in(client, "asha-1")
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == reverse("home")
    identity = SignInIdentity.objects.get()
    assert (identity.user, identity.issuer, identity.subject) == (
        social_worker.user,
        provider.issuer,
        "asha-1",
    )
