"""The case-events API, driven over real HTTP as a case-management system
drives it: cases upserted, moved and allocated by reference, each event once,
never an older over a newer, by the same rules as the pages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from api.models import ApiEvent, ApiRequestCount
from caseload import services as caseload_services
from caseload.models import AccessRecord, Allocation, Case, CaseTeamMove, Person, TeamMembership
from tests.api_client import call, events_path, system_with_token
from tests.factories import CaseFactory, ServiceFactory, TeamFactory, member
from weighting.numbers import caseload_numbers

pytestmark = pytest.mark.usefixtures("default_scheme", "team")


def at(days_ago: float = 0) -> str:
    return (timezone.now() - datetime.timedelta(days=days_ago)).isoformat()


def new_case(event_id: str = "e-1", **fields) -> dict:  # type: ignore[no-untyped-def]
    return {
        "event_id": event_id,
        "occurred_at": at(1),
        "type": "case",
        "label": "Two siblings",
        "case_type": "cp",
        "team": "Child Protection",
        "people_count": 2,
        **fields,
    }


@pytest.fixture
def mosaic(service):
    return system_with_token("Mosaic", service)


@pytest.fixture
def send(live_server, mosaic, service):
    """Send an event about a case of the service with Mosaic's token."""
    _, token = mosaic

    def send(reference: str, event: dict, token: str = token):  # type: ignore[no-untyped-def]
        return call(
            live_server.url, "POST", events_path(service, reference), token=token, body=event
        )

    return send


def test_a_case_event_creates_the_case_audited_as_the_system(send, team, service):
    reply = send("CP-7001", new_case(priority="urgent"))
    assert reply.status == 200, reply.body
    assert reply.body["outcome"] == "applied"
    assert reply.body["case"] | {"last_event_at": None} == {
        "service": service.pk,
        "reference": "CP-7001",
        "label": "Two siblings",
        "case_type": "cp",
        "people_count": 2,
        "priority": "urgent",
        "team": "Child Protection",
        "status": "open",
        "opened_on": str(timezone.localdate() - datetime.timedelta(days=1)),
        "closed_on": None,
        "primary_worker": None,
        "involved_workers": [],
        "weight": "6",
        "rated": False,
        "unit": "points",
        "last_event_at": None,
    }
    assert reply.headers["Cache-Control"].startswith("max-age=0")
    case = Case.objects.get(reference="CP-7001")
    assert (case.team, case.priority) == (team, Case.Priority.URGENT)
    row = AccessRecord.objects.get(record_type="case", record_id=case.pk)
    assert (row.action, row.username, row.user) == ("create", "Mosaic (API)", None)
    assert case.history.get().history_change_reason == "Mosaic (API)"


def test_a_case_event_changes_an_existing_case_and_closes_it(send, case):
    reply = send(
        case.reference,
        {
            "event_id": "e-2",
            "occurred_at": at(),
            "type": "case",
            "label": "Renamed",
            "people_count": 3,
            "priority": "high",
            "closed_on": str(timezone.localdate()),
        },
    )
    assert reply.status == 200, reply.body
    case.refresh_from_db()
    assert (case.label, case.people_count, case.priority) == ("Renamed", 3, Case.Priority.HIGH)
    assert (case.status, case.closed_on) == ("closed", timezone.localdate())


def test_a_repeated_event_changes_nothing_and_is_answered_as_the_first_time(send):
    first = send("CP-7002", new_case("e-1"))
    again = send("CP-7002", new_case("e-1", label="Something else"))
    assert (again.status, again.body) == (first.status, first.body)
    assert Case.objects.get(reference="CP-7002").label == "Two siblings"
    assert ApiEvent.objects.count() == 1


def test_an_older_event_is_kept_not_applied_and_answered_with_the_case(send, case):
    newer = {"event_id": "new", "occurred_at": at(1), "type": "case", "label": "Newer"}
    older = {"event_id": "old", "occurred_at": at(2), "type": "case", "label": "Older"}
    assert send(case.reference, newer).status == 200
    reply = send(case.reference, older)
    assert reply.status == 409
    assert (reply.body["outcome"], reply.body["rule"]) == ("stale", "stale")
    assert reply.body["case"]["label"] == "Newer"
    case.refresh_from_db()
    assert case.label == "Newer"
    assert ApiEvent.objects.get(event_id="old").outcome == ApiEvent.Outcome.STALE
    # Sent again, it is answered the same.
    assert send(case.reference, older).body == reply.body


def test_an_event_from_the_future_is_refused_and_holds_nothing_back(send, case):
    ahead = {"event_id": "f", "occurred_at": at(-1), "type": "case", "label": "Ahead"}
    reply = send(case.reference, ahead)
    assert (reply.status, reply.body["outcome"]) == (422, "refused")
    assert reply.body["message"].startswith("The event occurred in the future")
    assert send(case.reference, {**ahead, "event_id": "g", "occurred_at": at()}).status == 200


def test_a_new_case_needs_its_label_type_and_team(send):
    reply = send("CP-7003", {"event_id": "e", "occurred_at": at(), "type": "case"})
    assert reply.status == 422
    assert reply.body["message"] == "A new case needs its label, case_type, team."
    assert not Case.objects.exists()
    assert ApiEvent.objects.get().outcome == ApiEvent.Outcome.REFUSED


def allocate(worker: str, event_id: str = "a-1", **fields) -> dict:  # type: ignore[no-untyped-def]
    return {
        "event_id": event_id,
        "occurred_at": at(),
        "type": "allocation",
        "worker": worker,
        **fields,
    }


def test_an_allocation_is_made_by_the_pages_rules(send, case, social_worker):
    reply = send(case.reference, allocate("worker"))
    assert reply.status == 200, reply.body
    assert reply.body["case"]["primary_worker"] == "worker"
    allocation = Allocation.objects.get(case=case)
    assert (allocation.person, allocation.allocated_by) == (social_worker, None)
    assert allocation.percent_after is not None  # the review of their caseload, kept
    assert allocation.history.get().history_change_reason == "Mosaic (API)"
    row = AccessRecord.objects.get(record_type="allocation")
    assert row.username == "Mosaic (API)"


@pytest.mark.parametrize(
    ("who", "kind", "message"),
    [
        ("student", "primary", "Ella Shah is a student: students are recorded as involved"),
        ("manager", "primary", "Claire Hughes is a team manager and carries no cases."),
        ("outsider", "primary", "Katie Lewis is not in Child Protection on"),
        ("manager", "involved", "Claire Hughes is a team manager and carries no cases."),
    ],
)
def test_an_allocation_the_rules_forbid_is_refused_and_changes_nothing(
    send, case, student, team_manager, outsider, who, kind, message
):
    reply = send(case.reference, allocate(who, kind=kind))
    assert reply.status == 422
    assert (reply.body["outcome"], reply.body["rule"]) == ("refused", "rule")
    assert reply.body["message"].startswith(message)
    assert not Allocation.objects.exists()
    assert not AccessRecord.objects.filter(action="create").exists()


def test_a_second_primary_worker_is_refused_and_a_student_may_be_involved(
    send, held_case, colleague, student
):
    reply = send(held_case.reference, allocate("colleague"))
    assert reply.status == 422
    assert "already allocated to Asha Patel" in reply.body["message"]
    assert send(held_case.reference, allocate("student", "a-2", kind="involved")).status == 200
    assert set(held_case.allocations.open().values_list("person__full_name", "kind")) == {
        ("Asha Patel", "primary"),
        ("Ella Shah", "involved"),
    }


def test_an_allocation_over_the_maximum_is_refused_for_a_manager_to_make(send, team, case):
    part_timer = member(team, full_name="Pat Low", fte=Decimal("0.10"), user__username="pat")
    assert send(case.reference, allocate("pat")).status == 200  # 6 of 10: 60%
    other = CaseFactory(team=team, reference="CP-7004")
    reply = send(other.reference, allocate("pat", "a-2"))
    assert reply.status == 422
    assert reply.body["rule"] == "over_maximum"
    assert reply.body["message"].startswith("This takes Pat Low to 120.0%, over the maximum.")
    assert part_timer.allocations.count() == 1


def test_ending_an_allocation_and_moving_a_case(send, held_case, social_worker, other_team):
    end = {"event_id": "x-1", "occurred_at": at(), "type": "allocation_end", "worker": "worker"}
    assert send(held_case.reference, end).status == 200
    assert held_case.allocations.get().end_date == timezone.localdate()
    move = {
        "event_id": "x-2",
        "occurred_at": at(),
        "type": "move",
        "team": "Looked After Children",
        "reason": "Now looked after",
    }
    reply = send(held_case.reference, move)
    assert reply.status == 200, reply.body
    assert reply.body["case"]["team"] == "Looked After Children"
    assert CaseTeamMove.objects.get().to_team == other_team


def test_a_move_to_an_unknown_team_or_a_team_of_another_service_is_refused(send, case):
    TeamFactory(service=ServiceFactory(name="Adult Social Care"), name="Hospital Discharge")
    for event_id, name in (("m-1", "No Such Team"), ("m-2", "Hospital Discharge")):
        move = {
            "event_id": event_id,
            "occurred_at": at(),
            "type": "move",
            "team": name,
            "reason": "x",
        }
        reply = send(case.reference, move)
        assert reply.status == 422
        assert reply.body["rule"] == "not_found"
        assert (
            reply.body["message"] == f"There is no team named {name!r} in Children's Social Care."
        )
    assert not CaseTeamMove.objects.exists()
    case.refresh_from_db()
    assert case.team.name == "Child Protection"


def test_an_unknown_worker_or_case_is_refused(send, case):
    reply = send(case.reference, allocate("nobody"))
    assert (reply.status, reply.body["rule"]) == (422, "not_found")
    reply = send("CP-0000", allocate("nobody", "a-2"))
    assert (reply.status, reply.body["rule"]) == (404, "not_found")
    assert not Allocation.objects.exists()


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"{not json", None),
        (b'{"occurred_at": "2026-01-01T10:00:00Z", "type": "case"}', "body.event.event_id"),
        (
            b'{"event_id": "e", "occurred_at": "2026-01-01T10:00:00", "type": "case"}',
            "body.event.occurred_at",
        ),
        (
            b'{"event_id": "e", "occurred_at": "2026-01-01T10:00:00Z", "type": "delete"}',
            "body.event.type",
        ),
        (
            b'{"event_id": "e", "occurred_at": "2026-01-01T10:00:00Z", "type": "case", '
            b'"notes": "x"}',
            "body.event.notes",
        ),
    ],
)
def test_a_malformed_body_is_refused_and_nothing_is_kept(live_server, mosaic, service, raw, where):
    _, token = mosaic
    reply = call(live_server.url, "POST", events_path(service, "CP-1"), token=token, raw=raw)
    assert reply.status == 400
    if where:
        assert where in [error["where"] for error in reply.body["errors"]]
    assert not ApiEvent.objects.exists()
    assert not Case.objects.exists()


def test_tokens_that_do_not_authenticate(live_server, mosaic, service):
    client, token = mosaic
    path = events_path(service, "CP-1")
    body = new_case()
    for sent, message in (
        (None, "Send the token in the header Authorization: Bearer <token>."),
        ("nonsense", "The token is not one Caseload issued."),
        (token[:-4] + "AAAA", "The token is not one Caseload issued."),
    ):
        reply = call(live_server.url, "POST", path, token=sent, body=body)
        assert (reply.status, reply.body["message"]) == (401, message)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    client.tokens.update(expires_at=timezone.now())
    reply = call(live_server.url, "POST", path, token=token, body=body)
    assert (reply.status, reply.body["message"]) == (401, "The token has expired.")
    client.tokens.update(
        expires_at=timezone.now() + datetime.timedelta(days=1), revoked_at=timezone.now()
    )
    reply = call(live_server.url, "POST", path, token=token, body=body)
    assert (reply.status, reply.body["message"]) == (401, "The token has been revoked.")
    assert not ApiEvent.objects.exists()
    assert not Case.objects.exists()
    assert not ApiRequestCount.objects.exists()


def test_a_token_of_another_service_finds_nothing(live_server, service, case):
    other = ServiceFactory(name="Adult Social Care")
    _, token = system_with_token("Eclipse", other)
    reply = call(
        live_server.url, "POST", events_path(service, case.reference), token=token, body=new_case()
    )
    assert (reply.status, reply.body["message"]) == (
        404,
        f"There is no service {service.pk} for this token.",
    )
    reply = call(
        live_server.url, "GET", f"/api/v1/services/{service.pk}/cases/{case.reference}", token=token
    )
    assert reply.status == 404
    assert not ApiEvent.objects.exists()


def test_a_browser_session_alone_never_authenticates(
    live_server, client, administrator, service, case
):
    client.force_login(administrator.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    for method, path, body in (
        ("GET", f"/api/v1/services/{service.pk}/cases/{case.reference}", None),
        ("POST", events_path(service, case.reference), new_case()),
    ):
        reply = call(live_server.url, method, path, body=body, headers={"Cookie": cookie})
        assert reply.status == 401
    assert not ApiEvent.objects.exists()


def test_over_the_rate_limit_a_token_waits(live_server, mosaic, service, settings):
    settings.API_RATE_LIMIT = 3
    _, token = mosaic
    _, other_token = system_with_token("LCS", service)
    path = f"/api/v1/services/{service.pk}/workers/nobody/numbers"
    assert [call(live_server.url, "GET", path, token=token).status for _ in range(3)] == [404] * 3
    reply = call(live_server.url, "GET", path, token=token)
    assert reply.status == 429
    assert 1 <= int(reply.headers["Retry-After"]) <= 60
    assert call(live_server.url, "GET", path, token=other_token).status == 404
    assert sorted(ApiRequestCount.objects.values_list("count", flat=True)) == [1, 4]


def test_a_case_and_a_workers_numbers(live_server, mosaic, service, held_case, social_worker):
    _, token = mosaic
    reply = call(
        live_server.url,
        "GET",
        f"/api/v1/services/{service.pk}/cases/{held_case.reference}",
        token=token,
    )
    assert reply.status == 200
    assert (reply.body["primary_worker"], reply.body["weight"]) == ("worker", "6")
    assert AccessRecord.objects.filter(action="view", username="Mosaic (API)").count() == 1
    reply = call(
        live_server.url, "GET", f"/api/v1/services/{service.pk}/workers/worker/numbers", token=token
    )
    assert reply.status == 200
    numbers = caseload_numbers([social_worker], timezone.localdate())[social_worker.pk]
    assert reply.body == {
        "worker": "worker",
        "day": str(timezone.localdate()),
        "case_count": 1,
        "people_count": 2,
        "weighted_load": "6",
        "capacity": "100.0",
        "capacity_percent": "6.0",
        "band": "blue",
        "band_label": numbers.band_label,
        "unrated_count": 1,
        "unit": "points",
    }


def test_a_worker_of_another_service_is_not_found(live_server, mosaic, service):
    other_team = TeamFactory(service=ServiceFactory(name="Adult Social Care"), name="Hospital")
    member(other_team, full_name="Sam Hill", user__username="sam")
    _, token = mosaic
    reply = call(
        live_server.url, "GET", f"/api/v1/services/{service.pk}/workers/sam/numbers", token=token
    )
    assert reply.status == 404
    assert Person.objects.filter(user__username="sam").exists()


def test_the_openapi_schema_is_served(live_server):
    reply = call(live_server.url, "GET", "/api/v1/openapi.json")
    assert reply.status == 200
    assert "/api/v1/services/{service_id}/cases/{reference}/events" in reply.body["paths"]
    assert reply.body["components"]["securitySchemes"]["SystemToken"]["scheme"] == "bearer"
    assert call(live_server.url, "GET", "/api/v1/docs").status == 404


def test_a_restricted_case_is_not_found_by_a_system_that_may_not_see_it(
    live_server, send, mosaic, service, held_case, team_manager, social_worker
):
    caseload_services.case_restrict(case=held_case, restricted=True, by=team_manager)
    client, token = mosaic
    path = f"/api/v1/services/{service.pk}/cases/{held_case.reference}"
    assert call(live_server.url, "GET", path, token=token).status == 404  # as for no case
    label_before = held_case.label
    for event in (
        new_case("r-1", label="Renamed"),  # would otherwise create it again
        allocate("colleague", "r-2"),
        {**allocate("worker", "r-3"), "type": "allocation_end"},
    ):
        reply = send(held_case.reference, event)
        assert (reply.status, reply.body["rule"], reply.body["case"]) == (404, "not_found", None)
        assert reply.body["message"] == (
            f"Case {held_case.reference} is not one this system may see or change."
        )
    held_case.refresh_from_db()
    assert held_case.label == label_before
    assert [a.person for a in Allocation.objects.filter(case=held_case)] == [social_worker]
    # A system allowed to see restricted cases reads and changes it.
    client.sees_restricted = True
    client.save()
    assert call(live_server.url, "GET", path, token=token).status == 200
    reply = send(held_case.reference, new_case("r-4", label="Renamed"))
    assert reply.status == 200, reply.body
    held_case.refresh_from_db()
    assert held_case.label == "Renamed"


def disable(live_server, service, username: str, token: str):  # type: ignore[no-untyped-def]
    path = f"/api/v1/services/{service.pk}/people/{username}/disabled"
    return call(live_server.url, "POST", path, token=token)


def test_the_identity_provider_disables_a_worker_whose_cases_return_to_the_queue(
    client, live_server, service, team, held_case, social_worker
):
    identity, token = system_with_token("Entra ID", service)
    identity.disables_people = True
    identity.save()
    reply = disable(live_server, service, "worker", token)
    assert (reply.status, reply.body) == (
        200,
        {"worker": "worker", "disabled": True, "allocations_ended": 1},
    )
    today = timezone.localdate()
    allocation = Allocation.objects.get(case=held_case)
    assert allocation.end_date == today  # the case waits in the team's queue from today
    assert Case.objects.unallocated().filter(pk=held_case.pk).exists()
    assert TeamMembership.objects.get(person=social_worker).end_date == today
    user = get_user_model().objects.get(pk=social_worker.user_id)
    assert not user.is_active
    client.force_login(user)
    assert client.get("/").status_code == 302 and "/sign-in/" in client.get("/")["Location"]
    # A repeat changes nothing.
    reply = disable(live_server, service, "worker", token)
    assert (reply.status, reply.body["allocations_ended"]) == (200, 0)
    assert Allocation.objects.filter(case=held_case).count() == 1


def test_only_a_system_allowed_to_disables_people_and_only_its_service_s(
    live_server, mosaic, service, held_case, social_worker
):
    _, token = mosaic  # a case-management system: not allowed
    reply = disable(live_server, service, "worker", token)
    assert reply.status == 403
    identity, token = system_with_token("Entra ID", ServiceFactory(name="Adult Social Care"))
    identity.disables_people = True
    identity.save()
    assert disable(live_server, service, "worker", token).status == 404  # not its service
    other = identity.services.get()
    assert disable(live_server, other, "worker", token).status == 404  # not in that service
    assert disable(live_server, service, "worker", "cla_not_a_token").status == 401
    social_worker.user.refresh_from_db()
    assert social_worker.user.is_active
    assert Allocation.objects.get(case=held_case).end_date is None
