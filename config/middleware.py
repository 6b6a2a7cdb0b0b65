"""Request middleware of our own: sessions, caching headers, denials, break-glass audit."""

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

from caseload.models import SuperuserRequest
from caseload.sessions import RENEWED_AT, SIGNED_IN_AT, renew_session


def session_lifetime(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """End a session a fixed time after sign-in, however active it has been,
    and renew its idle timer as it is used.

    The idle timeout is the session cookie's own age. A request renews it
    when the last renewal is SESSION_RENEW_SECONDS old (a minute): saving the
    session on every request would be three more queries on every page."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SIGNED_IN_AT, now)
            if now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, "You were signed out after 12 hours. Sign in again.")
                return redirect(settings.LOGIN_URL)
            if now - request.session.get(RENEWED_AT, 0) >= settings.SESSION_RENEW_SECONDS:
                renew_session(request, now)
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
    """Every refusal (403) and every record outside the user's scope (404) is logged with
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


def audit_superusers(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """Every request the break-glass superuser makes is recorded first, in
    its own transaction: a request that then fails or is rolled back is
    still on record."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_superuser:
            SuperuserRequest.objects.create(
                user=user,
                username=user.get_username(),
                method=request.method or "",
                path=request.get_full_path(),
            )
        return get_response(request)

    return middleware
