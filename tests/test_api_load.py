"""The case-events API under repeats sent at once (PostgreSQL), and its
query counts, which do not grow with the data."""

from __future__ import annotations

import datetime
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.utils import timezone

from allocation import services as allocation_services
from api.models import ApiEvent
from caseload.models import AccessRecord, Allocation, Case
from tests.api_client import call, events_path, system_with_token
from tests.factories import CaseFactory, member

pytestmark = pytest.mark.usefixtures("default_scheme")


def at() -> str:
    return timezone.now().isoformat()


def all_at_once(count: int, send) -> list:  # type: ignore[no-untyped-def]
    """`send(i)` from `count` threads released together; their replies."""
    start = threading.Barrier(count)

    def one(i: int):  # type: ignore[no-untyped-def]
        start.wait()
        return send(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.postgres
def test_the_same_event_sent_many_times_at_once_is_applied_once(
    live_server, service, team, social_worker
):
    _, token = system_with_token("Mosaic", service)
    create = {
        "event_id": "create-1",
        "occurred_at": at(),
        "type": "case",
        "label": "Two siblings",
        "case_type": "cp",
        "team": team.name,
    }
    path = events_path(service, "CP-9001")
    replies = all_at_once(
        8, lambda i: call(live_server.url, "POST", path, token=token, body=create)
    )
    assert {r.status for r in replies} == {200}
    assert len({json.dumps(r.body, sort_keys=True) for r in replies}) == 1
    assert Case.objects.filter(reference="CP-9001").count() == 1
    assert AccessRecord.objects.filter(action="create", record_type="case").count() == 1

    allocate = {
        "event_id": "alloc-1",
        "occurred_at": at(),
        "type": "allocation",
        "worker": "worker",
    }
    replies = all_at_once(
        8, lambda i: call(live_server.url, "POST", path, token=token, body=allocate)
    )
    assert {r.status for r in replies} == {200}
    assert Allocation.objects.count() == 1
    assert ApiEvent.objects.count() == 2


@pytest.mark.postgres
def test_different_events_allocating_one_case_at_once_allocate_it_once(
    live_server, service, team, case
):
    workers = [member(team, full_name=f"Worker {i}", user__username=f"w{i}") for i in range(6)]
    _, token = system_with_token("Mosaic", service)
    path = events_path(service, case.reference)
    occurred_at = at()  # the same moment: none is older than another

    def allocate(i: int):  # type: ignore[no-untyped-def]
        event = {
            "event_id": f"a-{i}",
            "occurred_at": occurred_at,
            "type": "allocation",
            "worker": f"w{i}",
        }
        return call(live_server.url, "POST", path, token=token, body=event)

    replies = all_at_once(len(workers), allocate)
    assert sorted(r.status for r in replies) == [200] + [422] * 5
    assert Allocation.objects.filter(case=case, end_date__isnull=True).count() == 1
    assert ApiEvent.objects.filter(outcome="refused").count() == 5


@pytest.fixture
def busy_team(team, service):
    """The team with `n` workers each holding a case, and `n` cases waiting."""

    def make(n: int) -> None:
        for i in range(n):
            worker = member(team, full_name=f"Busy {i}", user__username=f"busy{i}")
            held = CaseFactory(team=team, reference=f"H-{i}")
            allocation_services.allocation_create(
                case=held,
                person=worker,
                start_date=timezone.localdate() - datetime.timedelta(days=10),
                allocated_by=None,
            )
            CaseFactory(team=team, reference=f"Q-{i}")

    return make


@pytest.mark.parametrize("size", [1, 20])
def test_an_event_and_the_numbers_take_the_same_queries_at_any_size(
    service, team, social_worker, busy_team, size, django_assert_max_num_queries
):
    busy_team(size)
    case = CaseFactory(team=team, reference="CP-9100")
    _, token = system_with_token("Mosaic", service)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    event = {"event_id": "a-1", "occurred_at": at(), "type": "allocation", "worker": "worker"}
    # The token, its count, the event's row, the locks, the rules, the
    # worker's numbers with the case's pause, the allocation, its audit and
    # history, the answer.
    with django_assert_max_num_queries(38):
        response = client.post(
            events_path(service, case.reference), json.dumps(event), content_type="application/json"
        )
    assert response.status_code == 200, response.content
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/services/{service.pk}/workers/busy0/numbers")
    assert response.status_code == 200
    with django_assert_max_num_queries(11):  # with its pause in force
        response = client.get(f"/api/v1/services/{service.pk}/cases/H-0")
    assert response.status_code == 200
