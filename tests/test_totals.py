"""Team and service totals, checked against a plain reference implementation
on generated teams (hypothesis): people moving between teams, part-time
ASYEs, protected time, cases rated, re-rated and unrated, allocations ended,
students and managers who count for nothing, and thresholds of the
service's own.

The reference reads each person and case one at a time and applies
DESIGN.md's definitions word for word; the set-based functions must agree
with it to the last decimal, live and from stored snapshots."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseload.models import Allocation, Person, TeamMembership
from reports.dashboards.positions import current_position
from reports.models import CaseloadSnapshot
from reports.services.snapshots import write_snapshots
from tests.conftest import days_ago
from tests.factories import CaseFactory, PersonFactory, ServiceFactory, TeamFactory, reason_named
from tests.rollback import rolled_back
from weighting import services as weighting
from weighting.bands import Band, Bands
from weighting.models import Rating, Reduction
from weighting.numbers import caseload_numbers
from weighting.totals import TeamTotals, service_totals, stored_team_totals, team_totals

D = Decimal
DAY = days_ago(0)
UNRATED_WEIGHT = D(6)  # the default scheme's middle: 2 + 2 + 2
CASE_HOLDING = [Person.Role.SOCIAL_WORKER, Person.Role.ASYE]
ROLES = [*CASE_HOLDING, Person.Role.STUDENT, Person.Role.TEAM_MANAGER]


person_plans = st.fixed_dictionaries(
    {
        "role": st.sampled_from(ROLES),
        "fte": st.sampled_from([D("1"), D("0.8"), D("0.5"), D("0.33")]),
        # The team they were in at first, and whether they moved to the
        # other one (before or after the day of the figures).
        "team": st.integers(0, 1),
        "moved_days_ago": st.none() | st.integers(-5, 60),
        "protected_hours": st.none() | st.sampled_from([D("3"), D("7.5")]),
        "cases": st.lists(
            st.fixed_dictionaries(
                {
                    "people": st.integers(1, 4),
                    "held_from": st.integers(1, 90),  # days ago
                    "held_for": st.none() | st.integers(1, 120),  # days
                    # Ratings: days ago and levels; none leaves it unrated.
                    "ratings": st.lists(
                        st.tuples(st.integers(0, 90), st.integers(1, 3), st.integers(1, 3)),
                        max_size=2,
                    ),
                }
            ),
            max_size=3,
        ),
    }
)
thresholds = st.sampled_from(
    [(D(95), D(100), D(110)), (D(90), D(105), D(120)), (D("97.5"), D("97.5"), D(101))]
)


@pytest.fixture
def generated(db):  # type: ignore[no-untyped-def]
    """A service with the default scheme and two teams: each example adds
    its people and cases (and its thresholds) and rolls them back."""
    service = ServiceFactory(name="Generated")
    scheme = weighting.scheme_create_default(service=service, agreed_on=days_ago(800))
    teams = [TeamFactory(service=service, name=f"Team {n}") for n in range(2)]
    return service, [c.pk for c in scheme.criteria.order_by("pk")], teams


def build(generated, plans: list[dict], bands: tuple[Decimal, Decimal, Decimal]):  # type: ignore[no-untyped-def]
    service, criteria, teams = generated
    service.band_green_from, service.band_amber_above, service.band_red_from = bands
    service.save()
    people = []
    for plan in plans:
        person = PersonFactory(service=service, role=plan["role"], fte=plan["fte"])
        people.append(person)
        first, moved = teams[plan["team"]], plan["moved_days_ago"]
        TeamMembership.objects.create(
            person=person,
            team=first,
            start_date=days_ago(365),
            end_date=days_ago(moved) if moved is not None else None,
        )
        if moved is not None:
            TeamMembership.objects.create(
                person=person, team=teams[1 - plan["team"]], start_date=days_ago(moved)
            )
        if plan["protected_hours"] and person.role in CASE_HOLDING:
            Reduction.objects.create(
                person=person,
                reason=reason_named(person, "Training"),
                hours_per_week=plan["protected_hours"],
                start_date=days_ago(20),
            )
        if person.role not in CASE_HOLDING:
            continue
        for case_plan in plan["cases"]:
            case = CaseFactory(
                team=first, people_count=case_plan["people"], opened_on=days_ago(120)
            )
            start, held_for = days_ago(case_plan["held_from"]), case_plan["held_for"]
            Allocation.objects.create(
                case=case,
                person=person,
                start_date=start,
                end_date=start + datetime.timedelta(days=held_for) if held_for else None,
            )
            for rated_ago, complexity, risk in case_plan["ratings"]:
                weighting.rating_create(
                    case=case,
                    levels=dict(zip(criteria, [D(complexity), D(risk), D(1)], strict=True)),
                    rated_on=days_ago(rated_ago),
                    rated_by=None,
                    status=Rating.Status.INTERIM,
                )
    return people


def reference_totals(people: list[Person], day: datetime.date) -> dict[int, TeamTotals]:
    """DESIGN.md's definitions, a person and a case at a time."""
    found: dict[int, dict] = {}
    for person in people:
        if person.role not in CASE_HOLDING:
            continue
        membership = next(
            m
            for m in TeamMembership.objects.filter(person=person)
            if m.start_date <= day and (m.end_date is None or day < m.end_date)
        )
        load, cases, children = D(0), 0, 0
        for allocation in Allocation.objects.filter(person=person, kind="primary"):
            if not (
                allocation.start_date <= day
                and (allocation.end_date is None or day < allocation.end_date)
            ):
                continue
            ratings = sorted(
                (r for r in Rating.objects.filter(case=allocation.case) if r.rated_on <= day),
                key=lambda r: (r.rated_on, r.pk),
            )
            load += D(ratings[-1].total) if ratings else UNRATED_WEIGHT
            cases += 1
            children += allocation.case.people_count
        factor = D(1) if person.role == Person.Role.SOCIAL_WORKER else D("0.8")
        hours = sum(
            (
                r.hours_per_week
                for r in Reduction.objects.filter(person=person)
                if r.start_date <= day and (r.end_date is None or day < r.end_date)
            ),
            D(0),
        )
        capacity = max(D(0), 100 * person.fte * factor * (1 - hours / (37 * person.fte)))
        service = person.service
        if capacity <= 0:
            band = None
        elif load * 100 < capacity * service.band_green_from:
            band = Band.BLUE
        elif load * 100 <= capacity * service.band_amber_above:
            band = Band.GREEN
        elif load * 100 < capacity * service.band_red_from:
            band = Band.AMBER
        else:
            band = Band.RED
        team = found.setdefault(
            membership.team_id,
            {"fte": D(0), "cases": 0, "people": 0, "load": D(0), "capacity": D(0), "bands": {}},
        )
        team["fte"] += person.fte
        team["cases"] += cases
        team["people"] += children
        team["load"] += load
        team["capacity"] += capacity
        if band:
            team["bands"][band] = team["bands"].get(band, 0) + 1
    return {
        team_id: TeamTotals(t["fte"], t["cases"], t["people"], t["load"], t["capacity"], t["bands"])
        for team_id, t in found.items()
    }


def comparable(totals: TeamTotals) -> tuple:
    return (
        totals.case_holding_fte,
        totals.cases,
        totals.people,
        totals.weighted_load,
        totals.capacity,
        {band: n for band, n in totals.bands.items() if n},
        totals.people_per_fte,
        totals.load_per_fte,
        totals.over_maximum,
    )


def rounded(totals: TeamTotals) -> tuple:
    """What stored snapshots keep: each person's load to 2 places and
    capacity to 4, so their sums are checked against the reference's sums
    at those places (each generated figure is exact at them)."""
    return (
        totals.case_holding_fte,
        totals.cases,
        totals.people,
        totals.weighted_load.quantize(D("0.01")),
        {band: n for band, n in totals.bands.items() if n},
        totals.over_maximum,
    )


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plans=st.lists(person_plans, min_size=1, max_size=6), bands=thresholds)
def test_team_and_service_totals_agree_with_the_reference(generated, plans, bands):
    service = generated[0]
    with rolled_back():
        people = build(generated, plans, bands)
        expected = reference_totals(people, DAY)
        live = team_totals(caseload_numbers(people, DAY).values())
        assert {k: comparable(v) for k, v in live.items()} == {
            k: comparable(v) for k, v in expected.items()
        }
        assert comparable(service_totals(live.values())) == comparable(
            service_totals(expected.values())
        )

        # The DMT's position today: the same totals, team by team and for the service.
        position = current_position(service, DAY)
        for team in position.teams:
            assert comparable(team.totals) == comparable(expected.get(team.team_id, TeamTotals()))
        assert position.people_per_fte == service_totals(expected.values()).people_per_fte
        assert position.over_maximum == service_totals(expected.values()).over_maximum

        # The jobs' totals, summed by the database from the stored snapshots.
        write_snapshots([p.pk for p in people], [DAY])
        stored = stored_team_totals(CaseloadSnapshot.objects.filter(day=DAY))
        assert {team_id: rounded(t) for (team_id,), t in stored.items()} == {
            k: rounded(v) for k, v in expected.items()
        }


def test_a_services_own_thresholds_name_its_bands():
    bands = Bands(D(90), D(105), D(120))
    assert bands.headings == ("Under 90%", "90–105%", "Over 105%", "120% or more")
    assert Bands().headings == ("Under 95%", "95–100%", "Over 100%", "110% or more")
