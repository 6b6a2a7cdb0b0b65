"""Signing in: whose address a request comes from, the lockout page, the
limit on failed sign-ins from one address, and the record of the identity
provider's refusals.

django-axes locks a user name out from one address after a few failures
(settings.AXES_FAILURE_LIMIT). Both it and the limit here read the address
through `client_address`, which believes X-Forwarded-For only as far as the
proxies the settings name: otherwise anyone could lock a named colleague out
from the proxy's address, or dodge a lockout by writing the header.
"""

from __future__ import annotations

import datetime
import ipaddress
import math
from collections.abc import Callable
from functools import cache

from axes.helpers import get_client_ip_address, get_client_username
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The address of whoever sent the request (AXES_CLIENT_IP_CALLABLE).

    With no trusted proxy, the address that connected (REMOTE_ADDR); a client's
    X-Forwarded-For is never read. Each proxy appends the address it saw to
    X-Forwarded-For, so the list ends with the hops we trust: behind
    TRUSTED_PROXY_COUNT proxies the client is that many places from the right
    (counting REMOTE_ADDR); with TRUSTED_PROXIES, it is the right-most address
    that is not one of them. Entries to the left of it, which the client may
    have written, are ignored."""
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [*filter(None, forwarded), remote]  # the client first, our side last
    if settings.TRUSTED_PROXIES:
        trusted = _networks(tuple(settings.TRUSTED_PROXIES))
        position = len(hops) - 1
        while position > 0:
            address = _address(hops[position])
            if address is None or not any(ipaddress.ip_address(address) in n for n in trusted):
                break
            position -= 1
    else:
        position = max(len(hops) - 1 - settings.TRUSTED_PROXY_COUNT, 0)
    # An entry that is not an address (a misconfigured proxy): the hop that
    # reported it is the nearest address we know.
    for hop in hops[position:]:
        address = _address(hop)
        if address is not None:
            return address
    return None


# The lockout of a user name at an address (django-axes) ------------------------------


def _retry_after(response: HttpResponse, until: datetime.datetime) -> HttpResponse:
    seconds = math.ceil((until - timezone.now()).total_seconds())
    response["Retry-After"] = str(max(seconds, 1))
    return response


def _try_again(until: datetime.datetime) -> dict[str, str]:
    """ "10:42" (or "00:12 tomorrow"), a minute rounded up, and "in 30 minutes"."""
    local = timezone.localtime(until)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    when = f"{local:%H:%M}"
    if local.date() != timezone.localdate():
        when += " tomorrow"
    minutes = max(math.ceil((until - timezone.now()).total_seconds() / 60), 1)
    return {"try_again_at": when, "try_again_in": f"{minutes} minute{'s' if minutes != 1 else ''}"}


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes's answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): 429,
    saying when the user name may sign in from here again. A try while locked
    out does not move that time (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
    is off), so the page keeps its word."""
    username = get_client_username(request, credentials)
    last_failure = AccessAttempt.objects.filter(
        username=username, ip_address=request.axes_ip_address
    ).aggregate(last=Max("attempt_time"))["last"]
    until = (last_failure or timezone.now()) + settings.AXES_COOLOFF_TIME
    response = render(request, "registration/locked_out.html", _try_again(until), status=429)
    return _retry_after(response, until)


# Failed sign-ins from one address -----------------------------------------------------


def address_slowed_until(address: str | None) -> datetime.datetime | None:
    """When an address that failed to sign in too often may try again, or None.

    A failure that makes SIGN_IN_ADDRESS_LIMIT within SIGN_IN_ADDRESS_WINDOW
    (30 in 10 minutes) stops sign-ins from its address for SIGN_IN_ADDRESS_WAIT
    (5 minutes); sign-ins refused meanwhile are not failures, so it is the
    latest failure that decides. The counts are axes's failure log in the
    database, which every web process shares."""
    if address is None:
        return None
    limit = settings.SIGN_IN_ADDRESS_LIMIT
    now = timezone.now()
    latest = list(
        AccessFailureLog.objects.filter(
            ip_address=address,
            attempt_time__gt=now - settings.SIGN_IN_ADDRESS_WAIT - settings.SIGN_IN_ADDRESS_WINDOW,
        )
        # The identity provider's refusals guessed no password.
        .exclude(path_info=_provider_answer_path())
        .order_by("-attempt_time")
        .values_list("attempt_time", flat=True)[:limit]
    )
    if len(latest) < limit or latest[0] - latest[-1] >= settings.SIGN_IN_ADDRESS_WINDOW:
        return None
    until = latest[0] + settings.SIGN_IN_ADDRESS_WAIT
    return until if now < until else None


# Sign-ins with the identity provider (caseload.oidc) -------------------------------


@cache
def _provider_answer_path() -> str:
    return reverse("oidc_authentication_callback")


def is_provider_answer(request: HttpRequest, credentials: dict | None = None) -> bool:
    """django-axes leaves the identity provider's answer alone
    (AXES_WHITELIST_CALLABLE): it carries no password to guess, so its
    refusals lock nobody out; `provider_refusal_record` logs them."""
    return request.path == _provider_answer_path()


def provider_refusal_record(request: HttpRequest, named: str) -> None:
    """A refused sign-in with the identity provider, in the log of failed
    sign-ins that administrators read (axes's), naming whom the provider
    named (`named`: their email address or subject)."""
    AccessFailureLog.objects.create(
        username=named,
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "<unknown>")[:255],
        http_accept=request.META.get("HTTP_ACCEPT", "<unknown>")[:1025],
        path_info=request.path,
        attempt_time=timezone.now(),
        locked_out=False,
    )


@cache
def _sign_in_paths() -> frozenset[str]:
    return frozenset((reverse("login"), reverse("admin:login")))


def slow_failing_addresses(get_response: Callable[[HttpRequest], HttpResponse]):  # type: ignore[no-untyped-def]
    """A sign-in (on our page or the admin's) from an address that failed too
    often is answered 429, without checking the password."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in _sign_in_paths():
            until = address_slowed_until(get_client_ip_address(request))
            if until is not None:
                response = render(
                    request, "registration/slowed.html", _try_again(until), status=429
                )
                return _retry_after(response, until)
        return get_response(request)

    return middleware
