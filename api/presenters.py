"""What the API answers about a case and a worker, read in a fixed number of
queries: the same numbers the pages show."""

from __future__ import annotations

import datetime

from django.db.models import Max
from django.utils import timezone

from api.models import ApiEvent
from caseload.formatting import one_decimal, plain_number
from caseload.models import Allocation, Case, Person
from weighting.models import SchemeUnit
from weighting.numbers import CaseloadNumbers, caseload_numbers
from weighting.projection import case_weight
from weighting.schemes_in_force import SchemesInForce

PRIORITY_NAMES = {value: label.lower() for value, label in Case.Priority.choices}


def last_applied_at(service_id: int, reference: str) -> datetime.datetime | None:
    """When the latest event applied to the case occurred."""
    return ApiEvent.objects.filter(
        service_id=service_id, case_reference=reference, outcome=ApiEvent.Outcome.APPLIED
    ).aggregate(latest=Max("occurred_at"))["latest"]


def case_state(case: Case) -> dict:
    """The case as the API shows it: its details, who holds it and who is
    involved (by user name), and its weight today."""
    today = timezone.localdate()
    workers = list(
        case.allocations.open()
        .order_by("start_date", "pk")
        .values_list("kind", "person__user__username")
    )
    schemes = SchemesInForce([case.service_id], today)
    weight, rated = case_weight(case, today, schemes)
    terms = schemes.for_team(case.service_id, case.team_id)
    return {
        "service": case.service_id,
        "reference": case.reference,
        "label": case.label,
        "case_type": case.case_type,
        "people_count": case.people_count,
        "priority": PRIORITY_NAMES[case.priority],
        "team": case.team.name,
        "status": case.status,
        "opened_on": case.opened_on,
        "closed_on": case.closed_on,
        "primary_worker": next(
            (name for kind, name in workers if kind == Allocation.Kind.PRIMARY), None
        ),
        "involved_workers": [name for kind, name in workers if kind == Allocation.Kind.INVOLVED],
        "weight": plain_number(weight),
        "rated": rated,
        "unit": terms.unit if terms else SchemeUnit.POINTS,
        "last_event_at": last_applied_at(case.service_id, case.reference),
    }


def worker_numbers(person: Person, day: datetime.date) -> dict:
    """A worker's caseload numbers on `day`, by the one definition."""
    numbers: CaseloadNumbers = caseload_numbers([person], day)[person.pk]
    return {
        "worker": person.user.get_username(),
        "day": day,
        "case_count": numbers.case_count,
        "people_count": numbers.people_count,
        "weighted_load": plain_number(numbers.weighted_load),
        "capacity": one_decimal(numbers.capacity),
        "capacity_percent": (None if numbers.percent_shown is None else f"{numbers.percent_shown}"),
        "band": numbers.band.value if numbers.band else None,
        "band_label": numbers.band_label,
        "unrated_count": numbers.unrated_count,
        "unit": numbers.unit,
    }
