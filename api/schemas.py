"""The JSON the API takes and gives, as pydantic schemas: the OpenAPI
document is made from them."""

from __future__ import annotations

import datetime
from typing import Literal

from ninja import Schema
from pydantic import AwareDatetime, ConfigDict, Field

from caseload.models import CaseType

EventType = Literal["case", "move", "allocation", "allocation_end"]
PriorityName = Literal["urgent", "high", "normal"]
KindName = Literal["primary", "involved"]
CaseTypeName = Literal[tuple(CaseType.values)]  # type: ignore[valid-type]
Outcome = Literal["applied", "stale", "refused"]


class EventIn(Schema):
    """One case event. `case` creates or updates the case; `move` moves it to
    another team of the service; `allocation` allocates a worker from a day;
    `allocation_end` ends a worker's allocation on a day. Fields that do not
    belong to the event's type are ignored; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=1,
        max_length=100,
        description="Unique for this system; a repeat is answered as the first time.",
    )
    occurred_at: AwareDatetime = Field(
        description="When it happened in the case-management system."
    )
    type: EventType
    # case
    label: str | None = Field(
        None,
        min_length=1,
        max_length=60,
        description="A short label that does not identify anyone; needed to create a case.",
    )
    case_type: CaseTypeName | None = Field(None, description="Needed to create a case.")
    people_count: int | None = Field(
        None, ge=1, le=99, description="Children or adults the case covers."
    )
    priority: PriorityName | None = None
    team: str | None = Field(
        None,
        max_length=120,
        description="The team's name in Caseload: needed to create or move a case.",
    )
    opened_on: datetime.date | None = Field(
        None, description="Defaults to the day the event occurred."
    )
    closed_on: datetime.date | None = Field(
        None, description="Closes the case, ending its allocations."
    )
    # move, allocation, allocation_end
    worker: str | None = Field(None, max_length=150, description="The worker's Caseload user name.")
    kind: KindName = "primary"
    on: datetime.date | None = Field(
        None,
        description=(
            "The day a move, allocation or end takes effect; defaults to the day the "
            "event occurred."
        ),
    )
    reason: str | None = Field(None, max_length=500)


class CaseOut(Schema):
    service: int
    reference: str
    label: str
    case_type: str
    people_count: int
    priority: PriorityName
    team: str
    status: Literal["open", "closed"]
    opened_on: datetime.date
    closed_on: datetime.date | None
    primary_worker: str | None = Field(description="User name of the worker who holds the case.")
    involved_workers: list[str]
    weight: str = Field(description="Today's weight, as the case page shows it.")
    rated: bool = Field(description="False: not rated yet, weighted at the middle of the scheme.")
    unit: Literal["points", "hours"]
    last_event_at: datetime.datetime | None = Field(
        description="When the latest applied event occurred."
    )


class EventOut(Schema):
    event_id: str
    outcome: Outcome
    message: str
    rule: str | None = Field(
        None, description="Which rule refused it: stale, not_found, over_maximum or rule."
    )
    case: CaseOut | None


class NumbersOut(Schema):
    worker: str
    day: datetime.date
    case_count: int
    people_count: int
    weighted_load: str
    capacity: str
    capacity_percent: str | None = Field(
        description="One decimal, never contradicting the band; null with no capacity."
    )
    band: Literal["blue", "green", "amber", "red"] | None
    band_label: str
    unrated_count: int
    unit: Literal["points", "hours"]


class DisabledOut(Schema):
    worker: str
    disabled: bool = Field(description="Always true: the person no longer signs in.")
    allocations_ended: int = Field(
        description="Allocations ended today, their cases back in the team's queue (0 on a repeat)."
    )


class ErrorOut(Schema):
    message: str
    errors: list[dict] | None = None
