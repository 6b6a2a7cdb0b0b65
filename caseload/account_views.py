"""A new person sets their own password from the link in their invitation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from caseload import accounts


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
