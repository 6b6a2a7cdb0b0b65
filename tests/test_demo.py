"""The demo council: loaded once, on request, and true to every rule."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import models
from django.db.models import Count, Max, Min, Q
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from caseload.dates import Quarter
from caseload.models import Allocation, Case, Notification, Person, Service, TeamMembership
from reports.models import CaseloadAnalysis, CaseloadSnapshot, Escalation, SnapshotRecompute
from reports.services.daily import daily_jobs
from reports.services.reviews import quarterly_review
from tests.conftest import empty_the_database
from weighting.bands import Band
from weighting.models import CasePause, ExperienceFactor, Rating, Reduction, Scheme
from weighting.numbers import caseload_numbers, caseload_series


@pytest.fixture(scope="module")
def first_run(django_db_setup, django_db_blocker):
    """The embedded first run's `load_demo --if-empty` into an empty database,
    once for this module; what it printed. Emptied again afterwards."""
    output = io.StringIO()
    with django_db_blocker.unblock(), override_settings(DEBUG=True):
        call_command("load_demo", "--if-empty", stdout=output)
        yield output.getvalue()
        call_command("flush", "--no-input")


@pytest.fixture
def loaded(first_run, db):
    """Each test reads the module's demo inside its own rolled-back transaction."""
    return first_run


def test_the_first_run_loads_the_demo_and_prints_the_log_ins(loaded):
    assert "Loaded the demo data." in loaded
    assert "password: demo" in loaded
    for username in ("manager", "worker", "dmt", "admin"):
        assert username in loaded


@override_settings(DEBUG=True)
def test_loading_again_changes_nothing(loaded, capsys):
    counts = (Case.objects.count(), Allocation.objects.count(), Person.objects.count())
    call_command("load_demo", "--if-empty")
    call_command("load_demo")
    output = capsys.readouterr().out
    assert output.count("already loaded") == 2
    assert "manager" in output
    assert (Case.objects.count(), Allocation.objects.count(), Person.objects.count()) == counts


def test_the_demo_history_sends_no_email(loaded, mailoutbox):
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert mailoutbox == []


def test_demo_log_ins_work_with_the_published_password(loaded, client):
    for username in ("manager", "worker", "dmt", "admin"):
        response = client.post(reverse("login"), {"username": username, "password": "demo"})
        assert response.status_code == 302, username
        assert response["Location"] != reverse("login"), username
        client.post(reverse("logout"))


def test_the_demo_administrator_is_staff_in_the_group_and_no_superuser(loaded, client):
    admin = Person.objects.get(user__username="admin").user
    assert admin.is_staff and not admin.is_superuser
    assert list(admin.groups.values_list("name", flat=True)) == ["Administrators"]
    assert not Person.objects.filter(user__is_superuser=True).exists()
    client.force_login(admin)
    assert client.get(reverse("admin:caseload_person_changelist")).status_code == 200


def test_the_demo_has_the_expected_shape(loaded):
    assert set(Service.objects.values_list("name", flat=True)) == {
        "Children's Social Care",
        "Adult Social Care",
    }
    teams = set(
        Service.objects.get(name="Children's Social Care").teams.values_list("name", flat=True)
    )
    assert teams == {"Child Protection", "Children with Disabilities", "Looked After Children"}
    roles = set(Person.objects.values_list("role", flat=True))
    assert roles == set(Person.Role.values)
    assert Person.objects.filter(fte__lt=1, role="social_worker").exists()  # part-timers
    assert Case.objects.filter(status="closed").exists()
    assert Case.objects.unallocated().exists()
    # One of Asha's cases is awaiting closure, at half its weight.
    paused = CasePause.objects.select_related("reason").get()
    assert (paused.reason.name, paused.factor, paused.end_date) == ("Awaiting closure", 0.5, None)
    # Some cases changed hands: their history has more than one primary worker.
    moved = Case.objects.annotate(
        primaries=Count("allocations", filter=Q(allocations__kind="primary"))
    ).filter(primaries__gt=1)
    assert moved.exists()
    # Someone moved team, and is counted in each team for their own period.
    assert TeamMembership.objects.filter(end_date__isnull=False).exists()


def test_mrs_harrison_is_held_in_the_older_peoples_team(loaded):
    case = Case.objects.get(reference="AS-2041")
    assert case.team.name == "Older People"
    assert case.service.kind == "adults"
    assert case.allocations.open().get().person.full_name == "Oliver Price"


def test_the_demo_obeys_every_allocation_rule(loaded):
    open_primary = Allocation.objects.primary().open()
    assert not open_primary.exclude(person__role__in=Person.CASE_HOLDING_ROLES).exists()
    assert not Allocation.objects.exclude(person__role__in=Person.INVOLVED_ROLES).exists()
    per_case = open_primary.values("case").annotate(n=Count("pk")).filter(n__gt=1)
    assert not per_case.exists()
    assert not Allocation.objects.filter(case__status="closed", end_date__isnull=True).exists()
    student_cases = Allocation.objects.filter(person__role="student")
    assert student_cases.exists()
    assert all(a.kind == "involved" for a in student_cases)


def test_the_demo_has_ratings_factors_and_reductions(loaded):
    assert set(Rating.objects.values_list("status", flat=True)) == {
        "provisional",
        "interim",
        "agreed",
    }
    assert Rating.objects.filter(anticipated_by__isnull=False).exists()
    assert Case.objects.unallocated().exists()
    unrated_held = Allocation.objects.primary().open().filter(case__ratings__isnull=True)
    assert unrated_held.exists()
    assert ExperienceFactor.objects.filter(person__role="asye").count() >= 3
    assert Reduction.objects.filter(end_date__isnull=True).exists()
    # Children with Disabilities agreed its own version of the scheme.
    assert Scheme.objects.filter(team__name="Children with Disabilities", status="agreed").exists()


def test_mrs_harrison_is_rated_7_of_9_with_an_anticipated_6(loaded):
    rating = Rating.objects.filter(case__reference="AS-2041").latest("rated_on")
    levels = {row.criterion.name: row.level.value for row in rating.levels.all()}
    assert levels == {"Complexity": 3, "Risk": 3, "Travel": 1}
    assert (rating.total, rating.anticipated_total, rating.status) == (7, 6, "agreed")


def test_the_demo_shows_every_band(loaded):
    today = timezone.localdate()
    people = Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES)
    bands = {n.band for n in caseload_numbers(people, today).values()}
    assert bands == {Band.BLUE, Band.GREEN, Band.AMBER, Band.RED}


def test_the_many_day_numbers_agree_with_the_single_day_numbers(loaded):
    """caseload_series reads the dated records once for many days; on the demo's
    two years of history it must give exactly what caseload_numbers gives."""
    people = list(Person.objects.all())
    today = timezone.localdate()
    days = [today - datetime.timedelta(days=d) for d in (0, 1, 7, 30, 90, 180, 299, 300, 365, 700)]
    series = caseload_series(people, days)
    for day in days:
        assert series[day] == caseload_numbers(people, day), day


def test_every_page_has_history_on_the_first_run(loaded):
    """Snapshots for every day of the past eight quarters and this one, each
    worker's 12-week analyses, escalations and eight quarterly reviews, all
    as the jobs would have stored them, and current with every record."""
    today = timezone.localdate()
    first = Quarter.containing(today)
    for _ in range(8):
        first = first.previous
    days = CaseloadSnapshot.objects.aggregate(
        first=Min("day"), last=Max("day"), n=Count("day", distinct=True)
    )
    assert days == {"first": first.start, "last": today, "n": (today - first.start).days + 1}
    assert not SnapshotRecompute.objects.exists()
    # Stored snapshots agree with the numbers computed now.
    people = list(Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES))
    now = caseload_numbers(people, today)
    stored = {s.person_id: s for s in CaseloadSnapshot.objects.filter(day=today)}
    for person in people:
        assert stored[person.pk].weighted_load == now[person.pk].weighted_load, person
    for service in Service.objects.all():
        ends = set(service.reviews.values_list("quarter_end", flat=True))
        assert len(ends) == 8, service
    worker = Person.objects.get(user__username="worker")
    assert CaseloadAnalysis.objects.filter(person=worker).count() >= 8
    open_escalations = Escalation.objects.open()
    assert open_escalations.filter(person__full_name="Daniel Reid", work_ongoing=True).exists()
    assert Escalation.objects.filter(status="resolved").exists()
    assert daily_jobs(today)["escalations"] == 0  # nothing left to catch up


# The round trip: export, import into an empty database, the same numbers ----------


def _numbers_by_name(days: list[datetime.date]) -> dict:
    """What the team pages and the quarterly review show, keyed by names (the
    database ids differ after an import)."""
    from caseload.models import Team
    from weighting.schemes_in_force import latest_rating
    from weighting.totals import team_totals

    people = {p.pk: p for p in Person.objects.select_related("user")}
    seen: dict = {}
    for day in days:
        numbers = caseload_numbers(list(people), day)
        for pk, n in numbers.items():
            seen[(people[pk].user.username, day)] = (
                n.case_count, n.people_count, n.weighted_load, n.capacity, n.band,
                n.unrated_count,
            )  # fmt: skip
    for team in Team.objects.select_related("service"):
        members = {p.pk: p for p in Person.objects.members_of(team, days[0])}
        totals = team_totals(caseload_numbers(list(members), days[0]).values()).get(team.pk)
        queue = sorted(
            (case.reference, (days[0] - case.waiting_since).days, case.weight)
            for case in Case.objects.unallocated()
            .for_team(team)
            .with_waiting_since()
            .annotate(weight=models.Subquery(latest_rating(days[0], "pk").values("total")[:1]))
        )
        seen[("team", team.name)] = (totals, queue)
    quarter = Quarter.containing(days[0]).previous
    kept_by_the_jobs = {"id", "review", "team", "open_escalations", "open_concerns",
                        "overdue_concerns"}  # fmt: skip
    for service in Service.objects.all():
        review = quarterly_review(service, quarter, rerun=True)
        for row in review.rows.select_related("team"):
            seen[("review", row.team.name)] = {
                f.name: getattr(row, f.name)
                for f in row._meta.fields
                if f.name not in kept_by_the_jobs
            }
    return seen


def test_the_demo_exported_and_imported_into_an_empty_database_gives_the_same_numbers(
    loaded, emptied_afterwards
):
    from exchange import exporter, importer
    from exchange.reader import read

    today = timezone.localdate()
    days = [today - datetime.timedelta(days=n) for n in (0, 45, 120, 400)]
    before = _numbers_by_name(days)
    content = exporter.as_xlsx(exporter.collect())

    empty_the_database()
    assert not Case.objects.exists() and not Person.objects.exists()
    outcome = importer.run(read("demo.xlsx", content, max_rows=200_000), dry_run=False)
    assert outcome.errors == []
    assert outcome.applied

    after = _numbers_by_name(days)
    assert after.keys() == before.keys()
    different = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert different == {}
    # And importing the same file again changes nothing.
    again = importer.run(read("demo.xlsx", content, max_rows=200_000), dry_run=True)
    assert again.changes == 0 and again.valid
