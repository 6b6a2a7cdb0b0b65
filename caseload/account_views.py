"""Signing in with a password; a new person sets their own password from
the link in their invitation, and someone who has forgotten theirs asks for
such a link by email. With LOCAL_SIGN_IN off, the password pages are
refused."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET

from caseload import accounts, services


class SignInForm(AuthenticationForm):
    def get_invalid_login_error(self) -> ValidationError:
        if not settings.LOCAL_SIGN_IN:
            return ValidationError(
                f"Caseload does not use passwords here: sign in with {settings.OIDC_PROVIDER_NAME}",
                code="invalid_login",
            )
        return super().get_invalid_login_error()


class SignInView(auth_views.LoginView):
    """The sign-in page: a button to sign in with the identity provider when
    one is configured, and the user name and password form unless
    LOCAL_SIGN_IN is off (the break-glass superuser then signs in with a
    password at the admin's sign-in page, or by posting this form)."""

    form_class = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):  # type: ignore[no-untyped-def]
        return super().get_context_data(
            provider_name=settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else "",
            local_sign_in=settings.LOCAL_SIGN_IN,
            **kwargs,
        )


def _passwords_off(request: HttpRequest) -> HttpResponse:
    """The answer to a password page while LOCAL_SIGN_IN is off: nothing is
    sent or set, and the page says how to sign in instead."""
    return render(
        request,
        "registration/passwords_off.html",
        {"provider_name": settings.OIDC_PROVIDER_NAME},
        status=404,
    )


@method_decorator(login_not_required, name="dispatch")
class InvitationView(auth_views.PasswordResetConfirmView):
    """Django's password-reset confirmation, with the invitation's own tokens:
    the link works once (a password set ends it) and expires after
    PASSWORD_RESET_TIMEOUT. The token leaves the address bar at once (Django
    keeps it in the session), so the page never passes it on."""

    template_name = "registration/invitation.html"
    token_generator = accounts.invitation_tokens
    success_url = reverse_lazy("login")

    def dispatch(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not settings.LOCAL_SIGN_IN:
            return _passwords_off(request)
        return super().dispatch(request, *args, **kwargs)

    def get_user(self, uidb64):  # type: ignore[no-untyped-def]
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        messages.success(
            self.request, "Your password is set. Sign in with your user name and new password."
        )
        return response


class PasswordLinkForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Enter your email address",
            "invalid": "Enter an email address in the correct format, like name@example.org",
        },
    )


@login_not_required
def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a link to set a new password. The answer is the same whether
    or not the address is known, so the page tells nobody who has a log-in."""
    if not settings.LOCAL_SIGN_IN:
        return _passwords_off(request)
    form = PasswordLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_link_send(email=form.cleaned_data["email"])
        return redirect("password_reset_sent")
    return render(request, "registration/password_reset.html", {"form": form})


@login_not_required
@require_GET
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    if not settings.LOCAL_SIGN_IN:
        return _passwords_off(request)
    return render(request, "registration/password_reset_sent.html")
