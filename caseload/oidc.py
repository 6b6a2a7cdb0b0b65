"""Signing in with the council's identity provider (OpenID Connect).

mozilla-django-oidc runs the exchange with the provider and checks the ID
token's signature and nonce; this module decides who the token names. The
token must come from the pinned issuer (for Microsoft Entra ID, the
council's own tenant) and be meant for Caseload. The person is then found by
the identity stored at their first sign-in (`SignInIdentity`: Entra's `oid`,
or `sub` elsewhere). Only that first sign-in may match on an email address,
and only one the provider vouches for; nobody is ever created here. A refusal
says why (`Refusal`) on a page of its own (caseload.oidc_views), and leaves
the records as they were.
"""

from __future__ import annotations

import enum
import logging
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.middleware import SessionRefresh

from caseload.backends import PersonBackend
from caseload.leavers import has_left
from caseload.models import SignInIdentity

log = logging.getLogger("caseload.security")

BACKEND = "caseload.oidc.ProviderBackend"
# The session key mozilla-django-oidc keeps the ID token under (OIDC_STORE_ID_TOKEN).
ID_TOKEN = "oidc_id_token"  # noqa: S105 - a key's name, not a secret


class Refusal(enum.Enum):
    """Why the provider's answer signed nobody in."""

    UNKNOWN = "unknown"  # no person has this identity, nor the verified email
    UNVERIFIED = "unverified"  # a first sign-in whose email the provider does not vouch for
    TAKEN = "taken"  # the email's person is already linked to another identity
    LEFT = "left"  # their last team membership has ended
    INACTIVE = "inactive"  # their log-in is switched off
    WRONG_PROVIDER = "wrong_provider"  # another issuer, tenant or audience
    FAILED = "failed"  # the exchange with the provider failed


class Refused(PermissionDenied):
    """Stops Django's authenticate() at once: no other backend is asked."""


def provider_name() -> str:
    return settings.OIDC_PROVIDER_NAME


def is_entra() -> bool:
    return bool(settings.OIDC_ENTRA_TENANT_ID)


def refusal_of(request: HttpRequest) -> tuple[Refusal, str] | None:
    """Why the provider's answer on this request signed nobody in, and whom
    it named (an email address or subject, for the failure log)."""
    return getattr(request, "sign_in_refusal", None)


def _refuse(request: HttpRequest, refusal: Refusal, claims: dict | None = None) -> Refused:
    claims = claims or {}
    named = str(claims.get("email") or claims.get("oid") or claims.get("sub") or "")[:200]
    request.sign_in_refusal = (refusal, named)  # type: ignore[attr-defined]
    log.warning("sign-in with the provider refused: %s (%s)", refusal.value, named or "unnamed")
    return Refused(refusal.value)


def _audience(claims: dict) -> list[str]:
    audience = claims.get("aud", [])
    return [audience] if isinstance(audience, str) else list(audience)


def verified_email(claims: dict) -> str:
    """The email address the provider vouches for, or "". A generic provider
    must say `email_verified`; Entra ID never does, so its addresses count
    only when OIDC_ENTRA_TRUST_EMAIL says the tenant's are the council's own."""
    email = str(claims.get("email") or "").strip()
    if not email:
        return ""
    if is_entra():
        return email if settings.OIDC_ENTRA_TRUST_EMAIL else ""
    return email if claims.get("email_verified") in (True, "true") else ""


class ProviderBackend(PersonBackend, OIDCAuthenticationBackend):
    """The provider's answer on the callback, turned into a person's log-in
    (mozilla-django-oidc's backend, matching as the module says). Reading the
    signed-in user back is PersonBackend's: leavers and inactive log-ins are
    signed out at their next request."""

    def authenticate(self, request, **credentials):  # type: ignore[no-untyped-def, override]
        # Only the callback's call (a nonce, no user name) is ours, and only
        # while a provider is configured.
        if (
            request is None
            or not settings.OIDC_ENABLED
            or "nonce" not in credentials
            or "username" in credentials
        ):
            return None
        try:
            # The exchange is mozilla-django-oidc's (PersonBackend's is for passwords).
            return OIDCAuthenticationBackend.authenticate(self, request, **credentials)
        except (
            requests.RequestException,
            SuspiciousOperation,
            jwt.PyJWTError,
            ValueError,
        ) as error:
            # The provider did not answer, or its token did not verify.
            log.warning("sign-in with the provider failed: %s", error)
            raise _refuse(request, Refusal.FAILED) from None

    def retrieve_matching_jwk(self, token):  # type: ignore[no-untyped-def]
        """The provider's key that signed `token`, by its key id; a provider
        with a single key may leave the id out of its tokens."""
        if "kid" in jwt.get_unverified_header(token):
            return super().retrieve_matching_jwk(token)
        response = requests.get(settings.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        keys = response.json().get("keys", [])
        if len(keys) != 1:
            raise SuspiciousOperation("A token without a key id, from a provider of many keys.")
        return jwt.PyJWK(keys[0])

    def get_userinfo(self, access_token, id_token, payload):  # type: ignore[no-untyped-def]
        """The claims to match on: the verified ID token's, checked to be from
        the pinned issuer and for Caseload; claims it lacks are read from the
        user-info endpoint when one is set, if it names the same subject."""
        claims = dict(payload)
        client_id = settings.OIDC_RP_CLIENT_ID
        audience = _audience(claims)
        if (
            claims.get("iss") != settings.OIDC_OP_ISSUER
            or client_id not in audience
            or (len(audience) > 1 and claims.get("azp") != client_id)
        ):
            raise _refuse(self.request, Refusal.WRONG_PROVIDER, claims)
        if settings.OIDC_OP_USER_ENDPOINT and not is_entra():
            extra = super().get_userinfo(access_token, id_token, payload)
            if extra.get("sub") != claims.get("sub"):
                raise _refuse(self.request, Refusal.WRONG_PROVIDER, claims)
            for name, value in extra.items():
                claims.setdefault(name, value)
        return claims

    def identity(self, claims: dict) -> tuple[str, str]:
        """(issuer, subject) the person is known by: Entra's object id within
        the council's tenant, or the provider's `sub`."""
        if is_entra():
            if str(claims.get("tid", "")).lower() != settings.OIDC_ENTRA_TENANT_ID.lower():
                raise _refuse(self.request, Refusal.WRONG_PROVIDER, claims)
            subject = claims.get("oid")
        else:
            subject = claims.get("sub")
        if not subject:
            raise _refuse(self.request, Refusal.WRONG_PROVIDER, claims)
        return claims["iss"], str(subject)

    def get_or_create_user(self, access_token, id_token, payload):  # type: ignore[no-untyped-def]
        """The person the claims name, linking their identity at their first
        sign-in; never a new user."""
        claims = self.get_userinfo(access_token, id_token, payload)
        issuer, subject = self.identity(claims)
        linked = (
            SignInIdentity.objects.filter(issuer=issuer, subject=subject)
            .select_related("user__person")
            .first()
        )
        if linked is not None:
            user = linked.user
            self.check_may_sign_in(user, claims)
            return user
        email = verified_email(claims)
        if not email:
            refusal = Refusal.UNVERIFIED if claims.get("email") else Refusal.UNKNOWN
            raise _refuse(self.request, refusal, claims)
        # The one person whose log-in has this address (the break-glass
        # superuser has no person record, so is never reached this way).
        users = list(
            get_user_model()
            .objects.filter(email__iexact=email, person__isnull=False)
            .select_related("person")[:2]
        )
        if len(users) != 1:
            raise _refuse(self.request, Refusal.UNKNOWN, claims)
        user = users[0]
        if SignInIdentity.objects.filter(user=user, issuer=issuer).exists():
            # Linked to another identity: an address that moved to someone
            # else at the provider never takes the account with it.
            raise _refuse(self.request, Refusal.TAKEN, claims)
        self.check_may_sign_in(user, claims)
        try:
            with transaction.atomic():
                SignInIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:  # the same first sign-in, twice at once
            raise _refuse(self.request, Refusal.FAILED, claims) from None
        log.info("linked user %s to their identity at %s", user.pk, issuer)
        return user

    def check_may_sign_in(self, user, claims: dict) -> None:  # type: ignore[no-untyped-def]
        if not hasattr(user, "person"):
            raise _refuse(self.request, Refusal.UNKNOWN, claims)
        if not user.is_active:
            raise _refuse(self.request, Refusal.INACTIVE, claims)
        if has_left(user.person, timezone.localdate()):
            raise _refuse(self.request, Refusal.LEFT, claims)


def signed_in_with_provider(request: HttpRequest) -> bool:
    return request.session.get(BACKEND_SESSION_KEY) == BACKEND


def provider_sign_out_url(request: HttpRequest) -> str | None:
    """Where signing out sends someone signed in with the provider, to end
    their session there too: its end_session_endpoint, with the ID token as
    the hint and the sign-in page to come back to. None without one."""
    endpoint = settings.OIDC_OP_LOGOUT_ENDPOINT
    id_token = request.session.get(ID_TOKEN)
    if not (settings.OIDC_ENABLED and endpoint and id_token and signed_in_with_provider(request)):
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


class ProviderSessionRefresh(SessionRefresh):
    """mozilla-django-oidc's session refresh: a page asked for more than
    OIDC_RECHECK_MINUTES after the provider last vouched for the person sends
    them to it silently (prompt=none). The provider answers at once, and if
    it no longer signs them in, the callback signs them out of Caseload.
    Sessions signed in with a password are never refreshed."""

    def process_request(self, request):  # type: ignore[no-untyped-def]
        if not settings.OIDC_ENABLED:
            return None
        return super().process_request(request)

    @cached_property
    def exempt_urls(self):  # type: ignore[no-untyped-def]
        return {
            reverse(name)
            for name in (
                "oidc_authentication_init",
                "oidc_authentication_callback",
                "logout",
                "health",
                "session_keep_alive",
            )
        }
