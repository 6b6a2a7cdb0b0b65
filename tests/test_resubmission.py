"""A form sent twice (a double click, a retry after a timeout) saves once:
each form that creates something carries a single-use token, and a second
submission of it is answered with the outcome of the first."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from caseload.dates import Quarter
from caseload.models import Allocation
from reports.models import CapacityIssue, DmtDecision
from supervision.models import SupervisionRecord, WorkloadConcern, WorkloadView
from tests.brokers import wait_for
from tests.factories import CaseFactory
from tests.pages import hidden_fields
from tests.scenarios import END, rate


def date_fields(prefix: str, day) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        f"{prefix}_0": str(day.day),
        f"{prefix}_1": str(day.month),
        f"{prefix}_2": str(day.year),
    }


@dataclass
class Form:
    """A form that creates something: who sends it, where, what, and the rows it makes."""

    who: str
    url: Callable[[dict], str]
    data: Callable[[dict], dict]
    model: type


def _quarter_key() -> str:
    return f"{Quarter.containing(timezone.localdate()).previous.start:%Y-%m}"


FORMS = {
    "concern": Form(
        "worker",
        lambda w: reverse("concern_raise"),
        lambda w: {"concern": "Three new court cases this week"},
        WorkloadConcern,
    ),
    "workload view": Form(
        "worker",
        lambda w: reverse("workload_view"),
        lambda w: {"scale": "3", "comment": "Stretched"},
        WorkloadView,
    ),
    "capacity issue": Form(
        "manager",
        lambda w: reverse("capacity_issue_create", args=[w["team"].pk]),
        lambda w: {"summary": "Two vacancies", "detail": "Caseloads above 22 children."},
        CapacityIssue,
    ),
    "DMT decision": Form(
        "dmt",
        lambda w: reverse("decision_create", args=[w["team"].pk]),
        lambda w: {
            "quarter": _quarter_key(),
            "kind": "agreed",
            "reason": "Court-heavy work",
            "actions": "",
            **date_fields("meeting_on", timezone.localdate()),
            **date_fields("review_by", timezone.localdate() + datetime.timedelta(days=60)),
            "minute_reference": "DMT/12/3",
        },
        DmtDecision,
    ),
    "supervision record": Form(
        "manager",
        lambda w: reverse("record_new", args=[w["worker"].pk]),
        lambda w: date_fields("held_on", timezone.localdate()),
        SupervisionRecord,
    ),
    "allocation": Form(
        "manager",
        lambda w: reverse("case_allocate", args=[w["case"].pk]),
        lambda w: {"worker": w["colleague"].pk},
        Allocation,
    ),
}


@pytest.fixture
def world(team, team_manager, social_worker, colleague, dmt_member, default_scheme):
    case = CaseFactory(team=team, reference="CP-3003", opened_on=END)
    rate(case, default_scheme, (2, 2, 1), END)
    return {
        "team": team,
        "worker": social_worker,
        "colleague": colleague,
        "case": case,
        "people": {"worker": social_worker, "manager": team_manager, "dmt": dmt_member},
    }


def signed_in(person) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(person.user)
    return client


def filled_in(client: Client, form: Form, world: dict) -> tuple[str, dict]:
    url = form.url(world)
    page = client.get(url)
    assert page.status_code == 200
    return url, {**hidden_fields(page), **form.data(world)}


@pytest.mark.django_db
@pytest.mark.parametrize("name", FORMS)
def test_a_form_sent_twice_saves_once_and_both_answers_go_to_the_same_place(name, world):
    form = FORMS[name]
    client = signed_in(world["people"][form.who])
    before = form.model.objects.count()
    url, data = filled_in(client, form, world)
    first = client.post(url, data)
    assert first.status_code == 302, first.content.decode()[:2000]
    again = client.post(url, data)
    assert form.model.objects.count() == before + 1
    assert again.status_code == 302
    assert again["Location"] == first["Location"]
    page = client.get(again["Location"]).content.decode()
    assert "This form was already sent" in page


@pytest.mark.django_db
def test_a_form_filled_in_again_saves_again(world):
    """Each view of a form is a new submission: a second concern raised from
    a fresh form is saved too."""
    client = signed_in(world["worker"])
    for _ in range(2):
        url, data = filled_in(client, FORMS["concern"], world)
        assert client.post(url, data).status_code == 302
    assert WorkloadConcern.objects.count() == 2


@pytest.mark.django_db
def test_a_form_sent_with_errors_can_be_corrected_and_sent_with_the_same_token(world):
    client = signed_in(world["worker"])
    url, data = filled_in(client, FORMS["concern"], world)
    refused = client.post(url, {**data, "concern": ""})
    assert refused.status_code == 200 and "Say what is wrong" in refused.content.decode()
    assert client.post(url, data).status_code == 302
    assert WorkloadConcern.objects.count() == 1


@pytest.mark.django_db
def test_someone_else_s_token_gets_nothing_of_theirs(world):
    url, data = filled_in(signed_in(world["worker"]), FORMS["concern"], world)
    assert signed_in(world["worker"]).post(url, data).status_code == 302
    response = signed_in(world["colleague"]).post(url, data)
    assert response.status_code == 400
    assert WorkloadConcern.objects.count() == 1


@pytest.mark.django_db
def test_a_token_that_is_not_one_is_ignored(world):
    client = signed_in(world["worker"])
    url, data = filled_in(client, FORMS["concern"], world)
    assert client.post(url, {**data, "form_token": "'; DROP TABLE x; --"}).status_code == 302
    assert WorkloadConcern.objects.count() == 1


@pytest.mark.django_db
def test_two_managers_allocating_one_case_get_a_clear_answer(world, other_manager, team):
    """Not a resubmission: two forms, two tokens. The case's one open
    primary allocation (a database constraint) decides; the second manager
    is told, not shown an error page."""
    team.managers.add(other_manager)
    first, second = signed_in(world["people"]["manager"]), signed_in(other_manager)
    sent = [filled_in(client, FORMS["allocation"], world) for client in (first, second)]
    assert first.post(*sent[0]).status_code == 302
    response = second.post(*sent[1])
    assert response.status_code == 302
    assert "already has a worker" in second.get(response["Location"]).content.decode()
    assert Allocation.objects.filter(case=world["case"], kind="primary").count() == 1


# Two at once, on PostgreSQL ---------------------------------------------------------------


def waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["concern", "DMT decision", "allocation"])
def test_a_form_sent_twice_at_once_saves_once(name, world):
    """Both requests are held at the same moment (the table they write is
    locked) and let go together: one saves, the other waits for it and is
    answered with its outcome."""
    form = FORMS[name]
    client = signed_in(world["people"][form.who])
    url, data = filled_in(client, form, world)
    before = form.model.objects.count()
    answers: list = [None, None]

    def send(n: int) -> None:
        try:
            answers[n] = client.post(url, data)
        finally:
            connections.close_all()

    held = connections.create_connection("default")
    held.set_autocommit(False)
    with held.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {form.model._meta.db_table} IN EXCLUSIVE MODE")
    threads = [threading.Thread(target=send, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: waiting_on_locks() == 2, 20, "both requests to wait")
    finally:
        held.rollback()
        held.close()
        for thread in threads:
            thread.join(30)
    assert form.model.objects.count() == before + 1
    assert [a.status_code for a in answers] == [302, 302]
    assert answers[0]["Location"] == answers[1]["Location"]
