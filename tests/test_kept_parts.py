"""Kept parts of the service overview (ADR 0014): after an allocation, a
rating or a change to a case, only the teams it reaches are worked out again,
and the page is always the page worked out afresh.

PostgreSQL only (the notes are written by its triggers), in committed
transactions as in production."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from django.core.management import call_command
from django.db import OperationalError, connection, connections, transaction
from django.db.models import F
from django.test import Client

from caseload import changes, services, views
from caseload.celery import app
from caseload.dates import Quarter
from caseload.models import Allocation, Case, KeptPart, Person, Service, Team
from reports import dashboards, presenters, tasks
from reports import services as reports
from reports.models import DmtDecision
from supervision.models import SupervisionRecord
from tests.brokers import result_of
from tests.conftest import days_ago
from tests.factories import CaseFactory, TeamFactory
from tests.test_changes import overview, team_page
from weighting import services as weighting
from weighting.models import Rating, Reduction

pytestmark = pytest.mark.postgres
COMMITTED = pytest.mark.django_db(transaction=True)


def versions_of(table: str, *teams: Team) -> dict[int, int]:
    found = changes.versions([t.pk for t in teams])
    return {t.pk: found.of(table, t.pk) for t in teams}


def levels(case: Case, value: int) -> dict[int, Decimal]:
    scheme = weighting.scheme_in_force(case.team)
    return {c.pk: Decimal(value) for c in scheme.criteria.all()}


def rating_by_sql(case: Case, total: int) -> None:
    """A rating written as an import or a hand-made fix would: no service."""
    Rating.objects.create(
        case=case,
        rated_on=days_ago(0),
        status=Rating.Status.INTERIM,
        total=Decimal(total),
        scheme=weighting.scheme_in_force(case.team),
    )


@COMMITTED
def test_an_allocation_reaches_the_teams_of_its_case_and_worker_only(
    team, other_team, social_worker, team_manager, case
):
    before = versions_of("caseload_allocation", team, other_team)
    services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(1), allocated_by=team_manager
    )
    after = versions_of("caseload_allocation", team, other_team)
    assert after[team.pk] > before[team.pk]
    assert after[other_team.pk] == before[other_team.pk]
    assert changes.versions().of("caseload_allocation") > max(before.values())


@COMMITTED
def test_a_rating_reaches_the_teams_of_everyone_who_holds_the_case(
    team, other_team, outsider, team_manager
):
    """A worker of another team holding the case (as an import may record)
    has the rating in their numbers: their team is reached too."""
    case = CaseFactory(team=team, reference="CP-4001")
    Allocation.objects.create(
        case=case, person=outsider, kind=Allocation.Kind.PRIMARY, start_date=days_ago(5)
    )
    before = versions_of("weighting_rating", team, other_team)
    rating_by_sql(case, 7)
    after = versions_of("weighting_rating", team, other_team)
    assert after[team.pk] > before[team.pk]  # the case's own team
    assert after[other_team.pk] > before[other_team.pk]  # its holder's


@COMMITTED
def test_a_case_moved_between_teams_reaches_both(team, other_team, team_manager, case):
    before = versions_of("caseload_case", team, other_team)
    services.case_move_team(
        case=case, to_team=other_team, on=days_ago(0), by=team_manager, reason="Reorganised"
    )
    after = versions_of("caseload_case", team, other_team)
    assert after[team.pk] > before[team.pk]
    assert after[other_team.pk] > before[other_team.pk]


def agreement(team: Team, by: Person) -> None:
    """DMT agrees the team may hold above its aspiration this quarter."""
    reports.decision_record(
        team=team,
        quarter=Quarter.containing(days_ago(0)),
        kind=DmtDecision.Kind.AGREED,
        reason="Two workers back from leave next month",
        actions="",
        review_by=days_ago(-60),
        meeting_on=days_ago(0),
        minute_reference="DMT/12/4",
        capacity_issue=None,
        by=by,
    )


@COMMITTED
def test_a_dmt_decision_reaches_its_own_team_only(team, other_team, dmt_member):
    before = versions_of("reports_dmtdecision", team, other_team)
    agreement(other_team, dmt_member)
    after = versions_of("reports_dmtdecision", team, other_team)
    assert after[other_team.pk] > before[other_team.pk]
    assert after[team.pk] == before[team.pk]


@COMMITTED
def test_a_persons_hours_reach_their_teams_and_their_name_every_team(
    team, other_team, social_worker, outsider, other_manager
):
    """Other teams' pages show a person by name only (as a team's manager, or
    as who recorded a decision): their hours, role and supervisor reach the
    teams they are in, a new name every team."""
    before = versions_of("caseload_person", team, other_team)
    social_worker.fte = Decimal("0.6")
    social_worker.save()
    hours = versions_of("caseload_person", team, other_team)
    assert hours[team.pk] > before[team.pk]
    assert hours[other_team.pk] == before[other_team.pk]

    Person.objects.filter(pk=outsider.pk).update(role=Person.Role.ASYE, supervisor=None)
    role = versions_of("caseload_person", team, other_team)
    assert role[team.pk] == hours[team.pk]
    assert role[other_team.pk] > hours[other_team.pk]

    positions = versions_of(changes.PEOPLE_BUT_NAMES, team, other_team)
    other_manager.full_name = "James Carter-Reid"  # he manages the other team, in neither
    other_manager.save()
    renamed = versions_of("caseload_person", team, other_team)
    assert renamed[team.pk] > role[team.pk]
    assert renamed[other_team.pk] > role[other_team.pk]
    # Each team's position on the overview shows no one's name: it stands.
    assert versions_of(changes.PEOPLE_BUT_NAMES, team, other_team) == positions


@COMMITTED
def test_one_teams_versions_are_the_same_read_alone_or_with_others(
    team, other_team, social_worker, outsider, team_manager, case
):
    services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(1), allocated_by=team_manager
    )
    Reduction.objects.create(
        person=outsider, reason="training", hours_per_week=Decimal(7), start_date=days_ago(3)
    )
    Team.objects.filter(pk=team.pk).update(aspiration=18)
    together = changes.versions([team.pk, other_team.pk])
    assert together.of("caseload_allocation", team.pk) != together.of(
        "caseload_allocation", other_team.pk
    )
    for t in (team, other_team):
        alone = changes.versions([t.pk])
        for table in together.tables:
            assert alone.of(table, t.pk) == together.of(table, t.pk), (table, t.name)
    assert changes.versions().tables == together.tables


@COMMITTED
def test_folded_notes_count_as_a_change_to_every_table_and_team(team, held_case):
    before = versions_of("caseload_allocation", team)[team.pk]
    unread = changes.versions().of("reports_escalation")
    changes.tidy_notes()
    assert versions_of("caseload_allocation", team)[team.pk] > before
    assert changes.versions().of("reports_escalation") > unread


@COMMITTED
def test_the_overview_works_out_again_only_the_teams_a_change_reaches(
    client, service, team, other_team, social_worker, outsider, team_manager, dmt_member, case,
    monkeypatch,
):  # fmt: skip
    worked_out: list[list[int]] = []
    histories: list[int] = []
    agendas: list[int] = []
    position, history = dashboards.current_position, presenters.overview_history
    agenda = presenters.overview_agenda

    def position_spy(service, day, team_ids=None):  # type: ignore[no-untyped-def]
        worked_out.append(sorted(team_ids or []))
        return position(service, day, team_ids)

    def history_spy(*args):  # type: ignore[no-untyped-def]
        histories.append(1)
        return history(*args)

    def agenda_spy(*args):  # type: ignore[no-untyped-def]
        agendas.append(1)
        return agenda(*args)

    monkeypatch.setattr(dashboards, "current_position", position_spy)
    monkeypatch.setattr(presenters, "overview_history", history_spy)
    monkeypatch.setattr(presenters, "overview_agenda", agenda_spy)
    client.force_login(dmt_member.user)
    overview(client, service)
    assert worked_out == [sorted([team.pk, other_team.pk])]

    services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(1), allocated_by=team_manager
    )
    allocated = overview(client, service)
    assert worked_out[-1] == [team.pk]  # the other team's position was kept
    assert len(histories) == 1  # and so were the quarter and the past
    changes.forget()
    assert overview(client, service) == allocated  # the page worked out afresh

    # A change to one person's records reaches their team.
    Reduction.objects.create(
        person=outsider, reason="training", hours_per_week=Decimal(7), start_date=days_ago(3)
    )
    overview(client, service)
    assert worked_out[-1] == [other_team.pk]
    read = len(histories), len(agendas)
    Person.objects.filter(pk=outsider.pk).update(fte=Decimal("0.8"))
    overview(client, service)
    assert worked_out[-1] == [other_team.pk]
    # The quarter reads no one; the agenda only the names of who recorded
    # decisions and raised issues.
    assert (len(histories), len(agendas)) == read
    positions = len(worked_out)
    Person.objects.filter(pk=dmt_member.pk).update(full_name="Dana Morris-Khan")
    overview(client, service)
    assert len(agendas) == read[1] + 1
    assert len(worked_out) == positions  # no team's position shows her name

    # A move between teams reaches the two teams, not a third.
    third = TeamFactory(service=service, name="Front Door")
    overview(client, service)
    assert worked_out[-1] == [third.pk]  # new: nothing kept for it yet
    services.membership_start(person=outsider, team=team, start_date=days_ago(0))
    overview(client, service)
    assert worked_out[-1] == sorted([team.pk, other_team.pk])

    # A change that names no team (the service's bands): every team again.
    Service.objects.filter(pk=service.pk).update(band_red_from=Decimal(120))
    overview(client, service)
    assert worked_out[-1] == sorted([team.pk, other_team.pk, third.pk])


@COMMITTED
def test_kept_pages_are_always_the_pages_worked_out_afresh(
    client, service, team, other_team, social_worker, outsider, team_manager, other_manager,
    dmt_member, case,
):  # fmt: skip
    """After each kind of change, the overview and each team's page served
    from what was kept are the pages worked out from nothing."""
    across = CaseFactory(team=other_team, reference="LA-2001", people_count=3)
    changes_made = {
        "an allocation": lambda: services.allocation_create(
            case=case, person=social_worker, start_date=days_ago(2), allocated_by=team_manager
        ),
        "a rating": lambda: weighting.rating_create(
            case=case,
            levels=levels(case, 3),
            rated_on=days_ago(0),
            rated_by=team_manager,
            status=Rating.Status.INTERIM,
        ),
        "a case of another team held, by import": lambda: Allocation.objects.create(
            case=across, person=social_worker, kind=Allocation.Kind.PRIMARY, start_date=days_ago(1)
        ),
        "that case rated": lambda: rating_by_sql(across, 9),
        "its children counted again, by SQL": lambda: Case.objects.filter(pk=across.pk).update(
            people_count=5
        ),
        "a worker moved to the other team": lambda: services.membership_start(
            person=outsider, team=team, start_date=days_ago(0)
        ),
        "an allocation ended, by SQL": lambda: Allocation.objects.filter(case=case).update(
            end_date=days_ago(0)
        ),
        "a case moved": lambda: services.case_move_team(
            case=across, to_team=team, on=days_ago(0), by=team_manager, reason="Reorganised"
        ),
        "an aspiration": lambda: Team.objects.filter(pk=other_team.pk).update(aspiration=4),
        "DMT agreeing the team may hold above it": lambda: agreement(other_team, dmt_member),
        "a supervision whose next is overdue": lambda: SupervisionRecord.objects.create(
            worker=social_worker,
            supervisor=team_manager,
            held_on=days_ago(40),
            next_supervision=days_ago(12),
        ),
        "all of a worker's hours protected": lambda: Reduction.objects.create(
            person=social_worker, reason="other", percentage=Decimal(100), start_date=days_ago(1)
        ),
        "a worker's hours, by SQL": lambda: Person.objects.filter(pk=outsider.pk).update(
            fte=Decimal("0.5")
        ),
        "a worker's role, by SQL": lambda: Person.objects.filter(pk=social_worker.pk).update(
            role=Person.Role.STUDENT
        ),
        "a manager's name, by SQL": lambda: Person.objects.filter(pk=other_manager.pk).update(
            full_name="James Carter-Reid"
        ),
        "a worker's name, by SQL": lambda: Person.objects.filter(pk=social_worker.pk).update(
            full_name="Asha Patel-Shah"
        ),
        "the name of who recorded a decision": lambda: Person.objects.filter(
            pk=dmt_member.pk
        ).update(full_name="Dana Morris-Khan"),
        "the service's name": lambda: Service.objects.filter(pk=service.pk).update(
            name="Children's Services"
        ),
    }
    client.force_login(dmt_member.user)
    managers = {}
    for their_team, manager in ((team, team_manager), (other_team, other_manager)):
        managers[their_team] = Client()
        managers[their_team].force_login(manager.user)

    def pages() -> list[str]:
        return [overview(client, service)] + [
            team_page(managed, their_team) for their_team, managed in managers.items()
        ]

    seen = pages()
    for what, change in changes_made.items():
        change()
        kept = pages()
        changes.forget()
        afresh = pages()
        assert kept == afresh, f"after {what}"
        assert afresh != seen, f"{what} changed nothing on the pages"
        seen = afresh


@COMMITTED
def test_a_change_to_a_case_locks_it_and_its_people_until_it_commits(held_case, social_worker):
    """Of two transactions that change the same case or person, the one that
    commits last names the teams of both: they cannot run side by side."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            rating_sql = (
                "INSERT INTO weighting_rating (rated_on, status, total, created_at, case_id, "
                "scheme_id) SELECT CURRENT_DATE, 'interim', 5, now(), %s, "
                "(SELECT id FROM weighting_scheme ORDER BY id LIMIT 1)"
            )
            cursor.execute(rating_sql, [held_case.pk])
            locks = (
                "SELECT 1 FROM caseload_case WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                "SELECT 1 FROM caseload_person WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            )
            for lock, pk in zip(locks, [held_case.pk, social_worker.pk], strict=True):
                with (
                    pytest.raises(OperationalError, match="could not obtain lock"),
                    transaction.atomic(),
                    connection.cursor() as mine,
                ):
                    mine.execute(lock, [pk])
            cursor.execute("ROLLBACK")
    finally:
        other.close()


@COMMITTED
def test_a_team_page_is_kept_while_changes_reach_only_other_teams(
    client, team, other_team, team_manager, social_worker, outsider, other_manager, monkeypatch
):
    worked_out: list[int] = []
    work_out = views._team_page

    def spy(team, today, manages):  # type: ignore[no-untyped-def]
        worked_out.append(team.pk)
        return work_out(team, today, manages)

    monkeypatch.setattr(views, "_team_page", spy)
    client.force_login(team_manager.user)
    first = team_page(client, team)
    theirs = CaseFactory(team=other_team, reference="LA-3001")
    services.allocation_create(
        case=theirs, person=outsider, start_date=days_ago(1), allocated_by=other_manager
    )
    rating_by_sql(theirs, 8)
    assert team_page(client, team) == first
    assert worked_out == [team.pk]  # kept through the other team's changes

    # A case of the other team held by one of ours: it is in our numbers.
    across = CaseFactory(team=other_team, reference="LA-3002")
    Allocation.objects.create(
        case=across, person=social_worker, kind=Allocation.Kind.PRIMARY, start_date=days_ago(1)
    )
    held = team_page(client, team)
    assert held != first
    rating_by_sql(across, 9)
    rated = team_page(client, team)
    assert len(worked_out) == 3
    changes.forget()
    assert rated == team_page(client, team) != held


# Kept in the database (ADR 0015) ------------------------------------------------------------


@pytest.fixture
def spied(monkeypatch):  # type: ignore[no-untyped-def]
    """What the overview and the team page work out: the teams whose
    positions, how many histories, which teams' pages."""
    seen: dict[str, list] = {"positions": [], "histories": [], "team pages": []}
    position, history, team_page_of = (
        dashboards.current_position,
        presenters.overview_history,
        views._team_page,
    )

    def position_spy(service, day, team_ids=None):  # type: ignore[no-untyped-def]
        seen["positions"].append(sorted(team_ids or []))
        return position(service, day, team_ids)

    def history_spy(*args):  # type: ignore[no-untyped-def]
        seen["histories"].append(1)
        return history(*args)

    def team_page_spy(team, today, manages):  # type: ignore[no-untyped-def]
        seen["team pages"].append(team.pk)
        return team_page_of(team, today, manages)

    monkeypatch.setattr(dashboards, "current_position", position_spy)
    monkeypatch.setattr(presenters, "overview_history", history_spy)
    monkeypatch.setattr(views, "_team_page", team_page_spy)
    return seen


@COMMITTED
def test_a_restarted_process_finds_the_parts_another_worked_out(
    client, service, team, other_team, social_worker, team_manager, dmt_member, case, spied
):
    client.force_login(dmt_member.user)
    manager = Client()
    manager.force_login(team_manager.user)
    first, first_team_page = overview(client, service), team_page(manager, team)
    cache.clear()  # what a restarted process, or another one, has in memory
    assert overview(client, service) == first
    assert team_page(manager, team) == first_team_page
    assert spied["positions"] == [sorted([team.pk, other_team.pk])]
    assert len(spied["histories"]) == 1
    assert spied["team pages"] == [team.pk]

    # A change that reaches one team: from the database, the other team's
    # position and the quarter still stand.
    services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(1), allocated_by=team_manager
    )
    cache.clear()
    allocated = overview(client, service)
    assert spied["positions"][-1] == [team.pk]
    assert len(spied["histories"]) == 1
    changes.forget()
    assert overview(client, service) == allocated  # the page worked out afresh


@COMMITTED
def test_a_part_kept_by_another_release_or_unreadable_is_worked_out_again(
    client, service, team, other_team, dmt_member, spied, monkeypatch
):
    client.force_login(dmt_member.user)
    first = overview(client, service)
    assert KeptPart.objects.count() == 4  # two teams' positions, the quarter, the agenda
    assert all(part.name.startswith(f"{changes.release()}:") for part in KeptPart.objects.all())

    KeptPart.objects.update(entry=b"not what was kept")
    cache.clear()
    assert overview(client, service) == first
    assert len(spied["positions"]) == len(spied["histories"]) == 2

    with monkeypatch.context() as patched:
        patched.setattr(changes, "release", lambda: "a-later-one")
        cache.clear()
        assert overview(client, service) == first
        assert len(spied["positions"]) == len(spied["histories"]) == 3
    assert KeptPart.objects.count() == 8  # each release's parts, until the daily jobs


@COMMITTED
def test_keeping_a_part_in_the_database_changes_no_version(client, service, team, dmt_member):
    before = changes.versions([team.pk])
    client.force_login(dmt_member.user)
    overview(client, service)
    assert KeptPart.objects.exists()
    assert changes.versions([team.pk]) == before


@COMMITTED
def test_the_daily_jobs_leave_the_days_first_overview_kept(
    client, service, team, other_team, dmt_member, spied
):
    client.force_login(dmt_member.user)
    overview(client, service)
    changes.tidy_notes()  # as the daily jobs do first: no part kept will stand again
    assert not KeptPart.objects.exists()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the warm-up runs here rather than on a worker
    try:
        tasks.daily.delay(days_ago(0).isoformat()).get()
    finally:
        app.conf.task_always_eager = eager
    worked_out = len(spied["positions"]), len(spied["histories"])
    assert worked_out == (2, 2)  # the first view, and the daily jobs' warm-up
    cache.clear()
    first_view = overview(client, service)
    assert (len(spied["positions"]), len(spied["histories"])) == worked_out
    changes.forget()
    assert overview(client, service) == first_view  # the page worked out afresh


@pytest.mark.redis
@COMMITTED
def test_the_minutes_job_works_out_again_what_a_change_to_every_team_threw_away(
    client, service, team, other_team, social_worker, dmt_member, spied
):
    client.force_login(dmt_member.user)
    before = overview(client, service)
    # The service's bands reach every team (ADR 0014): the change throws every
    # team's position away.
    Person.objects.filter(pk=social_worker.pk).update(fte=Decimal("0.5"))
    Service.objects.filter(pk=service.pk).update(band_red_from=Decimal(120))
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert result_of(tasks.keep_overviews) == 1  # one service looked at
        assert spied["positions"] == [sorted([team.pk, other_team.pk])] * 2  # the view, the job
        worked_out = len(spied["positions"]), len(spied["histories"])
        result_of(tasks.keep_overviews)  # nothing changed since: only checked
        assert (len(spied["positions"]), len(spied["histories"])) == worked_out
    cache.clear()  # a web process: what the worker kept is in the database
    first_view = overview(client, service)
    assert (len(spied["positions"]), len(spied["histories"])) == worked_out
    assert first_view != before  # the team's FTE, now 0.5
    changes.forget()
    assert overview(client, service) == first_view  # the page worked out afresh


@COMMITTED
def test_a_release_keeps_every_overview_before_the_first_view(
    client, service, team, other_team, dmt_member, spied, monkeypatch
):
    """The release step after `migrate`: the new release's parts are worked
    out there, so the DMT's first view of it finds them kept."""
    client.force_login(dmt_member.user)
    before = overview(client, service)
    monkeypatch.setattr(changes, "release", lambda: "the-next-one")
    cache.clear()
    output = io.StringIO()
    call_command("keep_overviews", stdout=output)
    assert "Kept the overviews of 1 service." in output.getvalue()
    assert KeptPart.objects.filter(name__startswith="the-next-one:").count() == 4
    worked_out = len(spied["positions"]), len(spied["histories"])
    assert worked_out == (2, 2)  # the first release's view, the release step
    cache.clear()  # a web process of the new release
    assert overview(client, service) == before
    assert (len(spied["positions"]), len(spied["histories"])) == worked_out


@COMMITTED
def test_folding_the_days_notes_keeps_every_version_and_every_kept_part(
    client, service, team, other_team, held_case, dmt_member, spied
):
    other_case = CaseFactory(team=other_team, reference="LA-2001")
    for _ in range(5):  # a day's changes, each committed on its own
        Allocation.objects.filter(case=held_case).update(reason=F("reason"))
        Case.objects.filter(pk=other_case.pk).update(label=F("label"))
    client.force_login(dmt_member.user)
    first = overview(client, service)
    teams = [team.pk, other_team.pk]
    before, worked_out = changes.versions(teams), (len(spied["positions"]), len(spied["histories"]))

    notes, folded = changes.fold_notes()
    assert folded < notes
    assert KeptPart.objects.count() == 4
    assert changes.versions(teams) == before
    cache.clear()  # memory too: the parts in the database still stand
    assert overview(client, service) == first
    assert (len(spied["positions"]), len(spied["histories"])) == worked_out
    assert changes.fold_notes() == (folded, folded)  # nothing new to fold

    # After the fold, a change still reaches its own team only.
    Case.objects.filter(pk=other_case.pk).update(label="Sibling group, moved")
    overview(client, service)
    assert spied["positions"][-1] == [other_team.pk]
