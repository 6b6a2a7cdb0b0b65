"""Signing in with a user name and password."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PersonBackend(ModelBackend):
    """Django's own, reading the signed-in user with their person record in
    one query (every page needs both: the role decides what it shows)."""

    def get_user(self, user_id):  # type: ignore[no-untyped-def]
        users = get_user_model()._default_manager.select_related("person")
        try:
            user = users.get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
