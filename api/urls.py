"""The API's URLs, under /api/v1/. Its views take no session: a request is
authenticated by its token alone (a browser's session cookie counts for
nothing here, so needs no CSRF check), each manages its own transactions,
and no answer is kept by a browser or proxy."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_GET

from api.views import api


def _token_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        request.user = AnonymousUser()
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        patch_cache_control(response, private=True)
        return response

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]
    wrapped.login_required = False  # type: ignore[attr-defined]
    # Event writes commit the event's row even when the event is refused.
    wrapped._non_atomic_requests = {DEFAULT_DB_ALIAS}  # type: ignore[attr-defined]
    return wrapped


patterns, _, _ = api.urls
app_name = "api"  # the namespace the schema's paths are read from (NinjaAPI.urls_namespace)
for pattern in patterns:
    if isinstance(pattern, URLPattern):
        if pattern.name == "openapi-json":
            pattern.callback = require_GET(pattern.callback)
        pattern.callback = _token_only(pattern.callback)

urlpatterns = [*patterns]
