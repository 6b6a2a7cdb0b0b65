"""A signed-in session's timers: when it was signed in, and its idle timer."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpRequest

SIGNED_IN_AT = "signed_in_at"
RENEWED_AT = "renewed_at"


def renew_session(request: HttpRequest, now: float | None = None) -> None:
    """Restart the session's idle timer: the session is saved with a new
    expiry, and its cookie sent again with its full age."""
    request.session[RENEWED_AT] = time.time() if now is None else now


def idle_seconds_left(request: HttpRequest) -> int:
    """How long the session lasts without another request."""
    renewed = request.session.get(RENEWED_AT, time.time())
    return max(0, round(settings.SESSION_COOKIE_AGE - (time.time() - renewed)))
