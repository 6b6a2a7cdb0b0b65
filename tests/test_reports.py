"""The scheduled analyses against the small team of `tests.scenarios`, whose
numbers are computed by hand: snapshots, the 12-week analysis, the
escalation date and the quarterly review."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management import execute_from_command_line as call_command_from_argv_
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from caseload import services
from caseload.models import Case, CaseTeamMove, Notification, Person, TeamMembership
from caseload.notifications import send_pending
from reports.models import (
    CaseloadAnalysis,
    CaseloadSnapshot,
    DailyRun,
    Escalation,
    QuarterlyReview,
    SnapshotRecompute,
)
from reports.services.analyses import analyse, analyses_due
from reports.services.daily import daily_jobs, day_due, day_missed
from reports.services.escalations import escalate, run_must_start_by
from reports.services.reviews import _case_teams_on, quarterly_review
from reports.services.snapshots import (
    CATCH_UP_DAYS,
    backfill_snapshots,
    catch_up_snapshots,
    fill_missing_snapshots,
    recompute_stale,
)
from supervision import services as supervision
from supervision.models import WorkloadConcern, WorkloadView
from tests.conftest import days_ago
from tests.factories import CaseFactory, PersonFactory, TeamFactory, member
from tests.queries import statements
from tests.scenarios import (
    END,
    JAN_5,
    QUARTER,
    START,
    TAKES_C3,
    WEEKS,
    D,
    build_small_team,
    date,
    hold,
    rate,
)


@pytest.fixture
def small_team(service, default_scheme, team, other_team, team_manager, dmt_member):
    return build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )


def loads(person, days):
    stored = dict(
        CaseloadSnapshot.objects.filter(person=person, day__in=days).values_list(
            "day", "weighted_load"
        )
    )
    return [stored[day] for day in days]


# Snapshots ---------------------------------------------------------------------------


def test_snapshots_hold_each_days_numbers(small_team):
    written = backfill_snapshots(START, END)
    # Asha, Ben, Ella (a student: stored, not case-holding) and Cara, 85 days each.
    assert written == 4 * 85
    assert loads(small_team["asha"], WEEKS) == [18, 18, 24, 24, 24, 24, 21, 21, 21, 21, 12, 12, 12]
    ben = CaseloadSnapshot.objects.get(person=small_team["ben"], day=END)
    assert (ben.case_count, ben.people_count, ben.weighted_load) == (3, 4, 21)
    assert (ben.capacity, ben.percent, ben.band) == (20, 105, "amber")
    assert ben.team.name == "Child Protection"
    ella = CaseloadSnapshot.objects.get(person=small_team["ella"], day=END)
    assert (ella.case_holding, ella.band) == (False, "")


def test_a_back_fill_run_twice_stores_nothing_new(small_team):
    backfill_snapshots(START, END)
    before = list(
        CaseloadSnapshot.objects.order_by("pk").values_list("pk", "person", "day", "weighted_load")
    )
    backfill_snapshots(START, END)
    after = list(
        CaseloadSnapshot.objects.order_by("pk").values_list("pk", "person", "day", "weighted_load")
    )
    assert after == before


def test_the_review_fills_in_exactly_the_missing_snapshots(small_team):
    backfill_snapshots(START, END)
    asha, ben, cara = small_team["asha"], small_team["ben"], small_team["cara"]
    assert fill_missing_snapshots(START, END) == 0  # nothing missing: nothing written
    # Ben left his team on 1 May (recorded late): his snapshots after it are
    # of days out of a team, and must not hide a day missing before it.
    left = date(2026, 5, 1)
    TeamMembership.objects.filter(person=ben).update(end_date=left)
    gone = {
        (asha, date(2026, 3, 10)),
        (asha, date(2026, 4, 20)),
        (ben, date(2026, 4, 2)),
        (cara, END),
    }
    for person, day in gone:
        CaseloadSnapshot.objects.filter(person=person, day=day).delete()

    assert fill_missing_snapshots(START, END) > 0

    for person, day in gone:
        assert CaseloadSnapshot.objects.filter(person=person, day=day).exists()
    assert loads(asha, [date(2026, 3, 9), date(2026, 3, 10)]) == [18, 18]
    assert fill_missing_snapshots(START, END) == 0
    # Only the days in a team are asked for: none for Ben from 1 May.
    assert fill_missing_snapshots(left, END, service_ids=[ben.service_id]) == 0


def test_a_back_dated_rating_marks_the_days_and_the_sweep_recomputes_them(
    small_team, default_scheme
):
    backfill_snapshots(START, END)
    SnapshotRecompute.objects.all().delete()
    rate(small_team["c1"], default_scheme, (1, 1, 1), date(2026, 5, 1))  # 9 becomes 3
    mark = SnapshotRecompute.objects.get()
    assert (mark.person, mark.from_day) == (small_team["asha"], date(2026, 5, 1))
    assert recompute_stale() > 0
    assert not SnapshotRecompute.objects.exists()
    asha = small_team["asha"]
    assert loads(asha, [date(2026, 4, 30), date(2026, 5, 1), END]) == [21, 15, 6]


def test_someone_put_in_a_team_back_dated_gets_their_past_days(small_team, team):
    backfill_snapshots(START, END)
    newcomer = PersonFactory(full_name="Dev Rao", service=team.service)
    services.membership_start(person=newcomer, team=team, start_date=date(2026, 5, 20))
    recompute_stale()
    days = set(CaseloadSnapshot.objects.filter(person=newcomer).values_list("day", flat=True))
    assert days == {date(2026, 5, 20) + datetime.timedelta(days=n) for n in range(6)}


def test_missed_days_are_caught_up_over_the_month_before(small_team):
    day = START + datetime.timedelta(days=14)
    backfill_snapshots(START, START + datetime.timedelta(days=9))
    catch_up_snapshots(day)
    stored = set(CaseloadSnapshot.objects.values_list("day", flat=True))
    assert stored == {day - datetime.timedelta(days=n) for n in range(CATCH_UP_DAYS + 1)}


def test_the_days_jobs_fill_a_day_missing_in_the_middle_of_their_window(small_team):
    """A back-fill chunk lost with its worker, or a day whose jobs never ran,
    leaves a gap before the last stored day: the next day's jobs fill it."""
    asha, ben = small_team["asha"], small_team["ben"]
    backfill_snapshots(END - datetime.timedelta(days=20), END - datetime.timedelta(days=1))
    gap = END - datetime.timedelta(days=10)
    CaseloadSnapshot.objects.filter(day=gap).delete()
    CaseloadSnapshot.objects.filter(person=ben, day=gap + datetime.timedelta(days=1)).delete()

    daily_jobs(END)

    assert CaseloadSnapshot.objects.filter(day=gap).count() == 4
    assert loads(asha, [gap, END]) == [12, 12]
    assert CaseloadSnapshot.objects.filter(
        person=ben, day=gap + datetime.timedelta(days=1)
    ).exists()


def test_the_day_whose_jobs_were_missed_is_handed_out_once(db):
    """The sweep of the day's jobs: the day due is today from 03:15 and
    yesterday before; a day whose jobs ended, or began a moment ago, is not
    missed; one begun longer ago than they may run, and not ended, is."""
    london = timezone.get_current_timezone()
    at = lambda day, hour, minute=0: datetime.datetime(2026, 12, day, hour, minute, tzinfo=london)  # noqa: E731
    limit = datetime.timedelta(minutes=5)
    assert day_due(at(7, 3, 14)) == datetime.date(2026, 12, 6)
    assert day_due(at(7, 3, 15)) == datetime.date(2026, 12, 7)

    assert day_missed(at(7, 4), running_for=limit) == datetime.date(2026, 12, 7)
    assert day_missed(at(7, 4, 1), running_for=limit) is None  # handed out at 04:00
    assert day_missed(at(7, 4, 6), running_for=limit) == datetime.date(2026, 12, 7)
    daily_jobs(datetime.date(2026, 12, 7))
    assert day_missed(at(7, 23), running_for=limit) is None
    run = DailyRun.objects.get(day=datetime.date(2026, 12, 7))
    assert run.started_at <= run.finished_at
    # Before 03:15 the next morning: yesterday's jobs, done.
    assert day_missed(at(8, 2), running_for=limit) is None


def test_filling_the_window_takes_the_same_queries_for_few_people_or_many(small_team, team):
    def queries() -> int:
        CaseloadSnapshot.objects.all().delete()
        backfill_snapshots(END - datetime.timedelta(days=20), END)
        CaseloadSnapshot.objects.filter(day=END - datetime.timedelta(days=10)).delete()
        with CaptureQueriesContext(connection) as captured:
            assert catch_up_snapshots(END) > 0
        return statements(captured)

    few = queries()
    for n in range(12):
        member(team, since=JAN_5, full_name=f"Worker {n}")
    assert queries() == few


# The 12-week analysis ------------------------------------------------------------------


def test_the_12_week_analysis_matches_the_hand_worked_numbers(small_team, team_manager):
    asha = small_team["asha"]
    assert analyse([asha.pk], END) == 1
    analysis = CaseloadAnalysis.objects.get(person=asha)
    assert (analysis.period_start, analysis.period_end) == (START, END)
    assert [D(w["load"]) for w in analysis.weeks] == [
        18,
        18,
        24,
        24,
        24,
        24,
        21,
        21,
        21,
        21,
        12,
        12,
        12,
    ]
    assert analysis.average_load == D("19.38")  # 252 / 13
    assert (analysis.peak_load, analysis.peak_percent) == (24, 120)
    assert analysis.peak_percent_display == "120.0%"
    assert analysis.weeks_over_maximum == 8
    assert (analysis.new_cases, analysis.closed_cases) == (1, 1)  # c3 came, c2 closed
    assert analysis.unrated_cases == 0
    assert analysis.stale_ratings == 1  # c1, last rated 5 January
    assert analysis.anticipated_overdue == 1  # c1, expected by 1 February
    assert analysis.views == [{"day": "2026-04-01", "view": WorkloadView.Scale(4).label}]
    told = set(Notification.objects.values_list("recipient__full_name", flat=True))
    assert told == {"Asha Patel", "Claire Hughes"}
    # Asha and her supervisor are each told by email once the sweep runs.
    assert send_pending() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [asha.user.email, team_manager.user.email]
    )
    assert {m.subject for m in mail.outbox} == {
        "The 12-week caseload analysis of Asha Patel is ready"
    }
    assert "to 25 May 2026 is ready for the next supervision" in mail.outbox[0].body


def test_the_analysis_is_stored_once(small_team):
    asha = small_team["asha"]
    analyse([asha.pk], END)
    assert analyse([asha.pk], END) == 0
    assert CaseloadAnalysis.objects.count() == 1
    assert Notification.objects.count() == 2


def test_the_sweep_finds_workers_84_days_after_their_last_analysis(small_team):
    # The three case-holding workers (not Ella, a student), by team.
    workers = [small_team[name].pk for name in ("asha", "ben", "cara")]
    due = analyses_due(END)
    assert sorted(due.values()) == [workers[:2], workers[2:]]
    analyse(workers, END)
    assert analyses_due(END + datetime.timedelta(days=83)) == {}
    later = analyses_due(END + datetime.timedelta(days=84))
    assert sorted(pk for ids in later.values() for pk in ids) == sorted(workers)


def test_the_next_supervision_opens_with_the_analysis(small_team, team_manager, client):
    asha = small_team["asha"]
    analyse([asha.pk], END)
    record = supervision.record_open(
        worker=asha, supervisor=team_manager, held_on=END + datetime.timedelta(days=3)
    )
    assert record.analysis_included
    assert record.analysis == CaseloadAnalysis.objects.get()
    client.force_login(team_manager.user)
    page = client.get(reverse("record_detail", args=[record.pk])).content.decode()
    assert "Weeks over the maximum" in page
    assert "8 of 13" in page
    assert "120.0%" in page


# Escalations ---------------------------------------------------------------------------


def test_the_escalation_comes_the_day_after_three_months_over(small_team, dmt_member):
    ben = small_team["ben"]
    # Over the maximum from 16 March: three months later is 16 June.
    assert escalate(date(2026, 6, 16)) == 0
    assert escalate(date(2026, 6, 17)) == 1
    escalation = Escalation.objects.get()
    assert (escalation.person, escalation.over_since, escalation.escalated_on) == (
        ben,
        TAKES_C3,
        date(2026, 6, 17),
    )
    assert escalation.service == ben.service
    # Asha was over from 16 March to 10 May only: not escalated.
    subjects = list(Notification.objects.values_list("recipient__full_name", "subject"))
    assert sorted(name for name, _ in subjects) == ["Claire Hughes", "Dana Morris"]
    assert all("more than three months" in subject for _, subject in subjects)


def test_an_escalation_is_recorded_and_notified_once(small_team):
    escalate(date(2026, 6, 17))
    assert escalate(date(2026, 6, 17)) == 0
    assert escalate(date(2026, 6, 18)) == 0
    assert Escalation.objects.count() == 1
    assert Notification.objects.count() == 2


def test_the_run_starts_three_months_before_at_month_ends():
    assert run_must_start_by(date(2026, 6, 17)) == date(2026, 3, 16)
    # 31 May: after S + 3 months for S up to 27 February (27 May), and for
    # 28 February (28 May); 29 to 31 March all give 29 to 31 May, not before.
    assert run_must_start_by(date(2026, 5, 31)) == date(2026, 2, 28)
    assert run_must_start_by(date(2026, 6, 1)) == date(2026, 2, 28)
    assert run_must_start_by(date(2026, 6, 2)) == date(2026, 3, 1)


def test_a_manager_assesses_and_a_senior_manager_resolves(
    small_team, team_manager, dmt_member, client
):
    escalate(date(2026, 6, 17))
    escalation = Escalation.objects.get()
    url = reverse("escalation_detail", args=[escalation.pk])
    client.force_login(team_manager.user)
    response = client.post(url, {"action": "assess", "work_ongoing": "yes", "assessment": ""})
    assert "Say what you and the worker assessed" in response.content.decode()
    client.post(
        url, {"action": "assess", "work_ongoing": "yes", "assessment": "Court work continues"}
    )
    assert client.post(url, {"action": "resolve", "outcome": "Done"}).status_code == 403
    escalation.refresh_from_db()
    assert (escalation.work_ongoing, escalation.assessed_by) == (True, team_manager)
    client.force_login(dmt_member.user)
    listing = client.get(reverse("escalation_list")).content.decode()
    assert "Ben Okafor" in listing
    assert "16 Mar 2026" in listing
    client.post(url, {"action": "resolve", "outcome": "Two cases moved to Cara"})
    escalation.refresh_from_db()
    assert escalation.status == "resolved"
    assert (escalation.outcome, escalation.resolved_by) == ("Two cases moved to Cara", dmt_member)
    assert "Two cases moved to Cara" in client.get(url).content.decode()


def test_who_sees_escalations(small_team, social_worker, other_dmt_member, client):
    escalate(date(2026, 6, 17))
    escalation = Escalation.objects.get()
    url = reverse("escalation_detail", args=[escalation.pk])
    client.force_login(social_worker.user)  # a colleague of Ben's
    assert "Ben Okafor" not in client.get(reverse("escalation_list")).content.decode()
    assert client.get(url).status_code == 404
    client.force_login(other_dmt_member.user)  # another service
    assert client.get(url).status_code == 404
    client.force_login(small_team["ben"].user)  # his own, to read
    page = client.get(url)
    assert page.status_code == 200
    assert "Record the assessment" not in page.content.decode()


# The quarterly review ------------------------------------------------------------------


@pytest.fixture
def quarter_end_state(small_team, team, other_team):
    """On 30 June: Ben escalated on 17 June, Asha's concern unanswered since
    1 June, a case waiting since 10 June."""
    escalate(date(2026, 6, 17))
    concern = supervision.concern_raise(person=small_team["asha"], concern="Too much court work")
    WorkloadConcern.objects.filter(pk=concern.pk).update(
        raised_at=timezone.make_aware(datetime.datetime(2026, 6, 1, 9, 0)),
        respond_by=date(2026, 6, 8),
    )
    CaseFactory(team=team, reference="W1", opened_on=date(2026, 6, 10))
    return small_team


def test_the_quarterly_review_matches_the_hand_worked_numbers(quarter_end_state):
    review = quarterly_review(quarter_end_state["asha"].service, QUARTER)
    assert (review.quarter_start, review.quarter_end, review.version) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
        1,
    )
    team, other = review.rows.order_by("team__name")  # Child Protection, Looked After
    # On 30 June: Asha 2 cases, 5 children, load 12; Ben 3, 4, 21; FTE 0.4.
    assert team.case_holding_fte == D("0.40")
    assert (team.cases, team.people, team.weighted_load) == (5, 9, 33)
    assert (team.cases_per_fte, team.people_per_fte, team.load_per_fte) == (
        D("12.5"),
        D("22.5"),
        D("82.5"),
    )
    assert team.needs_agreement  # 22.5 children per FTE is above the aspiration of 20
    # The daily mean: 40 days at 6 cases, 10 children (load 45 for 12 days,
    # 42 for 28), then 51 days at 5 cases, 9 children, load 33.
    assert team.mean_cases_per_fte == D("13.5989")  # 495 / 91 / 0.4
    assert team.mean_people_per_fte == D("23.5989")  # 859 / 91 / 0.4
    assert team.mean_load_per_fte == D("93.3791")  # 3399 / 91 / 0.4
    assert (team.unallocated, team.longest_wait_days) == (1, 20)
    assert (team.over_maximum, team.band_amber, team.band_blue) == (1, 1, 1)
    assert (team.open_escalations, team.open_concerns, team.overdue_concerns) == (1, 1, 1)
    assert (other.people_per_fte, other.needs_agreement) == (D("4"), False)
    # The service: 6 cases, 13 children, load 39 over 1.4 FTE.
    assert review.case_holding_fte == D("1.40")
    assert review.people_per_fte == D("9.2857")
    assert review.load_per_fte == D("27.8571")
    assert (review.unallocated, review.longest_wait_days, review.over_maximum) == (1, 20, 1)
    assert QUARTER.label == "Apr–Jun 2026 (Q1 2026/27)"


def test_a_reviewed_quarter_is_not_rewritten_by_later_changes(quarter_end_state, default_scheme):
    service = quarter_end_state["asha"].service
    first = quarterly_review(service, QUARTER)
    rate(quarter_end_state["c1"], default_scheme, (1, 1, 1), date(2026, 6, 1))
    recompute_stale()
    assert quarterly_review(service, QUARTER) == first
    first.refresh_from_db()
    assert first.rows.get(team__name="Child Protection").weighted_load == 33
    again = quarterly_review(service, QUARTER, rerun=True)
    assert again.version == 2
    assert again.rows.get(team__name="Child Protection").weighted_load == 27
    assert QuarterlyReview.objects.filter(service=service).count() == 2


def test_the_review_is_taken_on_the_first_day_of_the_next_quarter(quarter_end_state):
    done = daily_jobs(date(2026, 7, 1))
    assert done["reviews"] == 1
    assert QuarterlyReview.objects.filter(quarter_end=date(2026, 6, 30)).count() == 1
    assert daily_jobs(date(2026, 7, 2))["reviews"] == 0


# Query counts --------------------------------------------------------------------------


def _people(team, count):
    for n in range(count):
        worker = member(team, since=date(2026, 1, 1), full_name=f"Worker {n}")
        case = CaseFactory(team=team, reference=f"Q-{team.pk}-{n}", opened_on=JAN_5)
        hold(case, worker, JAN_5)


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries.captured_queries)


@pytest.mark.postgres  # SQLite splits bulk inserts into batches of its variable limit
@pytest.mark.parametrize(
    "job",
    [
        lambda: backfill_snapshots(START, START + datetime.timedelta(days=30)),
        lambda: analyse(
            list(Person.objects.filter(role="social_worker").values_list("pk", flat=True)), END
        ),
        lambda: quarterly_review(
            Person.objects.filter(role="social_worker").first().service, QUARTER, rerun=True
        ),
        lambda: escalate(END),
    ],
    ids=["back-fill a month", "analyses", "quarterly review", "escalations"],
)
def test_jobs_take_the_same_queries_for_3_and_30_people(
    job, service, default_scheme, team, other_team
):
    _people(team, 3)
    with mail.get_connection():
        small = _queries(job)
    CaseloadSnapshot.objects.all().delete()
    CaseloadAnalysis.objects.all().delete()
    _people(other_team, 27)
    assert _queries(job) <= small


@pytest.mark.parametrize("count", [3, 30])
def test_the_escalations_page_takes_the_same_queries_for_3_and_30(
    count, service, team, dmt_member, client, django_assert_max_num_queries
):
    for n in range(count):
        worker = member(team, since=date(2026, 1, 1), full_name=f"Worker {n}")
        Escalation.objects.create(
            person=worker, service=service, over_since=START, escalated_on=END
        )
    client.force_login(dmt_member.user)
    with django_assert_max_num_queries(11):
        page = client.get(reverse("escalation_list"))
    assert page.content.decode().count("Not assessed yet") == count


# Commands ------------------------------------------------------------------------------


def test_the_snapshots_command_back_fills_with_a_progress_bar(small_team):
    out = io.StringIO()
    call_command("snapshots", "--from", "2026-03-01", "--to", "2026-04-30", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[###############") and lines[0].endswith("31/61 days")
    assert lines[1] == "[" + "#" * 30 + "] 61/61 days"
    assert lines[2] == "Stored 244 snapshots for 61 day(s), 2026-03-01 to 2026-04-30."
    assert CaseloadSnapshot.objects.count() == 244


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--from", "2026-04-30", "--to", "2026-03-01"], "is before --from"),
        (["--to", "2026-03-01"], "Give --from with --to"),
        (["--service", "Nowhere"], "No service 'Nowhere'. The services are: Children's"),
    ],
)
def test_the_snapshots_command_refuses_bad_input_and_stores_nothing(small_team, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("snapshots", *arguments)
    assert not CaseloadSnapshot.objects.exists()


def call_command_from_argv(argv: list[str]) -> None:
    call_command_from_argv_(["manage.py", *argv])


def test_a_date_that_is_not_a_date_gets_a_clear_message(capsys):
    with pytest.raises(SystemExit):
        call_command_from_argv(["snapshots", "--day", "2026-13-01"])
    assert "'2026-13-01' is not a date: write it as 2026-07-31." in capsys.readouterr().err


def test_the_quarterly_review_command_keeps_a_review_unless_rerun(small_team):
    out = io.StringIO()
    call_command("quarterly_review", "--quarter", "Q1 2026/27", stdout=out)
    call_command("quarterly_review", "--quarter", "2026-05", stdout=out)
    call_command("quarterly_review", "--quarter", "Q1 2026/27", "--rerun", stdout=out)
    assert out.getvalue().splitlines() == [
        "Children's Social Care: Apr–Jun 2026 (Q1 2026/27), version 1 (taken).",
        "Children's Social Care: Apr–Jun 2026 (Q1 2026/27), version 1 (kept).",
        "Children's Social Care: Apr–Jun 2026 (Q1 2026/27), version 2 (taken).",
    ]
    with pytest.raises(CommandError, match="has not ended yet"):
        call_command("quarterly_review", "--quarter", timezone.localdate().strftime("%Y-%m"))


def test_the_jobs_commands_run_for_a_given_day(small_team):
    out = io.StringIO()
    call_command("escalations", "--day", "2026-06-17", stdout=out)
    call_command("analyses", "--day", "2026-05-25", stdout=out)
    call_command("run_due_jobs", "--day", "2026-07-01", stdout=out)
    escalated, analysed, jobs, reminded, paused, audit = out.getvalue().splitlines()
    assert escalated == "1 new escalation(s) on 2026-06-17."
    assert analysed == "3 caseload analyses to 2026-05-25."
    # Missed days caught up over the month before: 31 May to 1 July, 32 days of 4 people.
    assert jobs.startswith("Jobs for 2026-07-01: 128 snapshots, ")
    assert jobs.endswith(
        " 0 escalations, 0 analyses due, 1 quarterly reviews, 0 allocations of leavers "
        "ended, 0 emails about leavers, 0 records past their retention deleted or closed."
    )
    assert reminded == "0 emails reminding of protected time ending."
    assert paused == "0 emails about paused cases counting in full again."
    assert audit == "0 audit rows past the 6-year retention deleted."


def test_a_case_counts_in_the_team_it_was_in_on_the_day(service, team, other_team):
    """Moved after the day: the team its first later move took it from;
    moved before the day, or never: the team it is in now."""
    third = TeamFactory(service=service, name="Front Door")
    day = days_ago(30)
    stayed = CaseFactory(team=team, reference="M-1")
    moved_before = CaseFactory(team=other_team, reference="M-2")
    moved_twice_after = CaseFactory(team=third, reference="M-3")
    CaseTeamMove.objects.create(
        case=moved_before, from_team=team, to_team=other_team, moved_on=days_ago(40), reason="r"
    )
    CaseTeamMove.objects.create(
        case=moved_twice_after,
        from_team=team,
        to_team=other_team,
        moved_on=days_ago(20),
        reason="r",
    )
    CaseTeamMove.objects.create(
        case=moved_twice_after,
        from_team=other_team,
        to_team=third,
        moved_on=days_ago(10),
        reason="r",
    )
    cases = Case.objects.filter(pk__in=[stayed.pk, moved_before.pk, moved_twice_after.pk])
    teams = _case_teams_on(day, list(cases.values("pk", "team_id")), cases)
    assert teams == {
        stayed.pk: team.pk,
        moved_before.pk: other_team.pk,
        moved_twice_after.pk: team.pk,
    }
