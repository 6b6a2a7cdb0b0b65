"""A new person sets their own password from the link in their invitation;
someone who has forgotten theirs asks for such a link by email."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from caseload import accounts, services


class InvitationView(auth_views.PasswordResetConfirmView):
    """Django's password-reset confirmation, with the invitation's own tokens:
    the link works once (a password set ends it) and expires after
    PASSWORD_RESET_TIMEOUT. The token leaves the address bar at once (Django
    keeps it in the session), so the page never passes it on."""

    template_name = "registration/invitation.html"
    token_generator = accounts.invitation_tokens
    success_url = reverse_lazy("login")

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
    form = PasswordLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_link_send(email=form.cleaned_data["email"])
        return redirect("password_reset_sent")
    return render(request, "registration/password_reset.html", {"form": form})


@login_not_required
@require_GET
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/password_reset_sent.html")
