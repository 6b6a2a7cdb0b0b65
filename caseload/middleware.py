"""Request middleware of our own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers, patch_cache_control

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


def no_store(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """Pages for someone signed in hold personal data: no browser or proxy
    keeps a copy (ASVS 14.3.2)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    return middleware


denials = logging.getLogger("caseload.security")


def log_denials(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """Every refusal (403) and every record out of reach (404) is logged with
    who asked for what (ASVS 16.3.2)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code in (403, 404):
            user = request.user
            denials.warning(
                "denied %s %s %s user=%s",
                response.status_code,
                request.method,
                request.path,
                user.pk if user.is_authenticated else "anonymous",
            )
        return response

    return middleware
