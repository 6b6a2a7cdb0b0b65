"""Request middleware of our own."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

SIGNED_IN_AT = "signed_in_at"


def session_lifetime(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """End a session a fixed time after sign-in, however active it has been.
    (The idle timeout is the session cookie's own age, renewed per request.)"""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SIGNED_IN_AT, now)
            if now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, "You were signed out after 12 hours. Sign in again.")
                return redirect(settings.LOGIN_URL)
        return get_response(request)

    return middleware
