"""Migrations that rewrite data, tested on data."""

import datetime
import importlib
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

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
    # The permissions as that migration gave them; later ones add to them.
    granted_then = importlib.import_module("caseload.migrations.0017_administrators_group")

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
    wanted = {(app, code) for app, codes in granted_then.PERMISSIONS.items() for code in codes}
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_each_persons_fte_becomes_the_first_row_of_their_history():
    """Asha (0.8) moved teams; Ben (0.5) joined one; Dana (1.0) is in none:
    each gets one open row with their FTE, from their earliest membership
    (or the day they were added), and keeps the FTE on their record."""
    apps = migrate([("caseload", "0025_service_full_time_hours")])
    user = apps.get_model("auth", "User")
    service = apps.get_model("caseload", "Service").objects.create(name="Children's services")
    team_model = apps.get_model("caseload", "Team")
    membership = apps.get_model("caseload", "TeamMembership")
    north, south = (team_model.objects.create(service=service, name=n) for n in ("North", "South"))

    def person(name, role, fte):
        return apps.get_model("caseload", "Person").objects.create(
            user=user.objects.create(username=name), full_name=name, role=role,
            service=service, fte=Decimal(fte),
        )  # fmt: skip

    asha, ben = person("asha", "social_worker", "0.80"), person("ben", "asye", "0.50")
    person("dana", "senior_manager", "1.00")
    moved = datetime.date(2025, 1, 6)
    membership.objects.create(person=asha, team=north, start_date=datetime.date(2024, 3, 4),
                              end_date=moved)  # fmt: skip
    membership.objects.create(person=asha, team=south, start_date=moved)
    membership.objects.create(person=ben, team=north, start_date=datetime.date(2026, 1, 5))

    migrate([("caseload", "0026_fte_history")])
    from caseload.models import FteChange, Person

    rows = {
        row.person.full_name: (row.fte, row.start_date, row.end_date)
        for row in FteChange.objects.select_related("person")
    }
    assert rows == {
        "asha": (Decimal("0.80"), datetime.date(2024, 3, 4), None),
        "ben": (Decimal("0.50"), datetime.date(2026, 1, 5), None),
        "dana": (Decimal("1.00"), timezone.localdate(), None),
    }
    fte_on_record = dict(Person.objects.values_list("full_name", "fte"))
    assert fte_on_record == {"asha": Decimal("0.80"), "ben": Decimal("0.50"), "dana": 1}

    # Backwards the rows go, and the FTE on each record is as it was.
    apps = migrate([("caseload", "0025_service_full_time_hours")])
    people = apps.get_model("caseload", "Person").objects.values_list("full_name", "fte")
    assert dict(people) == fte_on_record


CACHE_TABLES = ("caseload_datachange", "caseload_keptpart")


def change_triggers() -> set[tuple[str, str, str]]:
    """The change triggers there are: (table, trigger, function)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, p.proname FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgname LIKE 'caseload\\_note\\_%%' AND NOT t.tgisinternal"
        )
        return set(cursor.fetchall())


def functions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'caseload\\_%%'")
        return {row[0] for row in cursor.fetchall()}


def tables_there(*names: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NOT NULL", [list(names)]
        )
        return {row[0] for row in cursor.fetchall()}


def rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
        return cursor.fetchone()[0]


BEFORE_THE_CACHE_WENT = [("caseload", "0021_import_runs_may_invite")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_the_cache_tables_triggers_and_functions_go_and_the_records_stay():
    apps = migrate(BEFORE_THE_CACHE_WENT)
    triggers_of_the_last_release = change_triggers()
    assert len(triggers_of_the_last_release) == 43 + 13 * 4  # plain, and naming teams
    service = apps.get_model("caseload", "Service").objects.create(name="Children's services")
    team = apps.get_model("caseload", "Team").objects.create(service=service, name="North")
    person = apps.get_model("caseload", "Person").objects.create(
        user=apps.get_model("auth", "User").objects.create(username="asha"),
        full_name="Asha Patel",
        role="social_worker",
    )
    apps.get_model("caseload", "TeamMembership").objects.create(
        team=team, person=person, start_date=datetime.date(2026, 1, 5)
    )
    apps.get_model("caseload", "DataChange").objects.create(weight=5000)  # as the daily job left it
    apps.get_model("caseload", "KeptPart").objects.create(
        name="3f2a1c:team:1", entry=b"\x80\x05N.", kept_at=datetime.datetime.now(datetime.UTC)
    )
    assert rows("caseload_datachange") > 4  # the triggers recorded every insert
    assert "caseload_note_teams" in functions()

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert tables_there(*CACHE_TABLES) == set()
    assert change_triggers() == set()
    assert functions() == {"caseload_audit_is_append_only"}  # the audit's guard stays
    from caseload.models import Person, Team, TeamMembership

    assert [(t.name, t.service.name) for t in Team.objects.all()] == [
        ("North", "Children's services")
    ]
    assert TeamMembership.objects.get().person == Person.objects.get(full_name="Asha Patel")
    Team.objects.update(name="North West")  # a write needs no trigger's table

    # Backwards: the last release's triggers on the empty tables, recording again.
    migrate(BEFORE_THE_CACHE_WENT)
    assert tables_there(*CACHE_TABLES) == set(CACHE_TABLES)
    assert change_triggers() == triggers_of_the_last_release
    assert rows("caseload_keptpart") == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE caseload_team SET aspiration = aspiration")
        cursor.execute("SELECT table_name, teams FROM caseload_datachange")
        assert cursor.fetchall() == [("caseload_team", [team.pk])]

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert tables_there(*CACHE_TABLES) == set()
    assert change_triggers() == set()
    assert Team.objects.get().name == "North West"


BEFORE_THE_REASON_LISTS = [
    ("weighting", "0007_history_of_experience_factors_and_reductions"),
    ("caseload", "0025_service_full_time_hours"),
]
THE_REASON_LISTS = [("weighting", "0008_reduction_reasons")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_every_reduction_and_its_history_keep_their_reason_from_their_services_list():
    """Each service gets the five reasons; each reduction, and each row of its
    history, points at its person's service's reason for the code it had. A
    person with no service takes the service of the team they were last in,
    or else the first service. Going back restores the codes."""
    apps = migrate(BEFORE_THE_REASON_LISTS)
    service_model = apps.get_model("caseload", "Service")
    children = service_model.objects.create(name="Children's Social Care")
    adults = service_model.objects.create(name="Adult Social Care", kind="adults")
    team = apps.get_model("caseload", "Team").objects.create(service=adults, name="Older people")
    user_model, person_model = apps.get_model("auth", "User"), apps.get_model("caseload", "Person")

    def person(name, service):
        user = user_model.objects.create(username=name)
        return person_model.objects.create(
            user=user, full_name=name, role="social_worker", service=service
        )

    asha, rob = person("asha", children), person("rob", adults)
    moved, nobody = person("moved", None), person("nobody", None)  # no service recorded
    apps.get_model("caseload", "TeamMembership").objects.create(
        person=moved, team=team, start_date=datetime.date(2026, 1, 5)
    )
    reduction_model = apps.get_model("weighting", "Reduction")
    history_model = apps.get_model("weighting", "HistoricalReduction")
    start = datetime.date(2026, 3, 2)
    rows = [
        (asha, "practice_educator", start, None),
        (asha, "training", start, datetime.date(2026, 5, 1)),
        (rob, "union_duties", start, None),
        (moved, "phased_return", start, datetime.date(2026, 4, 1)),
        (nobody, "other", start, None),
    ]
    for who, code, since, until in rows:
        reduction = reduction_model.objects.create(
            person=who, reason=code, hours_per_week=Decimal(2), start_date=since, end_date=until
        )
        history_model.objects.create(
            id=reduction.pk, person_id=who.pk, reason=code, hours_per_week=Decimal(2),
            start_date=since, end_date=until, created_at=reduction.created_at,
            history_date=reduction.created_at, history_type="+",
        )  # fmt: skip

    apps = migrate(THE_REASON_LISTS)
    reason_model = apps.get_model("weighting", "ReductionReason")
    lists = {
        service.name: [
            (r.name, r.default_hours_per_week, r.default_percentage, r.maximum_weeks)
            for r in reason_model.objects.filter(service=service).order_by("pk")
        ]
        for service in apps.get_model("caseload", "Service").objects.all()
    }
    five = [
        ("Practice educator", Decimal("3.70"), None, None),
        ("Trade union duties", None, None, None),
        ("Training", None, None, None),
        ("Phased return to work", None, Decimal("50.00"), 12),
        ("Other protected time", None, None, None),
    ]
    assert lists == {"Children's Social Care": five, "Adult Social Care": five}
    wanted = [
        ("asha", "Children's Social Care", "Practice educator", None),
        ("asha", "Children's Social Care", "Training", datetime.date(2026, 5, 1)),
        ("rob", "Adult Social Care", "Trade union duties", None),
        ("moved", "Adult Social Care", "Phased return to work", datetime.date(2026, 4, 1)),
        ("nobody", "Children's Social Care", "Other protected time", None),
    ]
    for model_name in ("Reduction", "HistoricalReduction"):
        stored = apps.get_model("weighting", model_name).objects.order_by("id")
        found = [
            (r.person.full_name, r.reason.service.name, r.reason.name, r.end_date)
            for r in stored.select_related("person", "reason__service")
        ]
        assert found == wanted, model_name
    if connection.vendor == "postgresql":
        # The same reason still may not overlap in time, now by its row.
        reduction_model = apps.get_model("weighting", "Reduction")
        training = reason_model.objects.get(service__name="Children's Social Care", name="Training")
        with pytest.raises(DatabaseError), transaction.atomic():
            reduction_model.objects.create(
                person_id=asha.pk, reason=training, percentage=Decimal(5),
                start_date=datetime.date(2026, 4, 1), end_date=datetime.date(2026, 4, 8),
            )  # fmt: skip
    reason_model.objects.create(service_id=children.pk, name="Mentoring")
    # A service's own reason is "other" protected time once the codes are back.
    apps.get_model("weighting", "Reduction").objects.filter(
        person_id=asha.pk, reason__name="Training"
    ).update(reason=reason_model.objects.get(name="Mentoring"))

    apps = migrate(BEFORE_THE_REASON_LISTS)
    codes = list(
        apps.get_model("weighting", "Reduction")
        .objects.order_by("id")
        .values_list("reason", flat=True)
    )
    assert codes == ["practice_educator", "other", "union_duties", "phased_return", "other"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_administrators_may_keep_the_lists_of_reasons():
    apps = migrate(THE_REASON_LISTS)
    apps.get_model("auth", "Group").objects.create(name="Administrators")
    apps = migrate([("weighting", "0009_administrators_keep_reduction_reasons")])
    group = apps.get_model("auth", "Group").objects.get(name="Administrators")
    assert sorted(p.codename for p in group.permissions.all()) == [
        "add_reductionreason",
        "change_reductionreason",
        "view_reductionreason",
    ]
