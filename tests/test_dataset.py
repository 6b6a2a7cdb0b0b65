"""Generated councils: the right size, the same from the same seed, keeping
every rule a real council's records keep, and the scheduled jobs making the
same number of queries whatever the size."""

import datetime
import itertools
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import dataset
from caseload.dates import Quarter
from caseload.models import Allocation, Case, Person, Service, Team, TeamMembership
from reports.services.analyses import analyse
from reports.services.reviews import quarterly_review
from reports.services.snapshots import backfill_snapshots, take_snapshots
from tests.conftest import empty_the_database
from weighting.models import Rating, RatingLevel
from weighting.numbers import caseload_numbers

TODAY = datetime.date(2026, 11, 23)
TINY = dataset.Scale(services=1, teams=2, workers=10, open_cases=150, history_days=200)
SMALL = dataset.SCALES["small"]

pytestmark = pytest.mark.django_db


def fingerprint() -> list:
    """The council without its keys: what would differ if the seed did not hold."""
    return sorted(
        Allocation.objects.values_list(
            "case__reference",
            "case__team__name",
            "case__opened_on",
            "case__closed_on",
            "case__people_count",
            "person__full_name",
            "start_date",
            "end_date",
        )
    ) + sorted(Rating.objects.values_list("case__reference", "rated_on", "status", "total"))


def test_a_council_has_the_size_asked_for():
    made = dataset.generate(SMALL, seed=7, today=TODAY)
    assert (made.services, made.teams) == (2, 6)
    assert Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES).count() == 40
    assert Case.objects.filter(status=Case.Status.OPEN).count() == 700
    # About a third as many again closed over the year, and a few waiting.
    assert 200 <= Case.objects.filter(status=Case.Status.CLOSED).count() <= 300
    waiting = Case.objects.unallocated().count()
    assert 1 <= waiting <= 40
    assert Team.objects.filter(managers__isnull=False).count() == 6
    assert not any(p.user.has_usable_password() for p in Person.objects.select_related("user"))


def test_the_same_seed_gives_the_same_council_and_another_seed_another(emptied_afterwards):
    dataset.generate(TINY, seed=11, today=TODAY)
    first = fingerprint()
    empty_the_database()
    dataset.generate(TINY, seed=11, today=TODAY)
    assert fingerprint() == first
    empty_the_database()
    dataset.generate(TINY, seed=12, today=TODAY)
    assert fingerprint() != first


def test_the_generated_records_keep_the_rules_of_real_ones():
    dataset.generate(SMALL, seed=3, today=TODAY)
    joined = {m.person_id: (m.team_id, m.start_date) for m in TeamMembership.objects.all()}
    primaries = Allocation.objects.primary().select_related("case", "person")
    by_case: dict[int, list[Allocation]] = {}
    for allocation in primaries:
        team_id, start = joined[allocation.person_id]
        assert allocation.person.role in Person.CASE_HOLDING_ROLES
        assert team_id == allocation.case.team_id  # a worker of the case's team
        assert start <= allocation.start_date <= TODAY  # after joining, never ahead
        assert allocation.case.opened_on <= allocation.start_date
        if allocation.case.closed_on:
            assert allocation.end_date == allocation.case.closed_on
        by_case.setdefault(allocation.case_id, []).append(allocation)
    for allocations in by_case.values():  # one primary worker at a time
        allocations.sort(key=lambda a: a.start_date)
        for earlier, later in itertools.pairwise(allocations):
            assert earlier.end_date is not None and earlier.end_date <= later.start_date
    # Each rating's total is the sum of its levels, one per criterion.
    levels = Counter()
    totals: dict[int, Decimal] = {}
    for level in RatingLevel.objects.select_related("level"):
        levels[level.rating_id] += 1
        totals[level.rating_id] = totals.get(level.rating_id, Decimal(0)) + level.level.value
    for rating in Rating.objects.all():
        assert levels[rating.pk] == 3
        assert rating.total == totals[rating.pk]
    # Every worker has numbers: a capacity, a band and cases.
    workers = Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES)
    numbers = caseload_numbers(workers, TODAY)
    assert len(numbers) == 40
    assert all(n.band is not None and n.case_count > 0 for n in numbers.values())
    assert (
        sum(n.case_count for n in numbers.values())
        == Case.objects.filter(
            status=Case.Status.OPEN, allocations__kind="primary", allocations__end_date=None
        ).count()
    )


def jobs_queries(scale: dataset.Scale) -> dict[str, int]:
    dataset.generate(scale, seed=5, today=TODAY)
    quarter = Quarter.containing(TODAY).previous
    counts = {}
    with CaptureQueriesContext(connection) as queries:
        take_snapshots(TODAY)
    counts["daily snapshot"] = len(queries)
    workers = list(
        TeamMembership.objects.active_on(TODAY)
        .filter(person__role__in=Person.CASE_HOLDING_ROLES)
        .values_list("person_id", flat=True)
    )
    with CaptureQueriesContext(connection) as queries:
        analyse(workers, TODAY)
    counts["12-week analyses"] = len(queries)
    backfill_snapshots(quarter.start, quarter.end)
    service = Service.objects.order_by("pk").first()
    with CaptureQueriesContext(connection) as queries:
        quarterly_review(service, quarter)
    counts["quarterly review"] = len(queries)
    return counts


def test_the_jobs_make_as_many_queries_for_10_workers_as_for_40(emptied_afterwards):
    tiny = jobs_queries(TINY)
    empty_the_database()
    small = jobs_queries(SMALL)
    assert tiny == small
