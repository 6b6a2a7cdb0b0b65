"""An OpenID Connect provider on loopback for the tests: oidc-provider-mock,
a real provider (authorisation, tokens signed with its own key, user info,
end_session), run in a thread on a free port. People are put in it with the
claims it should send; a test signs in as one by answering its sign-in form,
as a browser would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from django.test import Client
from django.urls import reverse

from config.env import origins
from tests.conftest import skip_or_fail

CLIENT_ID = "caseload-test"
PROVIDER_NAME = "Northshire account"


class Provider:
    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def issuer(self) -> str:
        return self.url

    def settings(self, csp: dict) -> dict[str, object]:
        """The settings that point Caseload at this provider (`csp`: the
        content security policy to add the provider to, as settings.py does)."""
        directives = csp["DIRECTIVES"]
        form_action = [*directives["form-action"], *origins(self.url)]
        return {
            "CONTENT_SECURITY_POLICY": {
                **csp,
                "DIRECTIVES": {**directives, "form-action": form_action},
            },
            "OIDC_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": "a-secret-the-provider-accepts",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/oauth2/token",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/jwks",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/userinfo",
            "OIDC_OP_LOGOUT_ENDPOINT": f"{self.url}/oauth2/end_session",
            "OIDC_PROVIDER_NAME": PROVIDER_NAME,
            "OIDC_ENTRA_TENANT_ID": "",
            "OIDC_ENTRA_TRUST_EMAIL": False,
        }

    def person(self, sub: str, **claims: object) -> None:
        """Put (or change) someone at the provider, with the claims it sends."""
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        response.raise_for_status()

    def revoke(self, sub: str) -> None:
        requests.post(f"{self.url}/users/{sub}/revoke-tokens", timeout=5).raise_for_status()

    def answer(self, authorize_url: str, sub: str | None) -> str:
        """Answer the provider's sign-in form as `sub` (None: deny), returning
        where the provider sends the browser back to."""
        form = {"sub": sub} if sub is not None else {"action": "deny"}
        response = requests.post(authorize_url, data=form, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def sign_in(self, client: Client, sub: str | None, *, next_url: str = ""):  # type: ignore[no-untyped-def]
        """The whole journey in a browser: the sign-in button, the provider's
        form, and Caseload's page for its answer (returned)."""
        start = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
        to_provider = client.get(start)
        assert to_provider.status_code == 302
        return self.come_back(client, to_provider["Location"], sub)

    def silent_answer(self, client: Client, authorize_url: str):  # type: ignore[no-untyped-def]
        """The browser sent to the provider without a form to answer
        (prompt=none), and Caseload's page for what it says. This provider
        keeps no session of its own, so it answers as one that no longer
        signs the person in would: login_required."""
        assert authorize_url.startswith(self.url), authorize_url
        response = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return client.get(f"{back.path}?{back.query}")

    def come_back(self, client: Client, authorize_url: str, sub: str | None):  # type: ignore[no-untyped-def]
        assert authorize_url.startswith(self.url), authorize_url
        back = urlsplit(self.answer(authorize_url, sub))
        return client.get(f"{back.path}?{back.query}")


@contextmanager
def running_provider() -> Iterator[Provider]:
    try:
        from oidc_provider_mock import run_server_in_thread
    except ImportError:
        skip_or_fail("needs oidc-provider-mock (make .venv/.installed-dev)")
    with run_server_in_thread() as server:
        yield Provider(f"http://localhost:{server.server_port}")
