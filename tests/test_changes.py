"""Kept pages and the change notes behind them: a kept team page is served
only while nothing has changed, however the records were changed.

PostgreSQL only (SQLite works pages out every time), and in committed
transactions, as in production: a transaction that has changed records
itself never uses a kept page."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.urls import reverse

from caseload import changes, services
from caseload.models import Case, DataChange, Team
from tests.conftest import days_ago
from tests.factories import CaseFactory


def our_tables() -> set[str]:
    return {
        model._meta.db_table
        for label in changes.NOTED_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    }


pytestmark = pytest.mark.postgres
COMMITTED = pytest.mark.django_db(transaction=True)


def version_now() -> int:
    version, _ = changes.data_version()
    return version


def test_every_table_of_our_apps_notes_its_changes(db):
    """A migration that adds a table must give it the trigger
    (caseload.changes.note_changes_to), or kept pages could go stale."""
    assert our_tables() >= changes.NOT_NOTED
    noted = changes.tables_noting_changes()
    every_change = {"INSERT", "UPDATE", "DELETE", "TRUNCATE"}
    missing = {
        table
        for table in our_tables() - changes.NOT_NOTED
        if noted.get(table, set()) != every_change
    }
    assert not missing, f"tables without the change triggers: {sorted(missing)}"


@COMMITTED
def test_any_committed_change_moves_the_version_on(team, team_manager):
    version = version_now()
    Team.objects.filter(pk=team.pk).update(name="Renamed")  # no model signals
    assert version_now() > version
    version = version_now()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE caseload_team SET aspiration = aspiration WHERE id = %s", [team.pk])
    assert version_now() > version
    version = version_now()
    try:
        with transaction.atomic():
            Team.objects.filter(pk=team.pk).update(name="Never")
            raise RuntimeError
    except RuntimeError:
        pass
    assert version_now() == version  # rolled back: nothing changed
    list(Team.objects.all())
    assert version_now() == version  # reading changes nothing


def test_a_transaction_that_changed_records_does_not_use_kept_pages(team):
    Team.objects.filter(pk=team.pk).update(name="Uncommitted")
    _, changed_here = changes.data_version()
    assert changed_here
    assert changes.kept("k", lambda: "worked out") == "worked out"
    assert changes.kept("k", lambda: "again") == "again"


@COMMITTED
def test_tidying_the_notes_keeps_the_version_growing(team):
    for name in ("One", "Two", "Three"):
        Team.objects.filter(pk=team.pk).update(name=name)
    version = version_now()
    changes.tidy_notes()
    assert DataChange.objects.count() == 1
    assert version_now() == version + 1


def team_page(client, team: Team) -> str:  # type: ignore[no-untyped-def]
    """The page's main content (the frame's CSRF tokens are masked anew each time)."""
    page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    return page[page.index("<main") : page.index("</main>")]


@COMMITTED
def test_the_team_page_is_kept_until_the_records_change(
    client, team, team_manager, social_worker, django_assert_max_num_queries
):
    waiting = CaseFactory(team=team, reference="CP-3001", opened_on=days_ago(4))
    client.force_login(team_manager.user)
    first = team_page(client, team)
    assert "CP-3001" in first
    # Nothing changed: the kept page, in a handful of queries (one its audit row).
    with django_assert_max_num_queries(14):
        assert team_page(client, team) == first
    # Allocated through the service: the case leaves the queue at once.
    services.allocation_create(
        case=waiting, person=social_worker, start_date=days_ago(0), allocated_by=team_manager
    )
    assert "CP-3001" not in team_page(client, team)
    # Changed behind the models' back, by a bulk update and by SQL.
    CaseFactory(team=team, reference="CP-3002", opened_on=days_ago(1))
    assert "CP-3002" in team_page(client, team)
    Case.objects.filter(reference="CP-3002").update(reference="CP-3003")
    assert "CP-3003" in team_page(client, team)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE caseload_team SET name = 'Front Door' WHERE id = %s", [team.pk])
    assert "Front Door" in team_page(client, team)


@COMMITTED
def test_a_kept_page_is_for_its_day(client, team, team_manager, monkeypatch):
    CaseFactory(team=team, reference="CP-3004", opened_on=days_ago(3))
    client.force_login(team_manager.user)
    assert "longest wait 3 days" in team_page(client, team)
    tomorrow = days_ago(-1)
    monkeypatch.setattr("caseload.views.timezone.localdate", lambda: tomorrow)
    assert "longest wait 4 days" in team_page(client, team)


@COMMITTED
def test_a_change_counts_when_it_is_committed_not_before(team_manager):
    """What another connection has not committed yet leaves the version as it
    is; its commit moves it on."""
    from django.db import connections

    team = Team.objects.get()
    version = version_now()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("UPDATE caseload_team SET name = 'Later' WHERE id = %s", [team.pk])
            assert version_now() == version
            cursor.execute("COMMIT")
        assert version_now() == version + 1
    finally:
        other.close()


def overview(client, service, quarter: str = "") -> str:  # type: ignore[no-untyped-def]
    url = reverse("service_overview", args=[service.pk])
    page = client.get(f"{url}?quarter={quarter}" if quarter else url).content.decode()
    return page[page.index("<main") : page.index("</main>")]


@COMMITTED
def test_the_service_overview_is_kept_until_the_records_change(
    client, service, team, dmt_member, django_assert_max_num_queries
):
    CaseFactory(team=team, reference="CP-3005", opened_on=days_ago(2))
    client.force_login(dmt_member.user)
    first = overview(client, service)
    assert "Child Protection" in first
    with django_assert_max_num_queries(8):
        assert overview(client, service) == first
    # Another way of asking for the latest quarter is the same page.
    assert overview(client, service, "not a quarter") == first
    Team.objects.filter(pk=team.pk).update(name="Front Door")
    changed = overview(client, service)
    assert "Front Door" in changed and "Child Protection" not in changed
