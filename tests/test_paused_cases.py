"""Paused cases (issue 27), worked by hand from the default scheme (a
benchmark of 100; complexity, risk and travel, each 1–3).

Asha (1.0 FTE, factor 1) holds CP-1 rated 3, 3, 3 (9), CP-2 rated 1, 2, 1
(4) and CP-3, unrated (the middle, 6), two children each: 19 of 100. CP-1
awaiting closure (×0.5 for at most 8 weeks) counts 4.5: 14.5. CP-3 on hold
(×0.25 for at most 12 weeks) counts 6 × 0.25 = 1.5. Every case stays in
her case and children counts.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from caseload import notifications
from caseload.models import Allocation, Case
from caseload.services import RuleBroken
from exchange import exporter, importer
from exchange.reader import read
from reports.models import CaseloadSnapshot
from reports.services.daily import daily_jobs
from reports.services.snapshots import write_snapshots
from tests.conftest import days_ago
from tests.factories import CaseFactory, ServiceFactory
from tests.test_forecast import forecast
from tests.test_hours import hours_scheme
from tests.test_supervision import rate
from tests.test_what_if import holds
from weighting import reminders
from weighting import services as weighting
from weighting.forecast import forecast_days
from weighting.models import CasePause, PauseReason, PauseReminder
from weighting.numbers import caseload_numbers
from weighting.projection import case_weight, project_allocation
from weighting.totals import team_totals

D = Decimal
TODAY = timezone.localdate


def weeks(n: int) -> datetime.date:
    return TODAY() + datetime.timedelta(weeks=n)


def reason(service, name: str) -> PauseReason:
    return service.pause_reasons.get(name=name)


def pause(case: Case, name: str, start: datetime.date, by=None) -> CasePause:
    return weighting.case_pause(
        case=case, reason=reason(case.service, name), start_date=start, by=by
    )


def date_fields(name: str, day: datetime.date) -> dict:
    return {f"{name}_0": day.day, f"{name}_1": day.month, f"{name}_2": day.year}


def numbers(person, day=None):
    return caseload_numbers([person], day or TODAY())[person.pk]


@pytest.fixture
def asha(team, social_worker, default_scheme):
    holds(social_worker, team, "CP-1", default_scheme, (3, 3, 3))
    holds(social_worker, team, "CP-2", default_scheme, (1, 2, 1))
    holds(social_worker, team, "CP-3")
    return social_worker


def cp(n: int) -> Case:
    return Case.objects.get(reference=f"CP-{n}")


# The list of reasons ------------------------------------------------------------


def test_a_new_service_starts_with_three_reasons(service):
    assert [
        (r.name, r.factor, r.maximum_weeks) for r in service.pause_reasons.order_by("name")
    ] == [
        ("Awaiting closure", D("0.5"), 8),
        ("Child in hospital", D("0.5"), 12),
        ("On hold", D("0.25"), 12),
    ]
    assert reason(service, "On hold").summary == "Counts at ×0.25 for at most 12 weeks"
    assert weighting.pause_reasons_create_default(service=service) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "ON HOLD", "factor": D("0.5"), "maximum_weeks": 4},  # once per service
        {"name": "Respite", "factor": D("0"), "maximum_weeks": 4},  # would hide the work
        {"name": "Respite", "factor": D("1"), "maximum_weeks": 4},  # would pause nothing
        {"name": "Respite", "factor": D("1.5"), "maximum_weeks": 4},
        {"name": "Respite", "factor": D("0.5"), "maximum_weeks": 0},
        {"name": "Respite", "factor": D("0.5"), "maximum_weeks": 105},
    ],
)
def test_the_database_refuses_a_reason_that_breaks_a_rule(service, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        PauseReason.objects.create(service=service, **fields)


def test_an_administrator_keeps_the_list_in_the_admin(client, administrator, service):
    client.force_login(administrator.user)
    listing = client.get(reverse("admin:weighting_pausereason_changelist"))
    assert listing.status_code == 200
    assert "Awaiting closure" in listing.content.decode()
    added = client.post(
        reverse("admin:weighting_pausereason_add"),
        {"service": service.pk, "name": "Respite", "factor": "0.75", "maximum_weeks": "4",
         "active": "on"},
    )  # fmt: skip
    assert added.status_code == 302
    assert reason(service, "Respite").factor == D("0.75")
    refused = client.post(
        reverse("admin:weighting_pausereason_add"),
        {"service": service.pk, "name": "Nothing", "factor": "1", "maximum_weeks": "4"},
    )
    assert "The weight factor is more than 0 and less than 1." in refused.content.decode()
    delete = reverse("admin:weighting_pausereason_delete", args=[reason(service, "On hold").pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


def test_no_other_role_reaches_the_list(client, team_manager, social_worker, dmt_member):
    for person in (team_manager, social_worker, dmt_member):
        client.force_login(person.user)
        response = client.get(reverse("admin:weighting_pausereason_changelist"))
        assert response.status_code == 302  # to the admin's sign-in: not staff


# The numbers -----------------------------------------------------------------------


def test_a_rated_case_paused_at_half_counts_half_its_weight_and_is_still_counted(asha):
    """CP-1 awaiting closure from 10 days ago: 4.5 + 4 + 6 = 14.5; before the
    pause, 19. Three cases and six children either way."""
    pause(cp(1), "Awaiting closure", days_ago(10))
    now, before = numbers(asha), numbers(asha, days_ago(11))
    assert (now.case_count, now.people_count, now.weighted_load) == (3, 6, D("14.5"))
    assert (now.paused_count, now.unrated_count, now.percent_display) == (1, 1, "14.5%")
    assert (before.case_count, before.weighted_load, before.paused_count) == (3, D(19), 0)


def test_after_its_longest_length_a_paused_case_counts_in_full(asha):
    """Paused 60 days ago for at most 8 weeks (56 days): half until 4 days
    ago, in full from then, though nobody ended the pause."""
    paused = pause(cp(1), "Awaiting closure", days_ago(60))
    assert paused.full_from == days_ago(4)
    assert numbers(asha, days_ago(5)).weighted_load == D("14.5")
    assert numbers(asha, days_ago(4)).weighted_load == D(19)
    assert numbers(asha).paused_count == 0


def test_an_unrated_paused_case_counts_the_middle_times_its_factor(asha):
    """CP-3 on hold: 9 + 4 + 6 × 0.25 = 14.5; still one unrated case."""
    pause(cp(3), "On hold", days_ago(3))
    now = numbers(asha)
    assert (now.weighted_load, now.unrated_count, now.case_count) == (D("14.5"), 1, 3)


def test_an_ended_pause_counts_in_full_from_its_end(asha, team_manager):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    weighting.case_unpause(pause=paused, end_date=days_ago(2), by=team_manager)
    assert numbers(asha, days_ago(3)).weighted_load == D("14.5")
    assert numbers(asha, days_ago(2)).weighted_load == D(19)
    # A new pause may start on the day the last one ended.
    again = pause(cp(1), "Child in hospital", days_ago(2))
    assert numbers(asha).weighted_load == D("14.5")
    assert again.full_from == days_ago(2) + datetime.timedelta(weeks=12)


def test_a_later_change_to_the_reason_does_not_rewrite_the_numbers(asha, service):
    pause(cp(1), "Awaiting closure", days_ago(10))
    PauseReason.objects.filter(service=service, name="Awaiting closure").update(
        factor=D("0.1"), maximum_weeks=1
    )
    assert numbers(asha).weighted_load == D("14.5")


def test_team_totals_and_stored_snapshots_count_the_factor(asha):
    """Two paused cases: 4.5 + 4 + 1.5 = 10."""
    pause(cp(1), "Awaiting closure", days_ago(10))
    pause(cp(3), "On hold", days_ago(10))
    today = numbers(asha)
    totals = team_totals([today])[today.team_id]
    assert (totals.cases, totals.people, totals.weighted_load) == (3, 6, D(10))
    write_snapshots([asha.pk], [TODAY()])
    stored = CaseloadSnapshot.objects.get(person=asha, day=TODAY())
    assert (stored.case_count, stored.weighted_load, stored.unrated_count) == (3, D(10), 1)


def test_an_hours_scheme_multiplies_the_same_way(team, team_manager, social_worker):
    """The hours example (tests/test_hours.py): 40 + 35 + 30 = 105 hours of
    130. CP-1 (40 hours) awaiting closure counts 20: 85 of 130, 65.4%."""
    scheme = hours_scheme(team, team_manager)
    holds(social_worker, team, "CP-1", scheme, (30, 10))
    holds(social_worker, team, "CP-2", scheme, (30, 5))
    holds(social_worker, team, "CP-3", scheme, (20, 10))
    pause(cp(1), "Awaiting closure", days_ago(1))
    now = numbers(social_worker)
    assert (now.weighted_load_display, now.percent_display) == ("85 hours", "65.4%")


def test_a_factor_of_a_third_is_exact_on_every_database(asha, service):
    """9 × 0.33 = 2.97: 2.97 + 4 + 6 = 12.97, not a float's 12.969999…"""
    PauseReason.objects.create(service=service, name="Respite", factor=D("0.33"), maximum_weeks=4)
    pause(cp(1), "Respite", days_ago(1))
    assert numbers(asha).weighted_load == D("12.97")


# The forecast and the what-if --------------------------------------------------------


def test_the_forecast_counts_a_pause_until_the_day_it_counts_in_full(team, asha):
    """CP-1 paused 5 weeks ago for at most 8: the forecast counts 14.5 for
    the next 3 weeks and 19 from week 3, its counts-in-full day."""
    paused = pause(cp(1), "Awaiting closure", TODAY() - datetime.timedelta(weeks=5))
    assert paused.full_from == weeks(3)
    points, result = forecast(team, [asha])
    assert result.days[:5] == forecast_days(TODAY())[:5]
    assert [p.weighted_load for p in points["Asha Patel"][:5]] == [
        D("14.5"), D("14.5"), D("14.5"), D(19), D(19),
    ]  # fmt: skip


def test_a_what_if_weighs_a_paused_case_s_draft_weight_by_its_factor(
    client, team, team_manager, asha
):
    """A draft adding court work 0–2 (middle 1), benchmark 25: CP-1 is 10 in
    the draft, paused at 0.5: 5; CP-2 5; CP-3 unrated 2 + 2 + 2 + 1 = 7. 17
    of 25 (68%); agreed, 14.5 of 100."""
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    specs = weighting.criteria_of(draft)
    specs.append(
        weighting.CriterionSpec("Court work", "", [(D(0), "None"), (D(1), "Some"), (D(2), "Most")])
    )
    weighting.scheme_update_draft(scheme=draft, name=draft.name, benchmark=D(25), criteria=specs)
    pause(cp(1), "Awaiting closure", days_ago(10))
    client.force_login(team_manager.user)
    response = client.get(reverse("scheme_what_if", args=[draft.pk]))
    row = next(r for r in response.context["page"].tables["people"].rows if r[0] == "Asha Patel")
    assert (row[2], row[3], row[6], row[8]) == (D("14.5"), D(17), D("14.5"), D("68.0"))


# Pausing and unpausing on the case's page ---------------------------------------------


def test_the_manager_pauses_a_case_and_everyone_who_sees_it_sees_the_tag(
    client, team, team_manager, asha
):
    client.force_login(team_manager.user)
    page = client.get(reverse("case_pause", args=[cp(1).pk]))
    text = page.content.decode()
    assert "Awaiting closure" in text and "Counts at ×0.5 for at most 8 weeks" in text
    chosen = reason(team.service, "Awaiting closure")
    response = client.post(
        reverse("case_pause", args=[cp(1).pk]),
        {"reason": chosen.pk, **date_fields("start_date", days_ago(7))},
        follow=True,
    )
    full_from = days_ago(7) + datetime.timedelta(weeks=8)
    until = f"{full_from.day} {full_from:%B %Y}"
    tag = f"Paused: Awaiting closure (×0.5 until {until})"
    # The case's page: a short tag, and the factor and dates in a sentence.
    on_case_page = ("Paused: Awaiting closure</strong>", f"counts at ×0.5 until {until}")
    text = response.content.decode()
    assert "is paused from" in text
    assert all(part in text for part in on_case_page)
    paused = cp(1).pauses.get()
    assert (paused.factor, paused.full_from, paused.paused_by) == (
        D("0.5"),
        full_from,
        team_manager,
    )
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "1 paused" in team_page
    # The worker sees the tag on their caseload and the case's page, and no way to pause it.
    client.force_login(asha.user)
    assert tag in client.get(reverse("my_caseload")).content.decode()
    own = client.get(reverse("case_detail", args=[cp(1).pk])).content.decode()
    assert all(part in own for part in on_case_page)
    assert reverse("case_unpause", args=[cp(1).pk]) not in own


def test_the_manager_ends_the_pause(client, team_manager, asha):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    client.force_login(team_manager.user)
    response = client.post(
        reverse("case_unpause", args=[cp(1).pk]), date_fields("end_date", days_ago(1))
    )
    assert response.status_code == 302
    paused.refresh_from_db()
    assert (paused.end_date, paused.ended_by) == (days_ago(1), team_manager)
    assert numbers(asha).weighted_load == D(19)


@pytest.mark.parametrize(
    ("chosen", "start", "message"),
    [
        ("", 0, "Choose the reason the case is paused"),
        ("of another service", 0, "Choose one of the reasons listed"),
        ("On hold", 1, "Date the pause starts must be today or in the past"),
        ("On hold", -200, "a pause cannot start before that"),  # the case opened 90 days ago
    ],
)
def test_a_bad_pause_is_refused_with_a_clear_message(
    client, team, team_manager, asha, chosen, start, message
):
    other = ServiceFactory(name="Adult Social Care")
    reasons = {
        "": "",
        "of another service": reason(other, "On hold").pk,
        "On hold": reason(team.service, "On hold").pk,
    }
    client.force_login(team_manager.user)
    response = client.post(
        reverse("case_pause", args=[cp(1).pk]),
        {
            "reason": reasons[chosen],
            **date_fields("start_date", TODAY() + datetime.timedelta(days=start)),
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CasePause.objects.exists()


def test_a_reason_of_another_service_or_no_longer_offered_is_not_taken(team, asha):
    other = ServiceFactory(name="Adult Social Care")
    with pytest.raises(RuleBroken, match="is a reason of Adult Social Care"):
        weighting.case_pause(
            case=cp(1), reason=reason(other, "On hold"), start_date=TODAY(), by=None
        )
    PauseReason.objects.filter(service=team.service, name="On hold").update(active=False)
    with pytest.raises(RuleBroken, match="no longer offered"):
        pause(cp(1), "On hold", TODAY())
    assert not CasePause.objects.exists()


@pytest.mark.parametrize(
    ("end", "message"),
    [
        (-11, "must be on or after the day the pause started"),
        (1, "must be today or in the past"),
    ],
)
def test_a_bad_end_is_refused_with_a_clear_message(client, team_manager, asha, end, message):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    client.force_login(team_manager.user)
    response = client.post(
        reverse("case_unpause", args=[cp(1).pk]),
        date_fields("end_date", TODAY() + datetime.timedelta(days=end)),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    paused.refresh_from_db()
    assert paused.end_date is None


def test_one_pause_at_a_time(asha, team_manager):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    with pytest.raises(RuleBroken, match="already paused"):
        pause(cp(1), "On hold", days_ago(1))
    with pytest.raises(IntegrityError), transaction.atomic():
        CasePause.objects.create(
            case=cp(1), reason=paused.reason, factor=D("0.5"), start_date=days_ago(1),
            full_from=weeks(4),
        )  # fmt: skip
    weighting.case_unpause(pause=paused, end_date=days_ago(5), by=team_manager)
    with pytest.raises(RuleBroken, match="was paused until"):
        pause(cp(1), "On hold", days_ago(6))
    with pytest.raises(IntegrityError), transaction.atomic():
        CasePause.objects.create(
            case=cp(1), reason=paused.reason, factor=D("0.5"), start_date=days_ago(4),
            full_from=days_ago(5), end_date=days_ago(3),
        )  # fmt: skip


@pytest.mark.skipif(connection.vendor != "postgresql", reason="an exclusion constraint")
def test_on_postgresql_no_two_pauses_of_a_case_overlap(asha, team_manager):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    weighting.case_unpause(pause=paused, end_date=days_ago(5), by=team_manager)
    with pytest.raises(IntegrityError), transaction.atomic():
        CasePause.objects.create(
            case=cp(1), reason=paused.reason, factor=D("0.5"), start_date=days_ago(7),
            full_from=weeks(4),
        )  # fmt: skip


@pytest.mark.parametrize("url", ["case_pause", "case_unpause"])
def test_only_the_case_s_managers_pause_it(
    client, asha, colleague, outsider, other_manager, dmt_member, url
):
    paused_case = cp(2)
    pause(cp(2), "Awaiting closure", days_ago(3))
    chosen = reason(paused_case.service, "On hold")
    for person in (asha, colleague, outsider, other_manager, dmt_member):
        client.force_login(person.user)
        target = reverse(url, args=[paused_case.pk])
        assert client.get(target).status_code == 404
        data = {"reason": chosen.pk, **date_fields("start_date", TODAY())}
        assert client.post(target, {**data, **date_fields("end_date", TODAY())}).status_code == 404
    assert CasePause.objects.get().end_date is None


# The manager is told when a pause reaches its longest length ------------------------


def sent() -> list[tuple[list[str], str, str]]:
    notifications.send_pending()
    return [(message.to, message.subject, message.body) for message in mail.outbox]


def test_the_manager_is_told_once_when_the_pause_reaches_its_longest_length(asha):
    paused = pause(cp(1), "Awaiting closure", days_ago(60))
    assert reminders.remind_pauses_at_maximum(days_ago(5)) == 0  # not yet
    assert reminders.remind_pauses_at_maximum() == 1
    assert reminders.remind_pauses_at_maximum() == 0  # run twice, told once
    ((to, subject, body),) = [email for email in sent() if "counts in full" in email[1]]
    assert to == ["manager@example.org"]
    assert subject == f"Case CP-1 counts in full again from {paused.full_from.day} " + (
        f"{paused.full_from:%B %Y}"
    )
    assert reverse("case_detail", args=[cp(1).pk]) in body
    assert PauseReminder.objects.get().pause == paused


def test_the_daily_jobs_tell_the_manager_and_not_of_an_ended_pause(asha, team_manager):
    pause(cp(1), "Awaiting closure", days_ago(60))
    ended = pause(cp(2), "Awaiting closure", days_ago(70))
    weighting.case_unpause(pause=ended, end_date=days_ago(20), by=team_manager)
    assert daily_jobs(TODAY())["pause_emails"] == 1
    assert daily_jobs(TODAY())["pause_emails"] == 0
    assert list(PauseReminder.objects.values_list("pause__case__reference", flat=True)) == ["CP-1"]


@pytest.mark.parametrize("count", [2, 20])
def test_the_reminders_take_the_same_queries_for_2_and_20_pauses(
    team, social_worker, count, django_assert_max_num_queries
):
    for n in range(count):
        case = CaseFactory(team=team, reference=f"CP-{n}")
        pause(case, "Awaiting closure", days_ago(60))
    # The pauses due (locked), their teams' managers, the reminders, the emails.
    with django_assert_max_num_queries(6):
        assert reminders.remind_pauses_at_maximum() == count


# Query counts ----------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 30])
def test_pages_and_numbers_take_the_same_queries_with_3_or_30_paused_cases(
    client, team, team_manager, social_worker, default_scheme, count, django_assert_max_num_queries
):
    # Set up in bulk (past the maximum), as only the reads are tested.
    cases = CaseFactory.create_batch(count, team=team)
    Allocation.objects.bulk_create(
        Allocation(case=case, person=social_worker, start_date=days_ago(30)) for case in cases
    )
    for n, case in enumerate(cases):
        if n % 2:
            rate(case, default_scheme, (2, 2, 2))
        pause(case, "On hold", days_ago(5))
    with django_assert_max_num_queries(4):
        assert numbers(social_worker).weighted_load == D("1.5") * count
    client.force_login(social_worker.user)
    with django_assert_max_num_queries(15):  # as tests/test_pages.py counts it
        assert client.get(reverse("my_caseload")).status_code == 200
    client.force_login(team_manager.user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("team_detail", args=[team.pk])).status_code == 200


def test_allocating_a_paused_case_counts_it_at_its_factor(team, asha, colleague):
    """CP-1 (9) paused at 0.5 moves to Daniel: he is shown, and takes, 4.5."""
    pause(cp(1), "Awaiting closure", days_ago(10))
    assert case_weight(cp(1), TODAY()) == (D("4.5"), True)
    projection = project_allocation(cp(1), [colleague], TODAY())[colleague.pk]
    assert (projection.before.weighted_load, projection.after.weighted_load) == (0, D("4.5"))


# The full export and the import ------------------------------------------------------


def _import(content: bytes, name: str = "caseload.xlsx"):
    return importer.run(read(name, content, max_rows=10_000), dry_run=False)


def test_the_export_carries_each_pause_and_imports_back_as_it_was(asha, service):
    """The factor and the day it counts in full are exported as fixed when
    the case was paused, and imported so even after the reason changed."""
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    sheets = exporter.collect()
    headings, rows = sheets["case_pauses"]
    assert headings == [
        "service", "reference", "reason", "factor", "start_date", "counts_in_full_from",
        "end_date",
    ]  # fmt: skip
    assert rows == [
        [service.name, "CP-1", "Awaiting closure", D("0.5"), days_ago(10), paused.full_from, None]
    ]
    content = exporter.as_xlsx(sheets)
    again = _import(content)
    assert again.errors == []
    assert again.counts["case_pauses"]["unchanged"] == 1
    PauseReason.objects.filter(name="Awaiting closure").update(factor=D("0.25"), maximum_weeks=2)
    CasePause.objects.all().delete()
    restored = _import(content)
    assert (restored.errors, restored.counts["case_pauses"]["created"]) == ([], 1)
    back = CasePause.objects.get()
    assert (back.factor, back.start_date, back.full_from) == (
        D("0.5"), days_ago(10), paused.full_from,
    )  # fmt: skip
    assert numbers(asha).weighted_load == D("14.5")


def test_an_imported_end_ends_the_pause(asha, service):
    paused = pause(cp(1), "Awaiting closure", days_ago(10))
    sheets = exporter.collect()
    sheets["case_pauses"][1][0][-1] = days_ago(3)
    outcome = _import(exporter.as_xlsx(sheets))
    assert (outcome.errors, outcome.counts["case_pauses"]["updated"]) == ([], 1)
    paused.refresh_from_db()
    assert paused.end_date == days_ago(3)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["Respite", "", -5, "", ""], "'Respite' is not a reason for pausing a case"),
        (["On hold", "1", -5, "", ""], "the factor must be more than 0 and less than 1"),
        (["On hold", "", -5, -6, ""], "the case must count in full again after the pause"),
        (["On hold", "", -5, "", -6], "the end date is before the start date"),
        (["On hold", "", 3, "", ""], "the start date is in the future"),
        (["On hold", "", -2, "", ""], "case CP-1 is paused at the same time"),
    ],
)
def test_a_bad_pause_row_is_refused_and_nothing_is_imported(asha, service, row, message):
    pause(cp(1), "Awaiting closure", days_ago(10))
    sheets = exporter.collect()

    def day(n):
        return "" if n == "" else TODAY() + datetime.timedelta(days=n)

    name, factor, start, full_from, end = row
    sheets["case_pauses"][1].append(
        [service.name, "CP-1", name, factor, day(start), day(full_from), day(end)]
    )
    outcome = _import(exporter.as_xlsx(sheets))
    assert any(message.lower() in text.lower() for _, _, text in outcome.errors), outcome.errors
    assert not outcome.applied
    assert CasePause.objects.count() == 1
