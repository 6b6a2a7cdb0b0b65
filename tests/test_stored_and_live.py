"""Stored records and live figures, one rule: the days before today are the
stored daily figures (kept equal to the records by recomputing them after a
back-dated change), and today's figures are always computed live, also as
the last point of every trend."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from allocation import services
from caseload.dates import Quarter
from reports.models import (
    CaseloadAnalysis,
    CaseloadSnapshot,
    QuarterlyReview,
    SnapshotRecompute,
    TeamDay,
)
from reports.services.analyses import analyse
from reports.services.reviews import quarterly_review
from reports.services.snapshots import backfill_snapshots, recompute_stale
from tests.factories import CaseFactory, member
from tests.queries import statements
from tests.scenarios import rate
from weighting.numbers import caseload_series

D = Decimal
# A day mid-morning, the first of a month: the month's trend point is today's alone.
TODAY = datetime.date(2026, 6, 1)
NOW = datetime.datetime(2026, 6, 1, 10, 30, tzinfo=datetime.UTC)


def ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    text = response.content.decode("utf-8").removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def worker(team, default_scheme, team_manager):
    """A full-time social worker holding one case weighted 9 for 40 days,
    with the stored snapshots of every day to today (the daily job ran)."""
    person = member(team, since=ago(100), full_name="Asha Patel")
    case = CaseFactory(team=team, reference="C1", opened_on=ago(60), people_count=2)
    rate(case, default_scheme, (3, 3, 3), ago(40))
    services.allocation_create(case=case, person=person, start_date=ago(40), allocated_by=None)
    backfill_snapshots(ago(90), ago(0))
    SnapshotRecompute.objects.all().delete()
    return person


def allocate(team, person, on: datetime.date, reference: str = "C2"):
    """A new case (unrated: it counts the middle level, 6) held from `on`."""
    case = CaseFactory(team=team, reference=reference, opened_on=on, people_count=3)
    services.allocation_create(case=case, person=person, start_date=on, allocated_by=None)
    return case


def fresh(person_ids: list[int], days: list[datetime.date]) -> dict:
    """The numbers computed now from the records, as the snapshots store them."""
    series = caseload_series(person_ids, days)
    return {
        (pk, day): (n.case_count, n.people_count, D(n.weighted_load), n.capacity, n.band)
        for day in days
        for pk, n in series[day].items()
        if n.team_id is not None
    }


def stored(person_ids: list[int], days: list[datetime.date]) -> dict:
    return {
        (s.person_id, s.day): (
            s.case_count,
            s.people_count,
            s.weighted_load,
            s.capacity,
            s.band or None,
        )
        for s in CaseloadSnapshot.objects.filter(person_id__in=person_ids, day__in=days)
    }


def team_days_match_snapshots(days: list[datetime.date]) -> None:
    sums = {
        (row["team_id"], row["day"]): (row["load"], row["people"])
        for row in CaseloadSnapshot.objects.filter(day__in=days, case_holding=True)
        .values("team_id", "day")
        .annotate(load=Sum("weighted_load"), people=Sum("people_count"))
    }
    totals = {
        (t.team_id, t.day): (t.weighted_load, t.people)
        for t in TeamDay.objects.filter(day__in=days)
    }
    assert totals == sums


def days_from(first: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((ago(0) - first).days + 1)]


def same(a: dict, b: dict) -> bool:
    """Equal to the stored places (capacity has four, the load two)."""

    def fit(row):
        cases, people, load, capacity, band = row
        return (cases, people, D(load).quantize(D("0.01")), D(capacity).quantize(D("0.0001")),
                getattr(band, "value", band))  # fmt: skip

    return {k: fit(v) for k, v in a.items()} == {k: fit(v) for k, v in b.items()}


# Today is live, also as the last point of a trend ---------------------------------


def test_the_person_pages_today_and_its_trends_last_point_agree_after_a_change(
    client, worker, team, dmt_member
):
    allocate(team, worker, ago(0))  # after today's snapshot was stored: 9 + 6
    client.force_login(dmt_member.user)
    page = client.get(reverse("person_dashboard", args=[worker.pk])).content.decode()
    assert '<span class="app-card__number">15</span>' in page  # today, live
    trend = read_csv(
        client.get(reverse("person_download", args=[worker.pk, "person-trend", "csv"]))
    )
    assert (trend[-1]["Week ending"], D(trend[-1]["Weighted load"])) == (f"{ago(0):%-d %B %Y}", 15)
    assert D(trend[-2]["Weighted load"]) == 9  # a week ago, as stored
    assert "today’s is computed live" in page


def test_my_caseload_shows_the_same_twelve_weeks_as_the_person_page(
    client, worker, team, dmt_member
):
    """My caseload computes its weeks live; the person page reads the stored
    ones: after back-dated changes, recomputed, they are the same."""
    allocate(team, worker, ago(0))
    allocate(team, worker, ago(10), reference="C3")  # by the job
    allocate(team, worker, ago(3), reference="C4")  # in the same transaction
    recompute_stale()
    client.force_login(worker.user)
    mine = client.get(reverse("my_caseload")).content.decode()
    assert ">Week ending</th>" in mine and "Week of" not in mine  # one wording
    client.force_login(dmt_member.user)
    trend = read_csv(
        client.get(reverse("person_download", args=[worker.pk, "person-trend", "csv"]))
    )
    assert [D(row["Weighted load"]) for row in trend][-3:] == [9, 15, 27]
    for row in trend:
        cells = (
            f'<td class="govuk-table__cell">{row["Week ending"]}</td>\n'
            '              <td class="govuk-table__cell govuk-table__cell--numeric app-numeric">'
            f"{row['Cases']}</td>\n"
            '              <td class="govuk-table__cell govuk-table__cell--numeric app-numeric">'
            f"{D(row['Weighted load']).normalize():f}</td>"
        )
        assert cells in mine


@pytest.mark.parametrize("page", ["team", "service"])
def test_the_month_trends_point_for_today_is_todays_live_figure(
    client, team, default_scheme, team_manager, dmt_member, page
):
    with time_machine.travel(NOW, tick=False):
        person = member(team, since=ago(100), full_name="Asha Patel")
        case = CaseFactory(team=team, reference="C1", opened_on=ago(60), people_count=2)
        rate(case, default_scheme, (3, 3, 3), ago(40))
        services.allocation_create(case=case, person=person, start_date=ago(40), allocated_by=None)
        backfill_snapshots(ago(40), ago(0))
        allocate(team, person, ago(0))  # after today's totals were stored: 9 + 6
        if page == "team":
            client.force_login(team_manager.user)
            url = reverse("team_download", args=[team.pk, "month-trend", "csv"])
            summary = read_csv(
                client.get(reverse("team_download", args=[team.pk, "team-summary", "csv"]))
            )
            today = next(r for r in summary if r["Measure"] == "Weight per FTE")["Today"]
        else:
            client.force_login(dmt_member.user)
            url = reverse("service_download", args=[team.service_id, "month-trend", "csv"])
            teams = read_csv(
                client.get(
                    reverse("service_download", args=[team.service_id, "teams-today", "csv"])
                )
            )
            today = next(r for r in teams if r["Team"] == team.name)["Weight per FTE"]
        months = read_csv(client.get(url))
    june = next(r for r in months if r["Month"] == "June 2026")
    assert D(today) == 15
    assert (D(june["Weight per FTE, daily mean"]), june["Days recorded"]) == (15, "1")
    may = next(r for r in months if r["Month"] == "May 2026")
    assert D(may["Weight per FTE, daily mean"]) == 9  # the stored days


# A back-dated change recomputes the stored days it touches -------------------------


def test_a_change_back_dated_a_few_days_recomputes_them_in_the_same_transaction(
    worker, team, default_scheme
):
    allocate(team, worker, ago(5))
    rate(worker.allocations.get(case__reference="C1").case, default_scheme, (1, 1, 1), ago(3))
    days = days_from(ago(10))
    assert same(stored([worker.pk], days), fresh([worker.pk], days))
    assert stored([worker.pk], [ago(4)])[(worker.pk, ago(4))][2] == 15
    assert stored([worker.pk], [ago(3)])[(worker.pk, ago(3))][2] == 9  # 3 + 6
    team_days_match_snapshots(days)
    assert not SnapshotRecompute.objects.exists()  # nothing left for the job


def test_the_same_transaction_rolls_the_recompute_back_with_the_change(worker, team):
    before = stored([worker.pk], days_from(ago(10)))
    with pytest.raises(RuntimeError), transaction.atomic():
        allocate(team, worker, ago(5))
        raise RuntimeError("the request failed after the allocation")
    assert stored([worker.pk], days_from(ago(10))) == before


def test_a_change_dated_today_is_left_to_the_job(worker, team):
    """No page shows today's stored snapshot (today is live), so the change
    costs the request nothing more than its mark."""
    allocate(team, worker, ago(0))
    assert SnapshotRecompute.objects.get().from_day == ago(0)
    recompute_stale()
    assert same(stored([worker.pk], [ago(0)]), fresh([worker.pk], [ago(0)]))


def test_a_change_back_dated_further_is_recomputed_by_the_job(worker, team, default_scheme):
    allocate(team, worker, ago(35))
    mark = SnapshotRecompute.objects.get()
    assert (mark.person_id, mark.from_day) == (worker.pk, ago(35))
    days = days_from(ago(40))
    assert not same(stored([worker.pk], days), fresh([worker.pk], days))  # until the job runs
    assert recompute_stale() > 0
    assert same(stored([worker.pk], days), fresh([worker.pk], days))
    team_days_match_snapshots(days)
    assert not SnapshotRecompute.objects.exists()


def test_a_recompute_that_fails_leaves_its_marks_for_the_next_run(worker, team):
    """A worker killed mid-way, or a broker that never delivered the task:
    the marks are rows, deleted only with the recompute's own commit."""
    allocate(team, worker, ago(35))
    with pytest.raises(RuntimeError), transaction.atomic():
        recompute_stale()
        raise RuntimeError("the worker was killed")
    assert SnapshotRecompute.objects.count() == 1
    assert recompute_stale() > 0
    assert not SnapshotRecompute.objects.exists()


def test_the_recompute_runs_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["recompute-stale-snapshots"]
    assert (entry["task"], entry["schedule"]) == ("reports.recompute_stale_snapshots", 60.0)


def test_the_recompute_makes_the_same_queries_for_one_person_and_for_many(
    worker, team, default_scheme
):
    counts, made = [], []
    for people, back in ((1, 35), (6, 80)):
        for n in range(people):
            someone = member(team, since=ago(100), full_name=f"Worker {back}-{n}")
            backfill_snapshots(ago(90), ago(0), service_ids=[team.service_id])
            SnapshotRecompute.objects.all().delete()
            allocate(team, someone, ago(back - n), reference=f"R-{back}-{n}")
        with CaptureQueriesContext(connection) as queries:
            assert recompute_stale() > 0
        counts.append(statements(queries))
        made.append([query["sql"][:60] for query in queries])
    assert counts[0] == counts[1], made
    everyone = list(team.memberships.values_list("person_id", flat=True))
    assert same(stored(everyone, days_from(ago(90))), fresh(everyone, days_from(ago(90))))


def test_the_person_page_makes_the_same_queries_for_two_stored_weeks_and_for_twelve(
    client, team, default_scheme, dmt_member
):
    person = member(team, since=ago(100), full_name="Asha Patel")
    client.force_login(dmt_member.user)
    url = reverse("person_dashboard", args=[person.pk])
    counts = []
    for weeks in (2, 12):
        for n in range(3):
            allocate(team, person, ago(7 * weeks + n), reference=f"W-{weeks}-{n}")
        backfill_snapshots(ago(7 * weeks), ago(0))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# A stored past figure says when it was recorded ------------------------------------


def test_a_stored_review_and_analysis_say_the_day_they_were_recorded(
    client, worker, team, dmt_member, team_manager
):
    quarter = Quarter.containing(ago(0)).previous
    review = quarterly_review(team.service, quarter)
    QuarterlyReview.objects.filter(pk=review.pk).update(
        taken_at=datetime.datetime(2026, 10, 1, 3, 15, tzinfo=datetime.UTC)
    )
    client.force_login(dmt_member.user)
    overview = client.get(reverse("service_overview", args=[team.service_id])).content.decode()
    assert "Recorded on 1 October 2026." in overview
    client.force_login(team_manager.user)
    dashboard = client.get(reverse("team_dashboard", args=[team.pk])).content.decode()
    assert "Recorded on 1 October 2026." in dashboard
    analyse([worker.pk], ago(0), notify_people=False)
    analysis = CaseloadAnalysis.objects.get(person=worker)
    html = render_to_string("reports/_analysis.html", {"analysis": analysis})
    assert f"Recorded on {timezone.localdate():%-d %B %Y}:" in html
