"""Signing in with a user name and password, and reading the signed-in user back."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone

from caseload.leavers import has_left, left_by


class PersonBackend(ModelBackend):
    """Django's own, reading the signed-in user with their person record in
    one query (every page needs both: the role decides what it shows)."""

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        # Whether they have left is read in the same query (caseload.leavers).
        users = (
            get_user_model()
            ._default_manager.select_related("person")
            .annotate(has_left=left_by(timezone.localdate()))
        )
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def authenticate(self, request, username=None, password=None, **kwargs):  # type: ignore[no-untyped-def]
        """A user name and password; with LOCAL_SIGN_IN off, the break-glass
        superuser's alone (everyone else signs in with the identity provider)."""
        user = super().authenticate(request, username, password, **kwargs)
        if user is not None and not settings.LOCAL_SIGN_IN and not user.is_superuser:
            return None
        return user

    def user_can_authenticate(self, user):  # type: ignore[no-untyped-def]
        """Active, and not a leaver: from the day their last team membership
        ends, a person no longer signs in (their records stay)."""
        if not super().user_can_authenticate(user):
            return False
        left = getattr(user, "has_left", None)
        if left is None:  # signing in: read once
            left = has_left(getattr(user, "person", None), timezone.localdate())
        return not left
