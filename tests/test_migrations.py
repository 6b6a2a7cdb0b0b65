"""Migrations that rewrite data, tested on data."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("reports", "0002_dmt_decisions")]
AFTER = [("reports", "0003_team_day_totals")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def back_to_the_latest_afterwards():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_team_day_totals_are_summed_from_the_snapshots_already_stored():
    apps = migrate(BEFORE)
    user = apps.get_model("auth", "User")
    service = apps.get_model("caseload", "Service").objects.create(name="Children's services")
    team_model = apps.get_model("caseload", "Team")
    person_model = apps.get_model("caseload", "Person")
    snapshot = apps.get_model("reports", "CaseloadSnapshot")
    north, south = (team_model.objects.create(service=service, name=n) for n in ("North", "South"))
    day = datetime.date(2026, 6, 30)

    def person(name, role, fte):
        return person_model.objects.create(
            user=user.objects.create(username=name), full_name=name, role=role, fte=Decimal(fte)
        )

    def snap(who, team, on, holding, cases, people, load):
        snapshot.objects.create(
            person=who,
            team=team,
            day=on,
            case_holding=holding,
            fte=who.fte,
            case_count=cases,
            people_count=people,
            weighted_load=Decimal(load),
            capacity=Decimal(100),
            percent=None,
            band="",
            unrated_count=0,
            provisional_count=0,
        )

    asha, ben = person("asha", "social_worker", "1.00"), person("ben", "asye", "0.60")
    manager = person("mo", "team_manager", "1.00")
    snap(asha, north, day, True, 12, 20, "61.50")
    snap(ben, north, day, True, 7, 9, "30.00")
    snap(manager, north, day, False, 0, 0, "0")  # not case-holding: not in the totals
    snap(asha, south, day + datetime.timedelta(days=1), True, 3, 4, "12.00")

    apps = migrate(AFTER)
    rows = {
        (row.team.name, row.day): (row.case_holding_fte, row.cases, row.people, row.weighted_load)
        for row in apps.get_model("reports", "TeamDay").objects.select_related("team")
    }
    assert rows == {
        ("North", day): (Decimal("1.60"), 19, 29, Decimal("91.50")),
        ("South", day + datetime.timedelta(days=1)): (Decimal("1.00"), 3, 4, Decimal("12.00")),
    }
    assert snapshot.objects.count() == 4  # the snapshots themselves are untouched


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_administrators_stop_being_superusers_and_join_their_group():
    from caseload.accounts import ADMINISTRATOR_PERMISSIONS

    apps = migrate([("caseload", "0016_change_history_of_every_admin_write")])
    user_model, person_model = apps.get_model("auth", "User"), apps.get_model("caseload", "Person")

    def person(name, role, **flags):
        user = user_model.objects.create(username=name, **flags)
        return person_model.objects.create(user=user, full_name=name, role=role)

    person("alex", "administrator", is_staff=True, is_superuser=True)
    person("claire", "team_manager")
    user_model.objects.create(username="breakglass", is_staff=True, is_superuser=True)

    apps = migrate([("caseload", "0017_administrators_group")])
    users = {
        u.username: (u.is_staff, u.is_superuser, [g.name for g in u.groups.all()])
        for u in apps.get_model("auth", "User").objects.all()
    }
    assert users == {
        "alex": (True, False, ["Administrators"]),
        "claire": (False, False, []),
        "breakglass": (True, True, []),  # no person: the break-glass account, left alone
    }
    group = apps.get_model("auth", "Group").objects.get(name="Administrators")
    granted = {(p.content_type.app_label, p.codename) for p in group.permissions.all()}
    wanted = {(app, code) for app, codes in ADMINISTRATOR_PERMISSIONS.items() for code in codes}
    assert granted == wanted


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_the_audit_keeps_its_rows_and_its_guard_when_it_learns_listings():
    apps = migrate([("caseload", "0017_administrators_group")])
    user = apps.get_model("auth", "User").objects.create(username="manager")
    apps.get_model("caseload", "AccessRecord").objects.create(
        user=user, username="manager", action="view", record_type="case", record_id=7,
        case_reference="CP-1042",
    )  # fmt: skip
    migrate([("caseload", "0018_audit_listings_and_retention")])
    from caseload.models import AccessRecord

    row = AccessRecord.objects.get()
    assert (row.record_id, row.case_reference, row.listing, row.case_ids) == (7, "CP-1042", "", [])
    # The table was rebuilt on SQLite: its trigger still refuses a change.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE caseload_accessrecord SET record_id = 8")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM caseload_accessrecord")
    assert AccessRecord.objects.get().record_id == 7
