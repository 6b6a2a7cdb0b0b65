"""Trustworthy with sensitive data: the access audit, the change history of
records edited in place, sessions and sign-in, and the headers every page
carries (OWASP ASVS 5.0 level 2)."""

from __future__ import annotations

import csv
import datetime
import inspect
import io
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django import forms
from django.apps import apps
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from allocation import services as allocation_services
from caseload import services
from caseload import tasks as caseload_tasks
from caseload.models import AccessRecord, Allocation, Case, OverMaximum, Person, Team
from caseload.sessions import RENEWED_AT, SIGNED_IN_AT
from config.celery import app as celery_app
from supervision import services as supervision
from tests.brokers import own_redis, publishing_to, wait_for
from tests.factories import CaseFactory
from weighting import services as weighting

PASSWORD = "correct horse battery staple"


def sign_in(client, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": username, "password": password})


def new_rows(since: int) -> list[AccessRecord]:
    return list(AccessRecord.objects.filter(pk__gt=since).order_by("pk"))


def last_pk() -> int:
    return AccessRecord.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# The audit ----------------------------------------------------------------------------


@pytest.fixture
def actions(client, team, other_team, held_case, social_worker, colleague, team_manager):
    """Each audited action, done through its page where it has one, with the
    record it is about and the action the audit should say."""
    case = held_case
    allocation = case.allocations.get()
    record = supervision.record_open(
        worker=social_worker, supervisor=team_manager, held_on=timezone.localdate()
    )

    def as_manager(method: str, name: str, data: dict | None = None, **kwargs):  # type: ignore[no-untyped-def]
        client.force_login(team_manager.user)
        url = reverse(name, kwargs=kwargs)
        return client.get(url) if method == "GET" else client.post(url, data or {})

    def new_case():  # type: ignore[no-untyped-def]
        return services.case_create(
            team=team, reference="CP-9001", label="Baby, neglect", case_type="cp",
            opened_on=timezone.localdate(), by=team_manager,
        )  # fmt: skip

    return [
        ("view a case", lambda: as_manager("GET", "case_detail", pk=case.pk), "view", case),
        ("create a case", new_case, "create", None),
        (
            "change a case's priority",
            lambda: as_manager("POST", "case_priority", {"priority": "1"}, pk=case.pk),
            "change",
            case,
        ),
        (
            "view an allocation",
            lambda: as_manager("GET", "allocation_done", pk=allocation.pk),
            "view",
            allocation,
        ),
        (
            "rate a case",
            lambda: weighting.rating_create(
                case=case,
                levels={c.pk: 2 for c in weighting.scheme_in_force(team).criteria.all()},
                rated_on=timezone.localdate(),
                rated_by=team_manager,
                status="interim",
            ),
            "create",
            None,
        ),
        (
            "end an allocation",
            lambda: services.allocation_end(
                allocation=allocation, end_date=timezone.localdate(), ended_by=team_manager
            ),
            "end",
            allocation,
        ),
        (
            "allocate a case",
            lambda: allocation_services.allocation_create(
                case=case,
                person=colleague,
                start_date=timezone.localdate(),
                allocated_by=team_manager,
            ),
            "create",
            None,
        ),
        (
            "move a case to another team",
            lambda: services.case_move_team(
                case=case,
                to_team=other_team,
                on=timezone.localdate(),
                by=team_manager,
                reason="Looked after now",
            ),
            "change",
            case,
        ),
        (
            "view a supervision record",
            lambda: as_manager("GET", "record_detail", pk=record.pk),
            "view",
            record,
        ),
        (
            "change a supervision record",
            lambda: supervision.record_save_draft(
                record=record, change=supervision.RecordChange(actions="Review in four weeks")
            ),
            "change",
            record,
        ),
        (
            "open a supervision record",
            lambda: supervision.record_open(
                worker=colleague, supervisor=team_manager, held_on=timezone.localdate()
            ),
            "create",
            None,
        ),
        (
            "close a case",
            lambda: services.case_close(case=case, closed_on=timezone.localdate(), by=team_manager),
            "end",
            case,
        ),
    ]


def test_every_audited_action_writes_exactly_one_record_without_case_text(actions, held_case):
    audited = 0
    for what, act, action, obj in actions:
        before = last_pk()
        act()
        rows = [r for r in new_rows(before) if r.action == action]
        assert len(rows) == 1, f"{what}: {len(rows)} audit rows"
        row = rows[0]
        if obj is not None:
            assert row.record_id == obj.pk, what
        text = " ".join(
            str(value) for value in AccessRecord.objects.filter(pk=row.pk).values()[0].values()
        )
        assert held_case.label not in text and "neglect" not in text, f"{what}: case text"
        assert row.at.utcoffset() == datetime.timedelta(0) or timezone.is_aware(row.at)
        audited += 1
    print(f"audit: {audited} of {len(actions)} audited actions write one record (100%)")
    assert audited == len(actions)


def test_the_audit_cannot_be_changed_or_deleted(held_case, team_manager):
    row = AccessRecord.objects.create(
        user=team_manager.user, action="view", record_type="case", record_id=held_case.pk
    )
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        AccessRecord.objects.filter(pk=row.pk).update(action="end")
    with pytest.raises(PermissionError):
        AccessRecord.objects.filter(pk=row.pk).delete()
    # Below the application too: the database refuses a change (and, on
    # PostgreSQL, a deletion).
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE caseload_accessrecord SET action = 'end' WHERE id = %s", [row.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM caseload_accessrecord WHERE id = %s", [row.pk])
    assert AccessRecord.objects.get(pk=row.pk).action == "view"


def test_an_administrator_searches_the_audit_by_person_or_case_and_exports_it(
    client, held_case, social_worker, team_manager, administrator
):
    other = CaseFactory(team=held_case.team, reference="CP-2002")
    client.force_login(team_manager.user)
    client.get(reverse("case_detail", args=[held_case.pk]))
    client.get(reverse("case_detail", args=[other.pk]))
    client.force_login(administrator.user)
    page = client.get(reverse("audit_list"), {"case": "CP-1042"}).content.decode()
    assert "CP-1042" in page and "CP-2002" not in page
    by_person = client.get(reverse("audit_list"), {"person": "manager"}).content.decode()
    assert "CP-1042" in by_person and "CP-2002" in by_person
    exported = client.get(reverse("audit_download"), {"case": "CP-2002"}).content.decode()
    rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert [(r["Who"], r["Action"], r["Case reference"]) for r in rows] == [
        ("manager", "Viewed", "CP-2002")
    ]
    client.force_login(team_manager.user)
    assert client.get(reverse("audit_list")).status_code == 403


# Listings of cases in the audit ----------------------------------------------------------

LISTING_LABEL = "Parental mental health, private"


def only_new_row(before: int) -> AccessRecord:
    rows = new_rows(before)
    assert len(rows) == 1, f"{len(rows)} audit rows: {rows}"
    return rows[0]


def assert_no_case_text(row: AccessRecord) -> None:
    """No case's label in the row; no reference but the one a record's own row names."""
    values = AccessRecord.objects.filter(pk=row.pk).values()[0]
    own = values.pop("case_reference")
    text = " ".join(str(value) for value in values.values())
    for reference, label in Case.objects.values_list("reference", "label"):
        assert label not in text, f"case text in the audit: {label}"
        assert reference not in text or reference == own, f"a reference in the audit: {reference}"


@pytest.fixture
def listed(held_case, team, other_team, team_manager, social_worker):
    """Two cases waiting in the team's queue, one in another team's, and an
    over-maximum record and a rating for the held case."""
    allocation = held_case.allocations.get()
    OverMaximum.objects.create(
        allocation=allocation,
        person=social_worker,
        reason="Court work",
        reprioritisation="Paperwork later",
        review_by=timezone.localdate() + datetime.timedelta(days=20),
    )
    weighting.rating_create(
        case=held_case,
        levels={c.pk: 2 for c in weighting.scheme_in_force(team).criteria.all()},
        rated_on=timezone.localdate(),
        rated_by=team_manager,
        status="interim",
    )
    queued = [
        CaseFactory(team=team, reference="CP-2001", label=LISTING_LABEL),
        CaseFactory(team=team, reference="CP-2002", label=LISTING_LABEL),
    ]
    elsewhere = CaseFactory(team=other_team, reference="LA-3001", label=LISTING_LABEL)
    return {"held": held_case, "queued": queued, "elsewhere": elsewhere}


def ids(*cases: Case) -> list[int]:
    return sorted(case.pk for case in cases)


# Each listing: who opens it, how, the kind the audit should name, and the cases it shows.
LISTINGS = {
    "team page": ("manager", lambda team: reverse("team_detail", args=[team.pk]), {}, "team",
                  lambda w: ids(*w["queued"])),
    "my caseload": ("worker", lambda team: reverse("my_caseload"), {}, "my_caseload",
                    lambda w: ids(w["held"])),
    "over-maximum list": ("manager", lambda team: reverse("over_maximum_list"), {},
                          "over_maximum", lambda w: ids(w["held"])),
    "full export (xlsx)": ("manager", lambda team: reverse("export_download"), {}, "export",
                           lambda w: ids(w["held"], *w["queued"])),
    "full export (zip)": ("admin", lambda team: reverse("export_download"), {"format": "zip"},
                          "export", lambda w: ids(w["held"], *w["queued"], w["elsewhere"])),
    "admin case list": ("admin", lambda team: reverse("admin:caseload_case_changelist"), {},
                        "admin_cases", lambda w: ids(w["held"], *w["queued"], w["elsewhere"])),
    "admin case list, searched": ("admin", lambda team: reverse("admin:caseload_case_changelist"),
                                  {"q": "CP-200"}, "admin_cases", lambda w: ids(*w["queued"])),
    "admin allocation list": ("admin",
                              lambda team: reverse("admin:caseload_allocation_changelist"), {},
                              "admin_allocations", lambda w: ids(w["held"])),
    "admin rating list": ("admin", lambda team: reverse("admin:weighting_rating_changelist"), {},
                          "admin_ratings", lambda w: ids(w["held"])),
    "admin case search": ("admin", lambda team: reverse("admin:autocomplete"),
                          {"app_label": "caseload", "model_name": "allocation",
                           "field_name": "case", "term": "CP-"},
                          "admin_case_search", lambda w: ids(w["held"], *w["queued"])),
}  # fmt: skip


@pytest.mark.parametrize("name", LISTINGS)
def test_a_listing_of_cases_writes_one_audit_row_with_their_ids_and_no_case_text(
    client, name, listed, team, team_manager, social_worker, administrator
):
    who, url, params, kind, shown = LISTINGS[name]
    person = {"manager": team_manager, "worker": social_worker, "admin": administrator}[who]
    client.force_login(person.user)
    before = last_pk()
    response = client.get(url(team), params)
    assert response.status_code == 200
    row = only_new_row(before)
    assert (row.user, row.username, row.action) == (person.user, person.user.username, "view")
    assert (row.record_type, row.listing, row.record_id) == ("listing", kind, None)
    assert sorted(row.case_ids) == shown(listed)
    assert_no_case_text(row)
    assert timezone.now() - row.at < datetime.timedelta(minutes=1)


def test_the_export_command_writes_one_audit_row_for_the_system(listed, tmp_path):
    before = last_pk()
    call_command("export_caseload", str(tmp_path / "caseload.xlsx"), stdout=io.StringIO())
    row = only_new_row(before)
    assert (row.user, row.username, row.record_type, row.listing) == (None, "", "listing", "export")
    assert sorted(row.case_ids) == ids(listed["held"], *listed["queued"], listed["elsewhere"])
    assert_no_case_text(row)


def test_a_listing_with_no_cases_still_says_who_opened_it(client, team, team_manager):
    client.force_login(team_manager.user)
    before = last_pk()
    assert client.get(reverse("team_detail", args=[team.pk])).status_code == 200
    row = only_new_row(before)
    assert (row.listing, row.case_ids) == ("team", [])


def test_a_cached_team_page_is_audited_as_each_view_opens_it(client, listed, team, team_manager):
    client.force_login(team_manager.user)
    url = reverse("team_detail", args=[team.pk])
    client.get(url)
    before = last_pk()
    client.get(url)
    assert sorted(only_new_row(before).case_ids) == ids(*listed["queued"])


def _signed(record):  # type: ignore[no-untyped-def]
    supervision.record_save_draft(
        record=record,
        change=supervision.RecordChange(
            caseload_discussion="Court work dominates",
            deviation_agreed=False,
            time_for_direct_work="Half the week",
            other_demands="Reports",
            next_supervision=timezone.localdate() + datetime.timedelta(days=28),
        ),
    )
    supervision.record_sign_supervisor(record=record, by=record.supervisor)
    return record


@pytest.mark.parametrize("url_name", ["record_detail", "record_print", "record_pdf"])
def test_a_supervision_records_row_names_the_cases_its_page_lists(
    client, url_name, listed, team, team_manager, social_worker
):
    second = CaseFactory(team=team, reference="CP-2003", label=LISTING_LABEL)
    allocation_services.allocation_create(
        case=second, person=social_worker, start_date=timezone.localdate(), allocated_by=None
    )
    record = supervision.record_open(
        worker=social_worker, supervisor=team_manager, held_on=timezone.localdate()
    )
    if url_name != "record_detail":
        _signed(record)
    client.force_login(team_manager.user)
    before = last_pk()
    assert client.get(reverse(url_name, args=[record.pk])).status_code == 200
    row = only_new_row(before)
    assert (row.record_type, row.record_id, row.listing) == ("supervision_record", record.pk, "")
    assert sorted(row.case_ids) == ids(listed["held"], second)
    assert_no_case_text(row)


def test_the_allocation_done_row_names_the_next_case_it_offers(
    client, listed, team_manager, held_case
):
    client.force_login(team_manager.user)
    before = last_pk()
    page = client.get(reverse("allocation_done", args=[held_case.allocations.get().pk]))
    assert "CP-2001" in page.content.decode()
    row = only_new_row(before)
    assert (row.record_type, row.case_reference) == ("allocation", held_case.reference)
    assert row.case_ids == [listed["queued"][0].pk]


@pytest.mark.parametrize(
    ("url_name", "who", "record_type"),
    [
        ("case_rate", "manager", "case"),
        ("case_propose", "worker", "case"),
        ("over_maximum_review", "manager", "allocation"),
    ],
)
def test_a_page_about_one_case_writes_its_view_row(
    client, url_name, who, record_type, listed, team_manager, social_worker, held_case
):
    allocation = held_case.allocations.get()
    pk = allocation.over_maximum.pk if url_name == "over_maximum_review" else held_case.pk
    client.force_login((team_manager if who == "manager" else social_worker).user)
    before = last_pk()
    assert client.get(reverse(url_name, args=[pk])).status_code == 200
    row = only_new_row(before)
    assert (row.action, row.record_type, row.case_reference) == (
        "view",
        record_type,
        held_case.reference,
    )
    assert row.record_id == (allocation.pk if record_type == "allocation" else held_case.pk)


ADMIN_PAGES = ["change", "history"]


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("model", ["caseload.case", "caseload.allocation", "weighting.rating"])
def test_an_admin_page_about_one_record_writes_its_view_row(
    client, model, page, listed, held_case, administrator
):
    record = {
        "caseload.case": held_case,
        "caseload.allocation": held_case.allocations.get(),
        "weighting.rating": held_case.ratings.get(),
    }[model]
    client.force_login(administrator.user)
    before = last_pk()
    url = reverse(f"admin:{model.replace('.', '_')}_{page}", args=[record.pk])
    assert client.get(url).status_code == 200
    row = only_new_row(before)
    assert (row.action, row.record_type, row.record_id) == ("view", model.split(".")[1], record.pk)
    assert row.case_reference == held_case.reference
    assert_no_case_text(row)


@pytest.mark.parametrize("model", ["caseload.case", "caseload.allocation"])
def test_an_admin_page_of_a_past_version_writes_its_view_row(
    client, model, listed, held_case, administrator
):
    record = held_case if model == "caseload.case" else held_case.allocations.get()
    version = record.history.earliest()
    client.force_login(administrator.user)
    before = last_pk()
    url = reverse(
        f"admin:{model.replace('.', '_')}_simple_history",
        args=[record.pk, version.history_id],
    )
    assert client.get(url).status_code == 200
    row = only_new_row(before)
    assert (row.action, row.record_type, row.record_id) == ("view", model.split(".")[1], record.pk)
    assert_no_case_text(row)


def test_an_admin_page_for_a_case_that_is_not_there_is_not_a_server_error(client, administrator):
    client.force_login(administrator.user)
    for page in ADMIN_PAGES:
        for pk in ("999999", "not-a-number"):
            response = client.get(reverse(f"admin:caseload_case_{page}", args=[pk]))
            assert response.status_code in (302, 404), (page, pk, response.status_code)


def test_pages_without_case_references_write_no_audit_row(
    client, listed, team, service, team_manager, dmt_member
):
    client.force_login(dmt_member.user)
    before = last_pk()
    for url in (
        reverse("service_overview", args=[service.pk]),
        reverse("team_dashboard", args=[team.pk]),
        reverse("team_detail", args=[team.pk]),  # DMT: sent to the dashboard
    ):
        client.get(url)
    client.force_login(team_manager.user)
    client.get(reverse("team_list"))
    client.get(reverse("person_dashboard", args=[team_manager.pk]))
    assert new_rows(before) == []


def test_the_audit_page_shows_listings_and_finds_them_by_a_case_they_held(
    client, listed, team, team_manager, administrator
):
    client.force_login(team_manager.user)
    client.get(reverse("team_detail", args=[team.pk]))
    client.force_login(administrator.user)
    page = client.get(reverse("audit_list"), {"case": "cp-2002"}).content.decode()
    assert "Team page" in page and "2 cases" in page
    assert (
        "Team page" not in client.get(reverse("audit_list"), {"case": "CP-1042"}).content.decode()
    )
    exported = client.get(reverse("audit_download"), {"case": "CP-2001"}).content.decode()
    rows = list(csv.DictReader(io.StringIO(exported.removeprefix("\ufeff"))))
    assert [(r["Who"], r["Record"], r["Cases listed"]) for r in rows] == [
        ("manager", "Team page", "2")
    ]
    assert rows[0]["Case ids"] == " ".join(str(pk) for pk in ids(*listed["queued"]))


# Retention: the one deletion the audit allows ----------------------------------------------


def years_before(when: datetime.datetime, years: int) -> datetime.datetime:
    return when.replace(year=when.year - years, day=min(when.day, 28))


def audit_row(at: datetime.datetime, user) -> int:  # type: ignore[no-untyped-def]
    return AccessRecord.objects.create(
        user=user, username=user.username, action="view", record_type="case", record_id=1, at=at
    ).pk


def test_the_daily_job_deletes_audit_rows_past_the_retention_period_and_no_others(
    settings, team_manager
):
    assert settings.AUDIT_RETENTION_YEARS == 6  # the default
    limit = years_before(timezone.now(), 6)
    old = audit_row(limit - datetime.timedelta(hours=1), team_manager.user)
    kept = audit_row(limit + datetime.timedelta(hours=1), team_manager.user)
    recent = audit_row(timezone.now(), team_manager.user)
    assert caseload_tasks.delete_expired_audit() == 1
    left = set(AccessRecord.objects.values_list("pk", flat=True))
    assert old not in left and {kept, recent} <= left
    # Any other deletion is still refused, even in the job's own transaction.
    with pytest.raises(PermissionError):
        AccessRecord.objects.filter(pk=kept).delete()
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM caseload_accessrecord WHERE id = %s", [kept])
    assert AccessRecord.objects.filter(pk=kept).exists()
    settings.AUDIT_RETENTION_YEARS = 1
    assert caseload_tasks.delete_expired_audit() == 1
    assert set(AccessRecord.objects.values_list("pk", flat=True)) >= {recent}


def test_run_due_jobs_deletes_the_audit_past_its_retention(team_manager):
    old = audit_row(years_before(timezone.now(), 7), team_manager.user)
    out = io.StringIO()
    call_command("run_due_jobs", stdout=out)
    assert "1 audit row past the 6-year retention deleted" in out.getvalue()
    assert not AccessRecord.objects.filter(pk=old).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_retention_job_on_a_worker_deletes_old_rows_and_leaves_the_guard_on(
    team_manager, tmp_path
):
    old = audit_row(years_before(timezone.now(), 7), team_manager.user)
    kept = audit_row(timezone.now(), team_manager.user)
    with (
        own_redis(tmp_path) as redis,
        publishing_to(redis.url),
        start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"),
    ):
        celery_app.send_task("caseload.delete_expired_audit")
        wait_for(lambda: not AccessRecord.objects.filter(pk=old).exists(), 30, "the old audit row")
    with pytest.raises(DatabaseError), connection.cursor() as cursor:
        cursor.execute("DELETE FROM caseload_accessrecord WHERE id = %s", [kept])
    assert AccessRecord.objects.filter(pk=kept).exists()


# Change history of records edited in place -------------------------------------------


def test_changes_to_teams_people_and_draft_schemes_are_kept_with_who_made_them(
    client, team, social_worker, team_manager, administrator, default_scheme
):
    client.force_login(administrator.user)
    team.aspiration = 18
    team.save()
    social_worker.fte = "0.8"
    social_worker.role = Person.Role.ASYE
    social_worker.save()
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    draft.benchmark = 90
    draft.save()
    assert [h.aspiration for h in team.history.order_by("history_date")][-1] == 18
    changes = list(social_worker.history.order_by("history_date"))
    assert (changes[-1].fte, changes[-1].role) == (Decimal("0.8"), "asye")
    assert len(changes) >= 2 and changes[0].fte == 1
    assert [h.benchmark for h in draft.history.order_by("history_date")][-2:] == [100, 90]


def test_a_change_in_the_admin_records_who_made_it(client, team, administrator):
    client.force_login(administrator.user)
    response = client.post(
        reverse("admin:caseload_team_change", args=[team.pk]),
        {"service": team.service_id, "name": team.name, "aspiration": "17.0", "managers": []},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = team.history.latest("history_date")
    assert (latest.aspiration, latest.history_user) == (17, administrator.user)


# Sessions and signing in ----------------------------------------------------------------


def test_signing_in_starts_a_new_session(client, team_manager):
    client.get(reverse("login"))
    client.session["marker"] = "before"
    before = client.session.session_key
    sign_in(client, "manager")
    assert client.session.session_key != before


def test_signing_out_ends_the_session_on_the_server(client, team_manager):
    sign_in(client, "manager")
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()


def test_a_deactivated_user_is_signed_out_at_once(client, team_manager, team):
    sign_in(client, "manager")
    assert client.get(reverse("team_detail", args=[team.pk])).status_code == 200
    team_manager.user.is_active = False
    team_manager.user.save()
    response = client.get(reverse("team_detail", args=[team.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_session_ends_after_12_hours_however_active(client, team_manager, team):
    sign_in(client, "manager")
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 12 * 60 * 60 - 1
    session.save()
    response = client.get(reverse("team_detail", args=[team.pk]))
    assert response["Location"] == reverse("login")


def test_an_idle_session_lasts_30_minutes(client, team_manager):
    sign_in(client, "manager")
    cookie = client.cookies["sessionid"]
    assert int(cookie["max-age"]) == 30 * 60


def session_expires(client) -> datetime.datetime:  # type: ignore[no-untyped-def]
    return Session.objects.get(session_key=client.cookies["sessionid"].value).expire_date


def test_use_renews_the_idle_timer_once_a_minute_and_the_page_says_how_long_is_left(
    client, team_manager, team, settings
):
    settings.SESSION_RENEW_SECONDS = 60
    sign_in(client, "manager")
    url = reverse("team_detail", args=[team.pk])
    client.get(url)
    expires = session_expires(client)
    # Within the minute: the session is not written again, its timer runs on.
    session = client.session
    session[RENEWED_AT] = time.time() - 45
    session.save()
    response = client.get(url)
    assert "sessionid" not in response.cookies
    left = int(response.content.decode().split('data-app-session-timeout="')[1].split('"')[0])
    assert 30 * 60 - 47 <= left <= 30 * 60 - 45
    # A minute or more since the last renewal: renewed, full 30 minutes again.
    session = client.session
    session[RENEWED_AT] = time.time() - 61
    session.save()
    response = client.get(url)
    assert int(response.cookies["sessionid"]["max-age"]) == 30 * 60
    assert session_expires(client) >= expires
    assert f'data-app-session-timeout="{30 * 60}"' in response.content.decode()


def test_stay_signed_in_renews_the_idle_timer_at_once(client, team_manager, settings):
    settings.SESSION_RENEW_SECONDS = 60
    sign_in(client, "manager")
    session = client.session
    session[RENEWED_AT] = time.time() - 30
    session.save()
    response = client.post(reverse("session_keep_alive"))
    assert response.status_code == 204
    assert int(response.cookies["sessionid"]["max-age"]) == 30 * 60
    assert time.time() - client.session[RENEWED_AT] < 5


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_out_that_user_from_that_address_only(
    client, team_manager, social_worker
):
    for _ in range(2):
        assert sign_in(client, "manager", "wrong").status_code == 200
    assert sign_in(client, "manager", "wrong").status_code == 429  # the third
    locked = sign_in(client, "manager")  # even the right password, now
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert locked["Retry-After"] == str(30 * 60)
    # Another user at the same address, and the same user elsewhere, are not.
    assert sign_in(client, "worker").status_code == 302
    elsewhere = client.post(
        reverse("login"), {"username": "manager", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert elsewhere.status_code == 302


def test_a_csrf_token_is_bound_to_its_session(client, team_manager, team):
    """The CSRF secret lives in the session, not in a cookie: a cookie and a
    token of someone's choosing (planted through a sibling domain, say) do not
    pass, and the page's own token does."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(team_manager.user)
    page = client.get(reverse("team_detail", args=[team.pk]))
    chosen = "x" * 32
    client.cookies["csrftoken"] = chosen
    url = reverse("session_keep_alive")
    assert client.post(url, {"csrfmiddlewaretoken": chosen}).status_code == 403
    assert client.post(url, HTTP_X_CSRFTOKEN=chosen).status_code == 403
    token = page.content.decode().split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post(url, HTTP_X_CSRFTOKEN=token).status_code == 204
    assert "csrftoken" not in page.cookies


# Headers, settings and forms ---------------------------------------------------------


def test_pages_with_personal_data_are_not_stored_by_browsers_or_proxies(client, team_manager, team):
    client.force_login(team_manager.user)
    response = client.get(reverse("team_detail", args=[team.pk]))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_content_security_policy_allows_no_inline_script(client, team_manager, team):
    client.force_login(team_manager.user)
    policy = client.get(reverse("team_detail", args=[team.pk]))["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy


def test_no_model_form_takes_every_field_or_excludes_some():
    """A form lists the fields it takes, so that a new field is never open to
    edit by accident (ASVS 15.3.3)."""
    offenders = []
    for app in ("caseload", "weighting", "supervision", "reports", "allocation", "exchange"):
        for module_name in ("forms", "admin"):
            try:
                module = __import__(f"{app}.{module_name}", fromlist=["x"])
            except ImportError:
                continue
            for name, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, forms.ModelForm) and value.__module__ == module.__name__:
                    meta = getattr(value, "Meta", None)
                    if getattr(meta, "fields", None) == "__all__" or getattr(meta, "exclude", None):
                        offenders.append(f"{module.__name__}.{name}")
    assert offenders == []
    assert apps.get_app_config("caseload")  # the apps above are the project's own


def test_a_get_request_changes_nothing_but_the_audit(client, team_manager, held_case):
    """(The access matrix checks this for every URL and principal.)"""
    client.force_login(team_manager.user)
    counts = (Case.objects.count(), Allocation.objects.count(), Team.objects.count())
    before = last_pk()
    client.get(reverse("case_detail", args=[held_case.pk]))
    assert (Case.objects.count(), Allocation.objects.count(), Team.objects.count()) == counts
    assert [r.action for r in new_rows(before)] == ["view"]
