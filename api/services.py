"""Case events from a case-management system, applied through the same
write functions and rules as the pages: each event once (by its id), never
an older one over a newer, all or nothing.

Every event received is kept (`ApiEvent`) with its outcome and the answer
given. The event's row is inserted first: a second request with the same
id waits on the unique constraint until the first commits, then answers as
it did. The case (or, for a new case, its service) is locked while the
event is checked against the latest applied and applied.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocation.services import allocation_create, check_allocation, lock_worker
from api.access import case_for_client, hidden_from_client, team_in_service, worker_in_service
from api.models import ApiClient, ApiEvent
from api.presenters import case_state, last_applied_at
from api.schemas import EventIn
from caseload import audit
from caseload.dates import long_date
from caseload.models import Allocation, Case, Service, Team
from caseload.services import (
    RuleBroken,
    allocation_end,
    case_close,
    case_create,
    case_move_team,
    case_set_priority,
)
from weighting.projection import project_allocation

PRIORITIES = {label.lower(): value for value, label in Case.Priority.choices}
# Clocks differ a little between systems; an event further ahead than this
# is refused, or it would hold back every real event until its time came.
CLOCK_TOLERANCE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


class Refusal(Exception):
    """An event the API refuses, with the rule that refuses it."""

    def __init__(self, message: str, rule: str = "rule", status: int = 422) -> None:
        super().__init__(message)
        self.message, self.rule, self.status = message, rule, status


def system_name(client: ApiClient) -> str:
    """How the audit and the change history name the system."""
    return f"{client.name} (API)"


@dataclass(frozen=True)
class Event:
    """An event with where it applies."""

    client: ApiClient
    service: Service
    reference: str
    data: EventIn

    @property
    def day(self) -> datetime.date:
        """The day it occurred, in Europe/London."""
        return timezone.localdate(self.data.occurred_at)

    @property
    def on(self) -> datetime.date:
        return self.data.on or self.day


def event_receive(*, client: ApiClient, service: Service, reference: str, data: EventIn) -> Answer:
    """Keep the event, apply it unless it is a repeat or older than the
    latest applied to its case, and give the answer to send."""
    event = Event(client, service, reference, data)
    with audit.system_acting(system_name(client)), transaction.atomic():
        try:
            with transaction.atomic():
                row = ApiEvent.objects.create(
                    client=client,
                    event_id=data.event_id,
                    service=service,
                    case_reference=reference,
                    event_type=data.type,
                    occurred_at=data.occurred_at,
                    outcome=ApiEvent.Outcome.REFUSED,
                    status_code=0,
                )
        except IntegrityError:
            # Sent before: the first answer stands (its transaction has ended).
            first = ApiEvent.objects.get(client=client, event_id=data.event_id)
            return Answer(first.status_code, first.response)
        case = _lock_case(event)
        latest = last_applied_at(service.pk, reference)
        if case is None and hidden_from_client(client, service, reference):
            outcome, status, rule = ApiEvent.Outcome.REFUSED, 404, "not_found"
            message = f"Case {reference} is not one this system may see or change."
        elif data.occurred_at > timezone.now() + CLOCK_TOLERANCE:
            outcome, status, rule = ApiEvent.Outcome.REFUSED, 422, "rule"
            message = "The event occurred in the future: check the sending system's clock."
        elif latest is not None and data.occurred_at < latest:
            outcome, status, rule = ApiEvent.Outcome.STALE, 409, "stale"
            message = (
                f"An event that occurred later ({latest.isoformat()}) has been applied to "
                f"case {reference}: this one is kept, not applied."
            )
        else:
            try:
                with transaction.atomic():
                    case = APPLY[data.type](event, case)
            except Refusal as refusal:
                outcome, status, rule, message = (
                    ApiEvent.Outcome.REFUSED,
                    refusal.status,
                    refusal.rule,
                    refusal.message,
                )
            except RuleBroken as error:
                outcome, status, rule = ApiEvent.Outcome.REFUSED, 422, "rule"
                message = " ".join(error.messages)
            else:
                outcome, status, rule, message = ApiEvent.Outcome.APPLIED, 200, None, "Applied."
        row.outcome, row.status_code = outcome, status
        row.save(update_fields=["outcome", "status_code"])
        if case is not None:
            case.refresh_from_db()
        row.response = {
            "event_id": data.event_id,
            "outcome": outcome,
            "message": message,
            "rule": rule,
            "case": case_state(case) if case is not None else None,
        }
        row.save(update_fields=["response"])
    return Answer(status, row.response)


def _lock_case(event: Event) -> Case | None:
    """The event's case, locked; with no case yet, its service is locked
    instead, so that two events cannot both create it."""
    case = case_for_client(event.client, event.service, event.reference, for_update=True)
    if case is None:
        Service.objects.select_for_update().filter(pk=event.service.pk).first()
        case = case_for_client(event.client, event.service, event.reference, for_update=True)
    return case


def _existing(event: Event, case: Case | None) -> Case:
    if case is None:
        raise Refusal(
            f"There is no case {event.reference} in {event.service}: send a case event first.",
            rule="not_found",
            status=404,
        )
    return case


def _team(event: Event) -> Team:
    name = event.data.team or ""
    team = team_in_service(event.service, name)
    if team is None:
        raise Refusal(f"There is no team named {name!r} in {event.service}.", rule="not_found")
    return team


def _worker(event: Event):  # type: ignore[no-untyped-def]
    username = event.data.worker
    if not username:
        raise Refusal(f"A {event.data.type} event needs the worker's user name.")
    person = worker_in_service(event.service, username)
    if person is None:
        raise Refusal(
            f"Nobody with the user name {username!r} works in {event.service}.", rule="not_found"
        )
    return person


# The events -------------------------------------------------------------------


def _case(event: Event, case: Case | None) -> Case:
    """Create the case, or change its details; close it if it has closed."""
    data = event.data
    if case is None:
        missing = [name for name in ("label", "case_type", "team") if getattr(data, name) is None]
        if missing:
            raise Refusal(f"A new case needs its {', '.join(missing)}.")
        case = case_create(
            team=_team(event),
            reference=event.reference,
            label=data.label or "",
            case_type=data.case_type or "",
            opened_on=data.opened_on or event.day,
            people_count=data.people_count or 1,
            priority=PRIORITIES[data.priority or "normal"],
        )
    else:
        if data.team is not None and data.team.strip() != case.team.name:
            _team(event)
            raise Refusal(
                f"Case {case} is in {case.team}: send a move event, with its reason, to move it."
            )
        if data.opened_on is not None and data.opened_on != case.opened_on:
            raise Refusal(
                f"Case {case} was opened on {long_date(case.opened_on)}: "
                "the opening date is not changed."
            )
        _change_details(case, data)
        if data.priority is not None and PRIORITIES[data.priority] != case.priority:
            case_set_priority(case=case, priority=PRIORITIES[data.priority])
    if data.closed_on is not None and case.is_open:
        case = case_close(case=case, closed_on=data.closed_on, by=None)
    elif data.closed_on is not None and data.closed_on != case.closed_on:
        raise Refusal(
            f"Case {case} closed on {long_date(case.closed_on)}: the closing date is not changed."
        )
    elif "closed_on" in data.model_fields_set and data.closed_on is None and not case.is_open:
        raise Refusal(f"Case {case} is closed: a closed case is not reopened. Open a new one.")
    return case


def _change_details(case: Case, data: EventIn) -> None:
    """The label, type and people count, where they changed, checked as the
    admin's form checks them; the change audited."""
    changed = []
    for field in ("label", "case_type", "people_count"):
        value = getattr(data, field)
        if value is not None and getattr(case, field) != value:
            setattr(case, field, value.strip() if isinstance(value, str) else value)
            changed.append(field)
    if not changed:
        return
    try:
        case.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise RuleBroken(error.messages) from None
    case.save(update_fields=[*changed, "updated_at"])
    audit.record(None, audit.Action.CHANGE, case)


def _move(event: Event, case: Case | None) -> Case:
    case = _existing(event, case)
    if event.data.team is None:
        raise Refusal("A move event needs the team to move the case to.")
    case_move_team(
        case=case, to_team=_team(event), on=event.on, by=None, reason=event.data.reason or ""
    )
    return case


def _allocation(event: Event, case: Case | None) -> Case:
    """Allocate the worker by the pages' rules. One that would take them
    over the maximum is refused: its reason, reprioritisation and review
    date are a manager's to give, on the case's allocate page."""
    case = _existing(event, case)
    person, kind, on = _worker(event), event.data.kind, event.on
    reason = event.data.reason or ""
    check_allocation(case=case, person=person, start_date=on, kind=kind)
    if kind != Allocation.Kind.PRIMARY:
        allocation_create(
            case=case, person=person, kind=kind, start_date=on, allocated_by=None, reason=reason
        )
        return case
    person = lock_worker(person.pk, case.team, on)
    projection = project_allocation(case, [person], on)[person.pk]
    if projection.goes_over_maximum:
        raise Refusal(
            f"This takes {person} to {projection.after.percent_display}, over the maximum. "
            "An allocation over the maximum needs a manager's reason, how the rest of the "
            "worker's work will be reprioritised and a review date: a manager makes it on "
            "the case's page in Caseload.",
            rule="over_maximum",
        )
    allocation_create(
        case=case,
        person=person,
        start_date=on,
        allocated_by=None,
        reason=reason,
        projection=projection,
    )
    return case


def _allocation_end(event: Event, case: Case | None) -> Case:
    case = _existing(event, case)
    person = _worker(event)
    allocation = case.allocations.open().filter(person=person).first()
    if allocation is None:
        raise Refusal(f"{person} has no open allocation to case {case}.")
    allocation_end(
        allocation=allocation,
        end_date=event.on,
        ended_by=None,
        reason=event.data.reason or f"Ended in {event.client.name}",
    )
    return case


APPLY: dict[str, Callable[[Event, Case | None], Case]] = {
    "case": _case,
    "move": _move,
    "allocation": _allocation,
    "allocation_end": _allocation_end,
}
