"""The case-events API (docs/api.md): JSON over HTTPS, a token per system,
documented by the OpenAPI schema at /api/v1/openapi.json."""

from __future__ import annotations

import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Status
from ninja.errors import ValidationError
from ninja.security import HttpBearer

from api import access, limits, presenters, services
from api.models import ApiToken
from api.schemas import CaseOut, DisabledOut, ErrorOut, EventIn, EventOut, NumbersOut
from api.tokens import TokenRefused, token_authenticate
from caseload import audit, leavers
from caseload.models import Service


class RateLimited(Exception):
    def __init__(self, wait: int) -> None:
        self.wait = wait


class NotFound(Exception):
    pass


class SystemToken(HttpBearer):
    """A system's token, from `Authorization: Bearer …`; each request with a
    working token counts towards its rate limit."""

    def __call__(self, request: HttpRequest) -> ApiToken:
        token = token_authenticate(request.headers.get("Authorization"))
        wait = limits.count_request(token)
        if wait is not None:
            raise RateLimited(wait)
        return token

    def authenticate(self, request: HttpRequest, token: str) -> None:  # pragma: no cover
        raise NotImplementedError  # __call__ reads the header itself


api = NinjaAPI(
    title="Caseload case-events API",
    version="1",
    description="Case events from a case-management system: see docs/api.md.",
    urls_namespace="api",
    # The schema only: the interactive page loads scripts from elsewhere,
    # which the site's Content Security Policy forbids.
    docs_url=None,
    auth=SystemToken(),
)


def _error(request: HttpRequest, status: int, message: str, **extra) -> HttpResponse:  # type: ignore[no-untyped-def]
    return api.create_response(request, {"message": message, **extra}, status=status)


@api.exception_handler(TokenRefused)
def _token_refused(request: HttpRequest, error: TokenRefused) -> HttpResponse:
    response = _error(request, 401, str(error))
    response["WWW-Authenticate"] = 'Bearer realm="caseload"'
    return response


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    response = _error(request, 429, "Too many requests for this token: wait, then send again.")
    response["Retry-After"] = str(error.wait)
    return response


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors = [
        {"where": ".".join(str(part) for part in e.get("loc", ())), "message": e.get("msg", "")}
        for e in error.errors
    ]
    return _error(request, 400, "The request is not valid: nothing was changed.", errors=errors)


@api.exception_handler(NotFound)
def _not_found(request: HttpRequest, error: NotFound) -> HttpResponse:
    return _error(request, 404, str(error))


# What any request may be answered besides: a body or parameter that is not
# valid, a token that does not authenticate, the rate limit.
ERRORS = {400: ErrorOut, 401: ErrorOut, 429: ErrorOut}


def _service(token: ApiToken, service_id: int) -> Service:
    service = access.service_for_client(token.client, service_id)
    if service is None:
        raise NotFound(f"There is no service {service_id} for this token.")
    return service


def _reference(reference: str) -> str:
    if not 0 < len(reference) <= 40:
        raise NotFound("A case reference has 1 to 40 characters.")
    return reference


@api.post(
    "/services/{service_id}/cases/{reference}/events",
    response={200: EventOut, 404: EventOut | ErrorOut, 409: EventOut, 422: EventOut, **ERRORS},
    url_name="case_events",
    summary="Send a case event",
)
def case_event(request: HttpRequest, service_id: int, reference: str, event: EventIn) -> Status:
    """Apply one event to the case `reference` of the service. 200: applied,
    or a repeat of an event applied; 409: older than the latest applied, kept
    and not applied, with the case as it is; 422: refused by a rule, nothing
    changed; 404: no such case (for events other than `case`)."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = _service(token, service_id)
    answer = services.event_receive(
        client=token.client, service=service, reference=_reference(reference), data=event
    )
    return Status(answer.status, answer.body)


@api.get(
    "/services/{service_id}/cases/{reference}",
    response={200: CaseOut, 404: ErrorOut, **ERRORS},
    url_name="case",
    summary="A case as it is now",
)
def case(request: HttpRequest, service_id: int, reference: str) -> dict:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = _service(token, service_id)
    found = access.case_for_client(token.client, service, _reference(reference))
    if found is None:
        raise NotFound(f"There is no case {reference} in {service}.")
    with audit.system_acting(services.system_name(token.client)):
        audit.record(None, audit.Action.VIEW, found)
    return presenters.case_state(found)


@api.get(
    "/services/{service_id}/workers/{username}/numbers",
    response={200: NumbersOut, 404: ErrorOut, **ERRORS},
    url_name="worker_numbers",
    summary="A worker's caseload numbers",
)
def worker_numbers(
    request: HttpRequest, service_id: int, username: str, day: datetime.date | None = None
) -> dict:
    """The worker's case count, people count, weighted load, capacity,
    capacity % and band on `day` (today if not given), as the pages show them."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = _service(token, service_id)
    person = access.worker_in_service(service, username)
    if person is None:
        raise NotFound(f"Nobody with the user name {username!r} works in {service}.")
    return presenters.worker_numbers(person, day or timezone.localdate())


@api.post(
    "/services/{service_id}/people/{username}/disabled",
    response={200: DisabledOut, 403: ErrorOut, 404: ErrorOut, **ERRORS},
    url_name="person_disabled",
    summary="Say that a person's account is disabled",
)
def person_disabled(request: HttpRequest, service_id: int, username: str) -> Status:
    """For the council's identity provider (or HR system), when it disables
    someone who works in the service: from now they no longer sign in, they
    leave their teams today and their open cases return to the team's queue
    (docs/adr/0030). Every record stays. A repeat changes nothing."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    service = _service(token, service_id)
    if not token.client.disables_people:
        return Status(403, {"message": "This system may not disable people's accounts."})
    person = access.worker_in_service(service, username)
    if person is None:
        raise NotFound(f"Nobody with the user name {username!r} works in {service}.")
    with audit.system_acting(services.system_name(token.client)):
        ended = leavers.disable(person)
    return Status(
        200, {"worker": person.user.username, "disabled": True, "allocations_ended": ended}
    )
