"""A team's people and a person's numbers for the DMT: counts, weights and
bands, never the cases' details; today's computed live, the past's from the
stored snapshots."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Subquery

from caseload.models import Allocation, Case, Person, Team
from reports.models import CaseloadSnapshot
from weighting.bands import Band, Bands
from weighting.models import SchemeUnit
from weighting.numbers import caseload_numbers
from weighting.schemes_in_force import SchemesInForce, latest_rating

ZERO = Decimal(0)


@dataclass
class PersonRow:
    """A person's numbers for the DMT: counts, weights and band, no cases."""

    person: Person
    fte: Decimal  # on the row's day
    case_count: int
    people_count: int
    weighted_load: Decimal
    capacity: Decimal
    percent: Decimal | None
    band: str
    band_label: str
    percent_display: str
    percent_shown: Decimal | None = None  # one decimal, never contradicting the band
    unit: str = SchemeUnit.POINTS  # of load and capacity: points, or hours a month


def people_today(team: Team, day: datetime.date) -> list[PersonRow]:
    return people_rows(list(Person.objects.members_of(team, day)), day)


def people_rows(people: list[Person], day: datetime.date) -> list[PersonRow]:
    """Each person's numbers on `day`, from the one computation."""
    by_pk = {p.pk: p for p in people}
    numbers = caseload_numbers(list(by_pk), day)
    return sorted(
        (
            PersonRow(
                person=by_pk[pk],
                fte=n.fte,
                case_count=n.case_count,
                people_count=n.people_count,
                weighted_load=n.weighted_load,
                capacity=n.capacity,
                percent=n.percent,
                band=n.band.value if n.band else "",
                band_label=n.band_label,
                percent_display=n.percent_display,
                percent_shown=n.percent_shown,
                unit=n.unit,
            )
            for pk, n in numbers.items()
        ),
        key=lambda row: row.person.full_name,
    )


def people_on(team: Team, day: datetime.date) -> list[PersonRow]:
    """The team's people on a past day, from that day's snapshots."""
    rows = []
    for snapshot in (
        CaseloadSnapshot.objects.filter(team=team, day=day)
        .select_related("person__service")
        .order_by("person__full_name")
    ):
        rows.append(snapshot_row(snapshot))
    return rows


def snapshot_row(snapshot: CaseloadSnapshot) -> PersonRow:
    bands = Bands.of(snapshot.person.service)
    band_label = bands.label(Band(snapshot.band)) if snapshot.band else "No capacity"
    shown = bands.displayed_percent(snapshot.percent) if snapshot.percent is not None else None
    percent_display = bands.percent_display(snapshot.percent)
    return PersonRow(
        person=snapshot.person,
        fte=snapshot.fte,
        case_count=snapshot.case_count,
        people_count=snapshot.people_count,
        weighted_load=snapshot.weighted_load,
        capacity=snapshot.capacity,
        percent=snapshot.percent,
        band=snapshot.band,
        band_label=band_label,
        percent_display=percent_display,
        percent_shown=shown,
        unit=snapshot.unit,
    )


@dataclass
class CaseTypeRow:
    label: str
    cases: int
    people: int
    weighted_load: Decimal
    unrated: int


def cases_by_type(person: Person, day: datetime.date) -> list[CaseTypeRow]:
    """A person's cases today by type: counts and weights, never labels."""
    held = (
        Allocation.objects.primary()
        .active_on(day)
        .filter(person=person)
        .annotate(weight=Subquery(latest_rating(day).values("total")[:1]))
        .values(
            "case__case_type", "case__people_count", "case__service_id", "case__team_id", "weight"
        )
    )
    rows: dict[str, CaseTypeRow] = {}
    held = list(held)
    schemes = SchemesInForce(
        {r["case__service_id"] for r in held}, day, team_ids={r["case__team_id"] for r in held}
    )
    labels = dict(Case.Type.choices)
    for row in held:
        kind = row["case__case_type"]
        entry = rows.setdefault(kind, CaseTypeRow(labels.get(kind, kind), 0, 0, ZERO, 0))
        entry.cases += 1
        entry.people += row["case__people_count"]
        if row["weight"] is None:
            scheme = schemes.for_team(row["case__service_id"], row["case__team_id"])
            entry.unrated += 1
            entry.weighted_load += scheme.middle_total if scheme else ZERO
        else:
            entry.weighted_load += Decimal(row["weight"])
    return sorted(rows.values(), key=lambda r: r.label)


def weekly_trend(
    person: Person, day: datetime.date, today: PersonRow | None, weeks: int = 12
) -> list[tuple[datetime.date, PersonRow]]:
    """The person's numbers a week apart over the last `weeks` weeks: the
    stored snapshots of the weeks before, and `today`, computed live, for
    `day` (a snapshot of today may predate the day's latest change)."""
    days = [day - datetime.timedelta(weeks=n) for n in range(weeks, 0, -1)]
    stored = CaseloadSnapshot.objects.filter(person=person, day__in=days).select_related(
        "person__service"
    )
    points = [(s.day, snapshot_row(s)) for s in stored.order_by("day")]
    return [*points, (day, today)] if today else points
