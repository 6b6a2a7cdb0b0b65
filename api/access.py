"""What a system's token reaches: the services it was given, their cases,
teams and workers. Every lookup of the API goes through here; what a token
may not reach answers as not found."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from api.models import ApiClient
from caseload.models import Case, Person, Service, Team, TeamMembership


def service_for_client(client: ApiClient, service_id: int) -> Service | None:
    """The service, if the client may act on it."""
    return client.services.filter(pk=service_id).first()


def case_for_client(
    client: ApiClient, service: Service, reference: str, *, for_update: bool = False
) -> Case | None:
    """The case `reference` of `service` that the client may see, or None
    (also for one it may not see). `for_update`: locked until the
    transaction ends. A restricted case is found only by a client that
    `sees_restricted`; for any other, `hidden_from_client` tells an event
    not to create it again."""
    cases = Case.objects.filter(service=service, reference=reference)
    if not client.sees_restricted:
        cases = cases.filter(restricted=False)
    if for_update:
        cases = cases.select_for_update(of=("self",))
    return cases.select_related("team", "service").first()


def hidden_from_client(client: ApiClient, service: Service, reference: str) -> bool:
    """Whether `reference` is a restricted case of `service` that the client
    may not see: its events are refused as for a case not found."""
    if client.sees_restricted:
        return False
    return Case.objects.filter(service=service, reference=reference, restricted=True).exists()


def team_in_service(service: Service, name: str) -> Team | None:
    """The service's team of that name (teams of other services are not found)."""
    return Team.objects.filter(service=service, name=name.strip()).first()


def worker_in_service(service: Service, username: str) -> Person | None:
    """The person with that user name who works in the service: recorded in
    it, or in one of its teams today."""
    in_a_team = TeamMembership.objects.active_on(timezone.localdate()).filter(team__service=service)
    return (
        Person.objects.filter(user__username__iexact=username.strip())
        .filter(Q(service=service) | Q(pk__in=in_a_team.values("person_id")))
        .select_related("user", "service")
        .first()
    )
