"""The pages of signing in with the identity provider: the start (to the
provider), its answer (the callback), the page of a refused sign-in, and
signing out (which ends the provider's session too, where it can)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from caseload import oidc, signin

ASK = "Ask your team manager or an administrator."

# What a refused person reads: a heading and why, in plain words.
REFUSALS: dict[oidc.Refusal, tuple[str, str]] = {
    oidc.Refusal.UNKNOWN: (
        "Your account is not set up in Caseload",
        f"You signed in with {{provider}}, but Caseload has no record of you. {ASK}",
    ),
    oidc.Refusal.UNVERIFIED: (
        "Your account is not set up in Caseload",
        "You signed in with {provider}, but it did not confirm your email address, so "
        f"Caseload cannot tell which record is yours. {ASK}",
    ),
    oidc.Refusal.TAKEN: (
        "Your account is not set up in Caseload",
        "The Caseload record with your email address belongs to another {provider} "
        f"account. {ASK}",
    ),
    oidc.Refusal.LEFT: (
        "Your Caseload account has ended",
        "Your last team membership has ended, so you no longer sign in to Caseload. "
        "If you have not left, ask your team manager to correct your team dates.",
    ),
    oidc.Refusal.INACTIVE: (
        "Your Caseload account is switched off",
        f"You cannot sign in to Caseload while your account is switched off. {ASK}",
    ),
    oidc.Refusal.WRONG_PROVIDER: (
        "You cannot sign in with this account",
        "The account you signed in with is not one of the council's. Sign out of it at "
        "{provider} and sign in with your council account.",
    ),
    oidc.Refusal.FAILED: (
        "Signing in did not finish",
        "Caseload could not confirm your sign-in with {provider}. Try again in a few minutes.",
    ),
}


def _provider_on() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("No identity provider is configured.")


class ProviderStartView(OIDCAuthenticationRequestView):
    """To the provider's sign-in, remembering the page asked for (`next`)."""

    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        _provider_on()
        return super().get(request)


class ProviderCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: signs the person in, or says why not. A
    refused answer writes nothing but its line in the failed sign-ins log."""

    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        _provider_on()
        self.rechecking = request.user.is_authenticated
        return super().get(request)

    def login_failure(self) -> HttpResponse:
        request = self.request
        refused = oidc.refusal_of(request)
        if refused is not None:
            if request.user.is_authenticated:  # a recheck that named someone refused
                auth.logout(request)
            refusal, named = refused
            signin.provider_refusal_record(request, named)
            heading, reason = REFUSALS[refusal]
            return render(
                request,
                "registration/sign_in_refused.html",
                {"heading": heading, "reason": reason.format(provider=oidc.provider_name())},
                status=403,
            )
        if self.rechecking:
            # The silent check found the provider no longer signs them in
            # (mozilla-django-oidc has signed them out of Caseload).
            messages.info(
                request,
                f"You have been signed out: {oidc.provider_name()} did not confirm you are "
                "still signed in. Sign in again.",
            )
        elif request.GET.get("error"):
            messages.info(request, "Signing in did not finish. Try again.")
        return redirect(settings.LOGIN_URL)


class SignOutView(auth_views.LogoutView):
    """Django's sign-out; someone signed in with the provider then goes to
    the provider's end_session_endpoint, which ends their session there and
    sends them back to the sign-in page."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        end_session = oidc.provider_sign_out_url(request)
        response = super().post(request, *args, **kwargs)
        return redirect(end_session) if end_session else response
