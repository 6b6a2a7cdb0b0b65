"""Before and in supervision: the worker's caseload, their proposals and view
of their workload, concerns, and the supervision record to both signatures."""

import datetime
import io
import re
from decimal import Decimal

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from caseload.dates import long_date
from caseload.models import Person
from reports.services.analyses import analyse
from supervision import services
from supervision.access import concerns_visible_to, workload_views_visible_to
from supervision.forms import next_supervision_label
from supervision.models import (
    RatingProposal,
    SupervisionCaseItem,
    SupervisionRecord,
    WorkloadConcern,
    WorkloadView,
)
from tests.conftest import days_ago
from tests.factories import CaseFactory, member
from tests.pdfs import structure
from weighting import services as weighting
from weighting.models import ExperienceFactor, Rating
from weighting.numbers import caseload_numbers

D = Decimal
TODAY = timezone.localdate


def ids(scheme):
    return {c.name: c.pk for c in scheme.criteria.all()}


def rate(case, scheme, levels=(2, 2, 2), on=None, **extra):
    names = ids(scheme)
    return weighting.rating_create(
        case=case,
        levels=dict(zip(names.values(), map(D, levels), strict=True)),
        rated_on=on or days_ago(10),
        rated_by=None,
        status="interim",
        **extra,
    )


@pytest.fixture
def asha_cases(team, social_worker, default_scheme):
    """Asha holds two rated cases and one unrated."""
    cases = [
        CaseFactory(team=team, reference="CP-1042", label="Sibling group"),
        CaseFactory(team=team, reference="CP-1043", label="Pre-birth"),
        CaseFactory(team=team, reference="CP-1044", label="New referral"),
    ]
    for case in cases:
        allocation_services.allocation_create(
            case=case, person=social_worker, start_date=days_ago(40), allocated_by=None
        )
    rate(cases[0], default_scheme, (3, 3, 1), on=days_ago(30))
    rate(
        cases[1],
        default_scheme,
        (2, 2, 2),
        on=days_ago(20),
        anticipated_levels={pk: D(1) for pk in ids(default_scheme).values()},
        anticipated_by=days_ago(2),
    )
    return cases


def signed_in(client, person):
    client.force_login(person.user)
    return client


def date_fields(prefix, day):
    return {f"{prefix}_0": day.day, f"{prefix}_1": day.month, f"{prefix}_2": day.year}


# My caseload -----------------------------------------------------------------


def test_my_caseload_shows_each_case_with_its_levels_and_anticipated_rating(
    client, social_worker, asha_cases
):
    response = signed_in(client, social_worker).get(reverse("my_caseload"))
    rows = {row.reference: row for row in response.context["rows"]}
    assert set(rows) == {"CP-1042", "CP-1043", "CP-1044"}
    first = rows["CP-1042"]
    assert first.levels == [3, 3, 1]
    assert first.rating.total == 7
    assert rows["CP-1043"].anticipated_due  # its date has passed
    assert rows["CP-1044"].rating is None
    numbers = response.context["numbers"]
    assert (numbers.weighted_load, numbers.unrated_count) == (7 + 6 + 6, 1)
    page = response.content.decode()
    assert "Unrated" in page.split(">CP-1044<")[1].split("</tr>")[0]
    assert "Due" in page.split(">CP-1043<")[1].split("</tr>")[0]
    assert "Your weighted load over the last 12 weeks" in page
    assert "The last 12 weeks as a table" in page


def test_my_caseload_marks_involved_cases(client, held_case, student, social_worker):
    allocation_services.allocation_create(
        case=held_case, person=student, kind="involved", start_date=days_ago(2), allocated_by=None
    )
    page = signed_in(client, student).get(reverse("my_caseload")).content.decode()
    assert "CP-1042" in page and "Involved" in page
    assert "Propose a new rating" not in page  # students propose for cases they hold only


def test_the_trend_is_computed_from_dated_records(client, team, social_worker, default_scheme):
    case = CaseFactory(team=team, opened_on=days_ago(200))
    allocation_services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(35), allocated_by=None
    )
    rate(case, default_scheme, (3, 3, 3), on=days_ago(20))
    response = signed_in(client, social_worker).get(reverse("my_caseload"))
    trend = response.context["trend"]
    assert len(trend) == 13
    loads = [numbers.weighted_load for _, numbers, _ in trend]
    assert loads[:7] == [0] * 7  # before the allocation
    assert loads[7] == 6  # held, unrated: the middle of each criterion
    assert loads[-1] == 9


# Check-ins: the worker's own view over time ---------------------------------------


def test_one_tap_on_the_worker_s_page_records_how_their_workload_feels(client, social_worker):
    page = signed_in(client, social_worker).get(reverse("my_caseload")).content.decode()
    assert "How manageable is your workload today?" in page
    assert page.count('name="scale"') == 5  # a button per level: one tap each
    response = client.post(reverse("workload_view"), {"scale": "4"})
    assert response["Location"] == reverse("my_caseload")
    view = WorkloadView.objects.get(person=social_worker)
    assert (view.scale, view.comment) == (4, "")
    trend = client.get(reverse("my_caseload")).context["trend"]
    # This week's row of the trend says how it felt; the weeks before say nothing.
    assert trend[-1][2].get_scale_display() == "Hard to manage"
    assert [felt for _, _, felt in trend[:-1]] == [None] * 12


def test_three_check_ins_in_a_row_at_the_two_worst_levels_offer_a_concern(client, social_worker):
    offer = "Your last three check-ins said your workload is hard to manage or not manageable"
    signed_in(client, social_worker)
    for days_back, scale in ((9, 4), (5, 5)):
        view = services.workload_view_record(person=social_worker, scale=scale, comment="")
        earlier = timezone.now() - datetime.timedelta(days=days_back)
        WorkloadView.objects.filter(pk=view.pk).update(recorded_at=earlier)
    assert offer not in client.get(reverse("my_caseload")).content.decode()  # two so far
    client.post(reverse("workload_view"), {"scale": "4"})
    page = client.get(reverse("my_caseload")).content.decode()
    assert offer in page and reverse("concern_raise") in page
    client.post(reverse("workload_view"), {"scale": "3"})  # just about manageable
    assert offer not in client.get(reverse("my_caseload")).content.decode()


# Preparing for supervision ---------------------------------------------------


def test_a_worker_proposes_a_re_rating_that_stays_theirs_until_agreed(
    client, social_worker, asha_cases, default_scheme
):
    case = asha_cases[0]
    names = ids(default_scheme)
    url = reverse("case_propose", args=[case.pk])
    signed_in(client, social_worker)
    form = client.get(url).context["form"]
    assert form[f"level_{names['Complexity']}"].value() == "3"  # starts from the current rating
    unchanged = client.post(
        url, {f"level_{pk}": v for pk, v in zip(names.values(), "331", strict=True)}
    )
    assert "That is the rating CP-1042 already has" in unchanged.content.decode()
    assert not RatingProposal.objects.exists()
    client.post(url, {**{f"level_{pk}": "2" for pk in names.values()}, "why": "Risk assessed"})
    proposal = RatingProposal.objects.get()
    assert (proposal.status, proposal.why) == ("open", "Risk assessed")
    assert case.ratings.count() == 1  # the weight does not change until agreed
    page = client.get(reverse("my_caseload")).content.decode()
    assert "You proposed a change" in page
    # A second proposal replaces the first.
    client.post(url, {**{f"level_{pk}": "1" for pk in names.values()}, "why": "Changed again"})
    assert list(RatingProposal.objects.values_list("status", flat=True).order_by("pk")) == [
        "withdrawn",
        "open",
    ]


def test_only_the_holder_proposes(client, asha_cases, colleague, team_manager, default_scheme):
    url = reverse("case_propose", args=[asha_cases[0].pk])
    for person in (colleague, team_manager):
        assert signed_in(client, person).get(url).status_code == 404


def test_a_worker_records_their_view_of_their_workload(
    client, social_worker, colleague, team_manager
):
    signed_in(client, social_worker)
    missing = client.post(reverse("workload_view"), {"comment": "Busy"})
    assert "Choose how manageable your workload is" in missing.content.decode()
    client.post(reverse("workload_view"), {"scale": "4", "comment": "Two reports due"})
    view = social_worker.workload_views.get()
    assert (view.get_scale_display(), view.comment) == ("Hard to manage", "Two reports due")


def test_a_workers_view_is_seen_by_them_and_their_supervisor_only(
    social_worker, colleague, team_manager, dmt_member, administrator
):

    services.workload_view_record(person=social_worker, scale=3, comment="")
    assert workload_views_visible_to(social_worker.user).count() == 1
    assert workload_views_visible_to(team_manager.user).count() == 1  # her supervisor
    for person in (colleague, dmt_member, administrator):
        assert workload_views_visible_to(person.user).count() == 0


# Workload concerns -----------------------------------------------------------


def test_raising_a_concern_tells_the_supervisor_and_manager(
    client, team, social_worker, team_manager, mailoutbox
):
    deputy = member(team, role=Person.Role.SOCIAL_WORKER, full_name="Senior Practitioner")
    social_worker.supervisor = deputy
    social_worker.save()
    signed_in(client, social_worker).post(
        reverse("concern_raise"), {"concern": "Four new cases in three weeks"}
    )
    concern = WorkloadConcern.objects.get()
    assert concern.respond_by == services.add_working_days(TODAY(), 5)
    assert concern.respond_by.weekday() < 5
    from caseload.notifications import send_pending

    send_pending()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        [deputy.user.email, team_manager.user.email]
    )
    assert all("Four new cases" not in m.body for m in mailoutbox)


def test_five_working_days_skip_the_weekend():
    friday = datetime.date(2026, 11, 20)
    assert services.add_working_days(friday, 5) == datetime.date(2026, 11, 27)
    assert services.add_working_days(datetime.date(2026, 11, 21), 1) == datetime.date(2026, 11, 23)


def test_a_concern_is_answered_and_overdue_ones_are_marked(
    client, team, team_manager, social_worker, colleague
):
    concern = services.concern_raise(person=social_worker, concern="Too many court reports")
    WorkloadConcern.objects.filter(pk=concern.pk).update(respond_by=days_ago(1))
    signed_in(client, team_manager)
    listing = client.get(reverse("concern_list")).content.decode()
    assert "Response overdue" in listing
    team_page = client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert "open workload concern" in team_page and "1 overdue" in team_page
    url = reverse("concern_respond", args=[concern.pk])
    assert signed_in(client, colleague).get(url).status_code == 404
    signed_in(client, team_manager).post(url, {"response": "Two cases move to Daniel"})
    concern.refresh_from_db()
    assert (concern.status, concern.responded_by) == ("responded", team_manager)
    own = signed_in(client, social_worker).get(reverse("concern_list")).content.decode()
    assert "Two cases move to Daniel" in own
    assert signed_in(client, social_worker).get(url).status_code == 404  # not to answer oneself


def test_concerns_are_seen_by_their_author_supervisor_and_manager_only(
    social_worker, colleague, outsider, other_manager, team_manager, dmt_member
):

    services.concern_raise(person=social_worker, concern="Help")
    for person, count in [
        (social_worker, 1),
        (team_manager, 1),
        (colleague, 0),
        (outsider, 0),
        (other_manager, 0),
        (dmt_member, 0),
    ]:
        assert concerns_visible_to(person.user).count() == count, person


# The supervision record --------------------------------------------------------


def test_the_record_is_pre_filled_with_what_is_already_known(
    social_worker, team_manager, asha_cases, default_scheme
):
    names = ids(default_scheme)
    services.workload_view_record(person=social_worker, scale=3, comment="Busy week")
    services.proposal_create(
        case=asha_cases[0],
        person=social_worker,
        levels={pk: D(2) for pk in names.values()},
        why="Police now involved",
    )
    load_up = CaseFactory(team=asha_cases[0].team)
    allocation_services.allocation_create(
        case=load_up,
        person=social_worker,
        start_date=days_ago(3),
        allocated_by=team_manager,
        over_maximum=None,
    )
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    items = {item.case.reference: item for item in record.items.all()}
    assert set(items) == {"CP-1042", "CP-1043", "CP-1044", load_up.reference}
    proposed = items["CP-1042"]
    assert proposed.agree and proposed.proposal is not None
    assert set(proposed.levels.values()) == {"2"}  # the worker's proposal
    assert items["CP-1043"].levels == {str(pk): "2" for pk in names.values()}  # current rating
    assert items["CP-1044"].levels == {}  # unrated
    assert record.worker_view.comment == "Busy week"
    assert record.analysis_included  # none done yet
    assert record.next_supervision == TODAY() + datetime.timedelta(weeks=4)


def test_asyes_are_supervised_every_two_weeks(team, team_manager, default_scheme):
    asye = member(team, role=Person.Role.ASYE, supervisor=team_manager)
    record = services.record_open(worker=asye, supervisor=team_manager, held_on=TODAY())
    assert record.next_supervision == TODAY() + datetime.timedelta(weeks=2)


def test_the_analysis_is_due_by_one_rule_every_twelve_weeks():
    today = TODAY()
    assert services.analysis_due(None, today)
    assert not services.analysis_due(today - datetime.timedelta(days=83), today)
    assert services.analysis_due(today - datetime.timedelta(days=84), today)


def test_only_the_workers_supervisor_opens_a_record(social_worker, colleague):
    with pytest.raises(services.RuleBroken, match="not Asha Patel's supervisor"):
        services.record_open(worker=social_worker, supervisor=colleague, held_on=TODAY())


def _complete_draft(record, **extra):
    change = services.RecordChange(
        caseload_discussion="Court work dominates",
        deviation_agreed=False,
        time_for_direct_work="Half the week",
        other_demands="Reports",
        next_supervision=TODAY() + datetime.timedelta(days=28),
        **extra,
    )
    return services.record_save_draft(record=record, change=change)


def test_signing_makes_the_agreed_ratings_take_effect(
    social_worker, team_manager, asha_cases, default_scheme, mailoutbox
):
    names = ids(default_scheme)
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    item = record.items.get(case__reference="CP-1044")
    anticipated = {str(pk): "1" for pk in names.values()}
    _complete_draft(
        record,
        items={
            item.pk: services.ItemChange(
                agree=True,
                levels={str(pk): "3" for pk in names.values()},
                anticipated_levels=anticipated,
                anticipated_changes={str(names["Risk"]): "Assessment done"},
                anticipated_by=TODAY() + datetime.timedelta(days=14),
            )
        },
    )
    assert not Rating.objects.filter(case=item.case).exists()  # nothing until signed
    services.record_sign_supervisor(record=record, by=team_manager)
    rating = Rating.objects.get(case=item.case)
    assert (rating.status, rating.total, rating.agreed_with, rating.rated_on) == (
        "agreed",
        9,
        social_worker,
        TODAY(),
    )
    assert rating.anticipated_total == 3
    record.refresh_from_db()
    assert record.status == "supervisor_signed"
    from caseload.notifications import send_pending

    send_pending()
    assert "ready to sign" in mailoutbox[-1].subject


def test_signing_needs_the_discussion_and_the_next_date(
    social_worker, team_manager, asha_cases, default_scheme
):
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    with pytest.raises(services.RuleBroken) as refused:
        services.record_sign_supervisor(record=record, by=team_manager)
    messages = " ".join(refused.value.messages)
    assert "Record the discussion of the relative complexity" in messages
    assert "Say whether a deviation from the average caseload is agreed" in messages
    assert "Record the time available for direct work" in messages
    assert "Record the issues meeting other demands" in messages
    record.refresh_from_db()
    assert record.status == "draft"


def test_signatures_come_in_order_and_the_worker_may_disagree(
    social_worker, team_manager, asha_cases, default_scheme
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    )
    with pytest.raises(services.RuleBroken, match="The supervisor signs first"):
        services.record_sign_worker(record=record, by=social_worker)
    with pytest.raises(services.RuleBroken, match="Only the supervisor signs first"):
        services.record_sign_supervisor(record=record, by=social_worker)
    services.record_sign_supervisor(record=record, by=team_manager)
    with pytest.raises(services.RuleBroken, match="Only the worker"):
        services.record_sign_worker(record=record, by=team_manager)
    services.record_sign_worker(record=record, by=social_worker, disagreement="Not manageable")
    record.refresh_from_db()
    assert (record.status, record.worker_disagreement) == ("signed", "Not manageable")
    assert record.worker_signed_at >= record.supervisor_signed_at


def test_a_signed_record_cannot_change_even_at_the_model_layer(
    social_worker, team_manager, asha_cases, default_scheme
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    record.refresh_from_db()
    record.caseload_discussion = "Rewritten afterwards"
    with pytest.raises(ValidationError, match="cannot change"):
        record.save()
    with pytest.raises(services.RuleBroken, match="cannot change"):
        _complete_draft(record)
    with pytest.raises(ValidationError, match="cannot be deleted"):
        SupervisionRecord.objects.get(pk=record.pk).delete()
    services.record_sign_worker(record=record, by=social_worker)
    record.refresh_from_db()
    record.worker_disagreement = "Added later"
    with pytest.raises(ValidationError, match="cannot change"):
        record.save()
    addendum = services.addendum_add(record=record, author=team_manager, text="Date corrected")
    assert record.addenda.get() == addendum
    addendum.text = "Changed"
    with pytest.raises(ValidationError, match="cannot change"):
        addendum.save()


def test_an_asye_factor_agreed_in_supervision_takes_effect_at_signature(
    team, team_manager, default_scheme
):
    asye = member(team, role=Person.Role.ASYE, supervisor=team_manager)
    record = _complete_draft(
        services.record_open(worker=asye, supervisor=team_manager, held_on=TODAY()),
        asye_factor=D("0.9"),
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    factor = ExperienceFactor.objects.get(person=asye)
    assert (factor.factor, factor.start_date) == (D("0.90"), TODAY())


def test_a_later_record_lists_over_maximum_allocations_since_the_last(
    team, social_worker, team_manager, default_scheme
):
    earlier = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(30))
    )
    services.record_sign_supervisor(record=earlier, by=team_manager)
    for _ in range(18):  # 18 unrated cases of 6 each: over the maximum from the 17th
        case = CaseFactory(team=team)
        allocation_services.allocation_create(
            case=case,
            person=social_worker,
            start_date=days_ago(10),
            allocated_by=team_manager,
            over_maximum=allocation_services.OverMaximumPlan(
                "Urgent", "Reports moved", days_ago(-20)
            ),
        )
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    listed = services.over_maximum_for_record(record)
    assert len(listed) == 2
    assert all(o.reason == "Urgent" for o in listed)
    assert services.over_maximum_for_record(earlier) == []


# Pages of the record ---------------------------------------------------------


def test_the_supervisor_edits_saves_and_signs_in_the_browser_form(
    client, social_worker, team_manager, asha_cases, default_scheme
):
    names = ids(default_scheme)
    signed_in(client, team_manager)
    client.post(reverse("record_new", args=[social_worker.pk]), date_fields("held_on", TODAY()))
    record = SupervisionRecord.objects.get()
    item = record.items.get(case__reference="CP-1042")
    form = {
        "caseload_discussion": "Court work dominates",
        "deviation_agreed": "no",
        "time_for_direct_work": "Half",
        "other_demands": "Reports",
        f"item_{item.pk}_agree": "on",
        **{f"item_{item.pk}_level_{pk}": "2" for pk in names.values()},
        **date_fields("next_supervision", TODAY() + datetime.timedelta(days=28)),
    }
    saved = client.post(reverse("record_detail", args=[record.pk]), {**form, "save": ""})
    assert saved.status_code == 302
    record.refresh_from_db()
    assert record.caseload_discussion == "Court work dominates" and record.is_draft
    client.post(reverse("record_detail", args=[record.pk]), {**form, "sign": ""})
    record.refresh_from_db()
    assert record.status == "supervisor_signed"
    assert Rating.objects.filter(case=item.case, status="agreed").get().total == 6
    # Once signed, the supervisor cannot post changes any more.
    assert client.post(reverse("record_detail", args=[record.pk]), form).status_code == 403


def test_the_worker_signs_in_the_browser_form(
    client, social_worker, team_manager, asha_cases, default_scheme
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    signed_in(client, social_worker)
    page = client.get(reverse("record_detail", args=[record.pk])).content.decode()
    assert "Sign the record" in page
    missing = client.post(reverse("record_sign", args=[record.pk]), {"agreement": "disagree"})
    assert "Say what you disagree with" in missing.content.decode()
    client.post(
        reverse("record_sign", args=[record.pk]),
        {"agreement": "disagree", "disagreement": "The court work is too much"},
    )
    record.refresh_from_db()
    assert record.worker_disagreement == "The court work is too much"


@pytest.mark.parametrize("url_name", ["record_detail", "record_print", "record_pdf"])
def test_who_may_see_which_record(
    client,
    url_name,
    social_worker,
    colleague,
    team_manager,
    other_manager,
    dmt_member,
    administrator,
    asha_cases,
    default_scheme,
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    url = reverse(url_name, args=[record.pk])
    expected = {
        social_worker: 200,
        team_manager: 200,
        colleague: 404,
        other_manager: 404,
        dmt_member: 404,
        administrator: 404,  # nobody else by default, administrators included
    }
    assert {p: signed_in(client, p).get(url).status_code for p in expected} == expected


def test_the_pdf_of_a_signed_record_holds_its_content(
    client, social_worker, team_manager, asha_cases, default_scheme
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    services.record_sign_worker(record=record, by=social_worker, disagreement="Too much court work")
    response = signed_in(client, social_worker).get(reverse("record_pdf", args=[record.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.content)).pages
    )
    for expected in (
        "Supervision record",
        "Asha Patel",
        "Claire Hughes",
        "CP-1042",
        "Court work dominates",
        "Signed by the worker, with a disagreement",
        "Too much court work",
    ):
        assert expected in text, expected
    tagged = structure(response.content)
    assert tagged["marked"] and tagged["lang"] == "en-GB" and tagged["shows_title"]
    assert tagged["title"].startswith("Supervision of Asha Patel on")
    for tag in ("H1", "H2", "Table", "TH", "TD", "P"):
        assert tagged["tags"].get(tag), (tag, tagged["tags"])


def test_a_draft_has_no_pdf(client, social_worker, team_manager, asha_cases, default_scheme):
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    assert (
        signed_in(client, team_manager).get(reverse("record_pdf", args=[record.pk])).status_code
        == 403
    )


@pytest.mark.parametrize("cases", [2, 20])
def test_the_record_page_query_count_does_not_grow(
    client, team, social_worker, team_manager, default_scheme, cases, django_assert_max_num_queries
):
    for _ in range(cases):
        case = CaseFactory(team=team)
        allocation_services.allocation_create(
            case=case,
            person=social_worker,
            start_date=days_ago(5),
            allocated_by=None,
            over_maximum=allocation_services.OverMaximumPlan("r", "p", days_ago(-10)),
        )
        rate(case, default_scheme, on=days_ago(2))
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    signed_in(client, team_manager)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("record_detail", args=[record.pk]))
    assert response.content.decode().count('type="checkbox"') == cases


def test_the_team_page_shows_next_supervision_and_overdue(
    client, team, social_worker, team_manager, asha_cases, default_scheme
):
    record = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(40))
    )
    services.record_sign_supervisor(record=record, by=team_manager)
    SupervisionRecord.objects.filter(pk=record.pk).update(next_supervision=days_ago(12))
    response = signed_in(client, team_manager).get(reverse("team_detail", args=[team.pk]))
    assert response.context["supervisions_overdue"] == 1
    row = response.content.decode().split('data-sort-value="Asha Patel"')[1].split("</td>")[0]
    assert "next" in row and "Overdue" in row


# The record lists what the worker holds on its day, and only a signed record
# is a supervision held ----------------------------------------------------------


def test_the_record_lists_only_the_cases_the_worker_holds_on_its_day(
    team, social_worker, colleague, student, team_manager, asha_cases
):
    """A case that moved to a colleague is not on the record: one of its
    allocations names the worker and another covers the day, but no single
    allocation does both."""
    moved = asha_cases[2]
    allocation_services.case_reallocate(
        case=moved, to_person=colleague, on=days_ago(5), by=team_manager, reason="Court work"
    )
    shared = CaseFactory(team=team, reference="CP-1090")
    allocation_services.allocation_create(
        case=shared, person=colleague, start_date=days_ago(30), allocated_by=team_manager
    )
    allocation_services.allocation_create(
        case=shared,
        person=social_worker,
        kind="involved",
        start_date=days_ago(30),
        allocated_by=team_manager,
    )
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    held = [i.case.reference for i in record.items.filter(involved=False)]
    involved = [i.case.reference for i in record.items.filter(involved=True)]
    assert held == ["CP-1042", "CP-1043"]
    assert involved == ["CP-1090"]
    numbers = caseload_numbers([social_worker], TODAY())[social_worker.pk]
    assert numbers.case_count == len(held)


def test_involved_cases_are_shown_read_only_and_never_rated(
    client, team, social_worker, colleague, team_manager, asha_cases, default_scheme
):
    shared = CaseFactory(team=team, reference="CP-1090")
    allocation_services.allocation_create(
        case=shared, person=colleague, start_date=days_ago(30), allocated_by=team_manager
    )
    allocation_services.allocation_create(
        case=shared,
        person=social_worker,
        kind="involved",
        start_date=days_ago(30),
        allocated_by=team_manager,
    )
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    page = signed_in(client, team_manager).get(reverse("record_detail", args=[record.pk]))
    html = page.content.decode()
    involved_section = html.split('id="involved-cases"')[1]
    assert "CP-1090" in involved_section
    assert f'name="item_{record.items.get(case=shared).pk}_agree"' not in html
    assert "3 cases" in html and "4 cases" not in html  # held, not involved


def test_only_a_signed_record_is_a_supervision_held(
    client, team, social_worker, team_manager, asha_cases, default_scheme
):
    signed = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(40))
    )
    services.record_sign_supervisor(record=signed, by=team_manager)
    SupervisionRecord.objects.filter(pk=signed.pk).update(next_supervision=days_ago(12))
    services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())

    response = signed_in(client, team_manager).get(reverse("team_detail", args=[team.pk]))
    assert response.context["supervisions_overdue"] == 1
    html = response.content.decode()
    row = html.split('data-sort-value="Asha Patel"')[1].split("</td>")[0]
    assert "Overdue" in row
    assert 'href="#supervision-overdue">supervision overdue</a>' in html
    overdue = html.split('id="supervision-overdue"')[1].split("</ul>")[0]
    assert "Asha Patel: due" in overdue
    assert reverse("record_new", args=[social_worker.pk]) in overdue
    home = client.get(reverse("supervision_home")).content.decode()
    assert long_date(days_ago(40)) in home
    client.force_login(social_worker.user)
    mine = client.get(reverse("my_caseload"))
    assert mine.context["next_supervision"] == next_supervision_label(days_ago(12), TODAY())


def test_a_report_lists_the_records_that_listed_cases_not_held(
    team, social_worker, colleague, team_manager, asha_cases, default_scheme
):
    """Records opened before the fix may list a colleague's case: the signed
    ones are listed for an addendum, and the drafts can be corrected."""
    others = CaseFactory(team=team, reference="CP-1078")
    allocation_services.allocation_create(
        case=others, person=colleague, start_date=days_ago(90), allocated_by=team_manager
    )
    signed = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(30))
    )
    SupervisionCaseItem.objects.create(record=signed, case=others)
    services.record_sign_supervisor(record=signed, by=team_manager)
    draft = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    SupervisionCaseItem.objects.create(record=draft, case=others)

    out = io.StringIO()
    call_command("records_with_cases_not_held", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        f"Record {signed.pk}: supervision of Asha Patel on {long_date(days_ago(30))} by "
        "Claire Hughes (signed by the supervisor) lists CP-1078, which Asha Patel did not "
        "hold that day.",
        f"Record {draft.pk}: supervision of Asha Patel on {long_date(TODAY())} by "
        "Claire Hughes (draft) lists CP-1078, which Asha Patel did not hold that day.",
        "2 records affected.",
    ]
    call_command("records_with_cases_not_held", "--fix-drafts", stdout=io.StringIO())
    assert not draft.items.filter(case=others).exists()
    assert signed.items.filter(case=others).exists()  # what was signed stays
    signed.refresh_from_db()
    services.addendum_add(
        record=signed, author=team_manager, text="CP-1078 was Daniel Reid's case, not Asha's."
    )


def test_each_signing_error_links_to_its_own_field_in_one_round(
    client, social_worker, team_manager, asha_cases, default_scheme
):
    names = ids(default_scheme)
    signed_in(client, team_manager)
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    item = record.items.get(case__reference="CP-1044")  # unrated
    risk = names["Risk"]
    form = {
        "deviation_agreed": "yes",
        "time_for_direct_work": "Half",
        "other_demands": "Reports",
        f"item_{item.pk}_agree": "on",
        **{f"item_{item.pk}_level_{pk}": "2" for name, pk in names.items() if name != "Risk"},
        "next_supervision_0": "ab",
        "next_supervision_1": "1",
        "next_supervision_2": "2027",
        "sign": "",
    }
    response = client.post(reverse("record_detail", args=[record.pk]), form)
    assert response.status_code == 200
    summary = response.content.decode().split('govuk-error-summary__list">')[1]
    summary = summary.split("</ul>")[0]
    links = dict(
        (text.strip(), href)
        for href, text in re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    )
    assert links == {
        "Record the discussion of the relative complexity of the cases and the impact on "
        "capacity": "id_caseload_discussion",
        "Give the reason for the agreed deviation": "id_deviation_reason",
        "CP-1044: choose a level of risk": f"id_item_{item.pk}_level_{risk}",
        "Date of the next supervision must be a real date": "id_next_supervision_0",
    }
    assert response.context["form"]["deviation_reason"].errors
    record.refresh_from_db()
    assert record.is_draft and record.caseload_discussion == ""


def test_a_re_rating_is_proposed_in_three_actions_without_a_reason(
    client, social_worker, asha_cases, default_scheme
):
    """From My caseload: open the case's proposal page, change a level, send."""
    names = ids(default_scheme)
    signed_in(client, social_worker)
    url = reverse("case_propose", args=[asha_cases[0].pk])
    assert url in client.get(reverse("my_caseload")).content.decode()
    levels = dict(zip(names.values(), "321", strict=True))  # travel 1 → … risk 3 → 2
    response = client.post(url, {f"level_{pk}": v for pk, v in levels.items()})
    assert response.status_code == 302
    proposal = RatingProposal.objects.get()
    assert (proposal.status, proposal.why) == ("open", "")


def test_a_draft_opens_with_what_needs_attention_at_its_top(
    client, social_worker, team_manager, asha_cases, default_scheme
):
    """CP-1044 is unrated and CP-1043's anticipated rating was due two days
    ago; Asha has raised a concern; a 12-week analysis was stored after her
    last analysis, which was not 12 weeks ago (so it is not "due")."""
    last = _complete_draft(
        services.record_open(worker=social_worker, supervisor=team_manager, held_on=days_ago(20))
    )
    services.record_sign_supervisor(record=last, by=team_manager)
    assert last.analysis_included
    analyse([social_worker.pk], days_ago(1), notify_people=False)
    services.concern_raise(person=social_worker, concern="Too many court reports")
    record = services.record_open(worker=social_worker, supervisor=team_manager, held_on=TODAY())
    assert record.analysis is not None and record.analysis_included

    page = signed_in(client, team_manager).get(reverse("record_detail", args=[record.pk]))
    banner = page.content.decode().split('id="attention-title"')[1].split("</ul>")[0]
    items = re.findall(r'href="([^"]+)">([^<]+)</a>', banner)
    assert items == [
        ("#caseload", "Not rated yet: CP-1044"),
        ("#caseload", "Anticipated rating due: CP-1043"),
        (reverse("concern_list"), "1 open workload concern"),
        ("#analysis", "A 12-week caseload analysis to discuss"),
    ]
