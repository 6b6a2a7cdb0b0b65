"""Every URL × method × principal, with the answer each should get (ASVS
8.2.1, 8.2.2, 8.3.1): generated from the URL configuration, so a new URL
without an entry here fails. Denials are 403 or 404 and are logged; a GET
writes nothing but its audit row.

Principals, in the order of each expectation below: anonymous, the social
worker who holds the case, a colleague in the same team, a worker in another
team, their team manager (who also supervises them), the manager of another
team, a DMT member of the service, and an administrator.
"""

from __future__ import annotations

import datetime
import io
import logging
import re
import zipfile

import pytest
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from caseload import accounts
from caseload.models import Case, ImportRun, OverMaximum
from reports.models import Escalation
from supervision import services as supervision
from tests.factories import CaseFactory, PersonFactory
from weighting import services as weighting

PRINCIPALS = [
    "anonymous",
    "worker",
    "colleague",
    "outsider",
    "manager",
    "other_manager",
    "dmt",
    "admin",
]
SIGN_IN = 302  # anonymous: to the sign-in page
NOT_ALLOWED = 405  # the method is not one the page takes

# What each principal gets, for a GET and for a POST: eight codes in the order
# of PRINCIPALS. POSTs send an empty form.
EXPECTED: dict[str, tuple[str, str]] = {
    # Public pages.
    "login": ("200 302 302 302 302 302 302 302", "200 302 302 302 302 302 302 302"),
    "health": ("200 200 200 200 200 200 200 200", "405 405 405 405 405 405 405 405"),
    "accessibility": ("200 200 200 200 200 200 200 200", "405 405 405 405 405 405 405 405"),
    # Every signed-in person.
    "home": ("302 302 302 302 302 302 302 302", "302 405 405 405 405 405 405 405"),
    "logout": ("302 405 405 405 405 405 405 405", "302 302 302 302 302 302 302 302"),
    "session_keep_alive": ("302 405 405 405 405 405 405 405", "302 204 204 204 204 204 204 204"),
    # An invitation's link (here a valid one): whoever holds it goes on to set the password.
    "invitation": ("302 302 302 302 302 302 302 302", "302 302 302 302 302 302 302 302"),
    # Asking for a link to set a new password, and its answer: open to all.
    "password_reset": ("200 200 200 200 200 200 200 200", "200 200 200 200 200 200 200 200"),
    "password_reset_sent": ("200 200 200 200 200 200 200 200", "405 405 405 405 405 405 405 405"),
    # Signing in with the identity provider: not found while none is
    # configured, as here (tests/test_oidc.py covers them with one).
    "oidc_authentication_init": (
        "404 404 404 404 404 404 404 404",
        "405 405 405 405 405 405 405 405",
    ),
    "oidc_authentication_callback": (
        "404 404 404 404 404 404 404 404",
        "405 405 405 405 405 405 405 405",
    ),
    "no_role": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "team_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "service_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    # Teams: their managers, the service's DMT (sent to the dashboard), administrators.
    "team_detail": ("302 404 404 404 200 404 302 200", "302 405 405 405 405 405 405 405"),
    "team_scheme": ("302 200 200 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "scheme_draft_create": ("302 405 405 405 405 405 405 405", "302 403 403 404 302 404 403 302"),
    "scheme_edit": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "scheme_agree": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "scheme_discard": ("302 405 405 405 405 405 405 405", "302 404 404 404 302 404 404 302"),
    # Cases: those who hold them, their supervisors, the team's managers; never DMT.
    "case_detail": ("302 200 404 404 200 404 404 200", "302 405 405 405 405 405 405 405"),
    "case_allocate": ("302 404 404 404 302 404 404 302", "302 404 404 404 302 404 404 302"),
    "case_transfer": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_move_team": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_close": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_plan_closing": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_involve": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_priority": ("302 405 405 405 405 405 405 405", "302 404 404 404 302 404 404 302"),
    "case_restriction": ("302 404 404 404 200 404 404 200", "302 404 404 404 302 404 404 302"),
    "case_rate": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    # Pausing a case and ending its pause: the team's managers (the case here
    # is not paused, so ending its pause sends them back to the case).
    "case_pause": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "case_unpause": ("302 404 404 404 302 404 404 302", "302 404 404 404 302 404 404 302"),
    "case_propose": ("302 200 404 404 404 404 404 404", "302 200 404 404 404 404 404 404"),
    "allocation_done": ("302 404 404 404 200 404 404 200", "302 405 405 405 405 405 405 405"),
    "allocation_end": ("302 405 405 405 405 405 405 405", "302 404 404 404 302 404 404 302"),
    "over_maximum_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "over_maximum_review": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    # Import, export and audit.
    "import_start": ("302 403 403 403 200 200 403 200", "302 403 403 403 200 200 403 200"),
    "import_template": ("302 403 403 403 200 200 403 200", "302 405 405 405 405 405 405 405"),
    # The format guide: a page of documentation, for anyone signed in.
    "import_format": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "import_detail": ("302 404 404 404 200 404 404 404", "302 405 405 405 405 405 405 405"),
    "import_confirm": ("302 405 405 405 405 405 405 405", "302 403 403 403 302 404 403 404"),
    "import_progress": ("302 404 404 404 200 404 404 404", "302 405 405 405 405 405 405 405"),
    "export_download": ("302 403 403 403 200 200 403 200", "302 405 405 405 405 405 405 405"),
    "audit_list": ("302 403 403 403 403 403 403 200", "302 405 405 405 405 405 405 405"),
    "audit_download": ("302 403 403 403 403 403 403 200", "302 405 405 405 405 405 405 405"),
    # One's own caseload, view of workload and concerns (a manager's is empty).
    "my_caseload": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "workload_view": ("302 200 200 200 200 200 200 200", "302 200 200 200 200 200 200 200"),
    "concern_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "concern_raise": ("302 200 200 200 200 200 200 200", "302 200 200 200 200 200 200 200"),
    "concern_respond": ("302 404 404 404 200 404 404 404", "302 404 404 404 200 404 404 404"),
    # Supervision: the worker and their supervisor only (no administrator, no DMT);
    # a draft is not printed. Signing as someone else shows the form's error.
    "supervision_home": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "record_new": ("302 404 404 404 200 404 404 404", "302 404 404 404 200 404 404 404"),
    "record_detail": ("302 200 404 404 200 404 404 404", "302 403 404 404 200 404 404 404"),
    "record_sign": ("302 405 405 405 405 405 405 405", "302 200 404 404 200 404 404 404"),
    "record_addendum": ("302 405 405 405 405 405 405 405", "302 200 404 404 200 404 404 404"),
    "record_print": ("302 403 404 404 403 404 404 404", "302 405 405 405 405 405 405 405"),
    "record_pdf": ("302 403 404 404 403 404 404 404", "302 405 405 405 405 405 405 405"),
    # DMT dashboards: the service's DMT and administrators; managers their teams.
    "service_overview": ("302 404 404 404 404 404 200 200", "302 405 405 405 405 405 405 405"),
    "service_forecast": ("302 404 404 404 404 404 200 200", "302 405 405 405 405 405 405 405"),
    "service_download": ("302 404 404 404 404 404 200 200", "302 405 405 405 405 405 405 405"),
    "service_pack": ("302 404 404 404 404 404 200 200", "302 405 405 405 405 405 405 405"),
    # What if a draft were agreed: the draft team's managers and the service's
    # DMT; what if the thresholds changed: the service's DMT.
    "scheme_what_if": ("302 404 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "scheme_what_if_download": (
        "302 404 404 404 200 404 200 200",
        "302 405 405 405 405 405 405 405",
    ),
    "service_what_if": ("302 404 404 404 404 404 200 200", "302 405 405 405 405 405 405 405"),
    "service_what_if_download": (
        "302 404 404 404 404 404 200 200",
        "302 405 405 405 405 405 405 405",
    ),
    "team_dashboard": ("302 404 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "team_forecast": ("302 404 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    # The team's managers (and administrators) record vacancies; an empty POST adds nothing.
    "team_vacancies": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    # The plans of someone in the manager's team (here the worker).
    "person_plan": ("302 404 404 404 200 404 404 200", "302 404 404 404 200 404 404 200"),
    "team_download": ("302 404 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "decision_create": ("302 404 404 404 403 404 200 403", "302 404 404 404 403 404 200 403"),
    "capacity_issue_create": ("302 404 404 404 200 404 404 404", "302 404 404 404 200 404 404 404"),
    "person_dashboard": ("302 200 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "person_download": ("302 200 404 404 200 404 200 200", "302 405 405 405 405 405 405 405"),
    "decision_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "decision_download": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "escalation_list": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "escalation_download": ("302 200 200 200 200 200 200 200", "302 405 405 405 405 405 405 405"),
    "escalation_detail": ("302 200 404 404 200 404 200 200", "302 200 404 404 200 404 200 200"),
    # The case-events API: a system's token only. A session, signed in or
    # not, is no token (401, never data); the schema is public, as it holds
    # no data; the API's root is nothing.
    "api:case_events": ("405 405 405 405 405 405 405 405", "401 401 401 401 401 401 401 401"),
    "api:case": ("401 401 401 401 401 401 401 401", "405 405 405 405 405 405 405 405"),
    "api:worker_numbers": ("401 401 401 401 401 401 401 401", "405 405 405 405 405 405 405 405"),
    "api:person_disabled": ("405 405 405 405 405 405 405 405", "401 401 401 401 401 401 401 401"),
    "api:openapi-json": ("200 200 200 200 200 200 200 200", "405 405 405 405 405 405 405 405"),
    "api:api-root": ("404 404 404 404 404 404 404 404", "404 404 404 404 404 404 404 404"),
}  # fmt: skip

# The audit's own pages show the references the audit holds, to administrators
# only: reading them writes no audit row (a row a view would move the pages
# being read, and every reference there is of a case an administrator sees).
# The audit's own pages, and the import format guide (its example references
# are text of the guide, not cases).
NOT_AUDITED = {"audit_list", "audit_download", "import_format"}

# Tables a GET may write: its audit row, the session it renews, the sign-in throttle.
GET_MAY_WRITE = {"caseload_accessrecord", "django_session", "axes_accessattempt",
                 "axes_accesslog"}  # fmt: skip


def url_names() -> list[tuple[str, str]]:
    """Every named URL of the application (the Django admin has its own tests)."""

    def walk(patterns, prefix="", namespace=""):  # type: ignore[no-untyped-def]
        for pattern in patterns:
            if str(pattern.pattern).startswith("admin/"):
                continue
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                yield namespace + pattern.name, prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns))


def test_every_url_has_an_entry_in_the_matrix():
    names = {name for name, _ in url_names()}
    assert names - EXPECTED.keys() == set(), "add the new URL to EXPECTED"
    assert EXPECTED.keys() - names == set(), "a URL in EXPECTED no longer exists"


@pytest.fixture
def world(
    held_case,
    social_worker,
    colleague,
    outsider,
    team_manager,
    other_manager,
    dmt_member,
    administrator,
    default_scheme,
    team,
    service,
):
    """One of each record a URL can name, with the principals."""
    allocation = held_case.allocations.get()
    over_maximum = OverMaximum.objects.create(
        allocation=allocation,
        person=social_worker,
        reason="Court work",
        reprioritisation="Paperwork later",
        review_by=datetime.date.today() + datetime.timedelta(days=20),
    )
    CaseFactory(team=team, reference="CP-2001", label="Waiting")  # the team's queue
    draft = weighting.scheme_draft_new_version(team=team, by=team_manager)
    concern = supervision.concern_raise(person=social_worker, concern="Too many court reports")
    record = supervision.record_open(
        worker=social_worker, supervisor=team_manager, held_on=datetime.date.today()
    )
    run = ImportRun.objects.create(
        uploaded_by=team_manager.user,
        team_ids=[team.pk],
        file_name="cases.csv",
        content=b"service,reference\n",
        status=ImportRun.Status.INVALID,
    )
    escalation = Escalation.objects.create(
        person=social_worker,
        service=service,
        over_since=datetime.date.today() - datetime.timedelta(days=120),
        escalated_on=datetime.date.today(),
    )
    newcomer = PersonFactory(full_name="Nia Brown", user__username="nia")
    newcomer.user.set_unusable_password()
    newcomer.user.save()
    kwargs = {
        "invitation": {
            "uidb64": urlsafe_base64_encode(force_bytes(newcomer.user.pk)),
            "token": accounts.invitation_tokens.make_token(newcomer.user),
        },
        "team_detail": {"pk": team.pk},
        "team_scheme": {"team_pk": team.pk},
        "scheme_draft_create": {"team_pk": team.pk},
        "scheme_edit": {"pk": draft.pk},
        "scheme_agree": {"pk": draft.pk},
        "scheme_discard": {"pk": draft.pk},
        "allocation_done": {"pk": allocation.pk},
        "allocation_end": {"pk": allocation.pk},
        "over_maximum_review": {"pk": over_maximum.pk},
        "import_detail": {"pk": run.pk},
        "import_confirm": {"pk": run.pk},
        "import_progress": {"pk": run.pk},
        "concern_respond": {"pk": concern.pk},
        "record_new": {"worker_pk": social_worker.pk},
        "service_overview": {"pk": service.pk},
        "service_forecast": {"pk": service.pk},
        "service_what_if": {"pk": service.pk},
        "service_what_if_download": {"pk": service.pk, "slug": "people", "file_format": "csv"},
        "scheme_what_if": {"pk": draft.pk},
        "scheme_what_if_download": {"pk": draft.pk, "slug": "people", "file_format": "csv"},
        "service_download": {"pk": service.pk, "slug": "teams-today", "file_format": "csv"},
        "service_pack": {"pk": service.pk},
        "team_dashboard": {"pk": team.pk},
        "team_forecast": {"pk": team.pk},
        "team_vacancies": {"pk": team.pk},
        "person_plan": {"pk": social_worker.pk},
        "team_download": {"pk": team.pk, "slug": "people-today", "file_format": "csv"},
        "decision_create": {"pk": team.pk},
        "capacity_issue_create": {"pk": team.pk},
        "person_dashboard": {"pk": social_worker.pk},
        "person_download": {"pk": social_worker.pk, "slug": "case-types", "file_format": "csv"},
        "decision_download": {"slug": "decisions", "file_format": "csv"},
        "escalation_download": {"file_format": "csv"},
        "escalation_detail": {"pk": escalation.pk},
        "api:case_events": {"service_id": service.pk, "reference": held_case.reference},
        "api:case": {"service_id": service.pk, "reference": held_case.reference},
        "api:worker_numbers": {"service_id": service.pk, "username": "worker"},
        "api:person_disabled": {"service_id": service.pk, "username": "worker"},
    }
    for name in ("case_detail", "case_allocate", "case_transfer", "case_move_team", "case_close",
                 "case_plan_closing",
                 "case_involve", "case_priority", "case_restriction", "case_rate",
                 "case_propose", "case_pause", "case_unpause"):  # fmt: skip
        kwargs[name] = {"pk": held_case.pk}
    for name in ("record_detail", "record_sign", "record_addendum", "record_print", "record_pdf"):
        kwargs[name] = {"pk": record.pk}
    people = {
        "anonymous": None,
        "worker": social_worker,
        "colleague": colleague,
        "outsider": outsider,
        "manager": team_manager,
        "other_manager": other_manager,
        "dmt": dmt_member,
        "admin": administrator,
    }
    return kwargs, people


class _Undo(Exception):
    """Leaves the database as it was before the request."""


def ask(person, method: str, url: str) -> tuple[int, list[str], str]:  # type: ignore[no-untyped-def]
    """One request in a savepoint that is rolled back; the status, the
    tables it wrote to (once a statement), and what it showed."""
    client = Client()
    if person is not None:
        client.force_login(person.user)
    outcome: tuple[int, list[str], str] = (0, [], "")
    # A request empties the query log as it starts, and the capture reads the
    # log from the length it had before: empty it first, or the capture would
    # skip as many of this request's queries as the last one left behind.
    reset_queries()
    try:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            response = client.generic(method, url)
            written = [
                match.group(1).strip('"')
                for q in queries.captured_queries
                if (
                    match := re.match(
                        r'\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+("?\w+"?)', q["sql"]
                    )
                )
            ]
            outcome = (response.status_code, written, shown(response))
            raise _Undo
    except _Undo:
        pass
    return outcome


def shown(response) -> str:  # type: ignore[no-untyped-def]
    """The text of a page or a downloaded file (an .xlsx or .zip is unpacked)."""
    content = b"".join(response) if response.streaming else response.content
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return " ".join(book.read(name).decode(errors="replace") for name in book.namelist())
    return content.decode(errors="replace")


def test_every_url_answers_each_principal_as_expected_and_logs_denials(world, caplog):
    kwargs, people = world
    caplog.set_level(logging.WARNING, logger="caseload.security")
    wrong, leaks, pairs, denied, audited = [], [], 0, 0, 0
    references = list(Case.objects.values_list("reference", flat=True))
    for name, _ in url_names():
        url = reverse(name, kwargs=kwargs.get(name))
        for method in ("GET", "POST"):
            expected = EXPECTED[name][0 if method == "GET" else 1].split()
            for principal, want in zip(PRINCIPALS, expected, strict=True):
                caplog.clear()
                status, written, text = ask(people[principal], method, url)
                pairs += 1
                if str(status) != want:
                    wrong.append(f"{name} {method} {principal}: {status}, expected {want}")
                    if status < 300 and int(want) >= 400:
                        leaks.append(f"{name} {method} {principal}")
                if status in (403, 404):
                    denied += 1
                    logged = [r.getMessage() for r in caplog.records]
                    if not any(f"denied {status} {method} {url}" in m for m in logged):
                        wrong.append(f"{name} {method} {principal}: {status} not logged")
                # A page or file that shows case references writes one audit row.
                rows = written.count("caseload_accessrecord")
                if (
                    method == "GET"
                    and status == 200
                    and name not in NOT_AUDITED
                    and any(r in text for r in references)
                ):
                    audited += 1
                    if rows != 1:
                        wrong.append(f"{name} GET {principal} shows cases, {rows} audit rows")
                elif rows > 1:
                    wrong.append(f"{name} {method} {principal}: {rows} audit rows")
                if method == "GET":
                    side_effects = set(written) - GET_MAY_WRITE
                    if side_effects:
                        wrong.append(f"{name} GET {principal} wrote to {sorted(side_effects)}")
    print(
        f"access matrix: {pairs} pairs checked, {denied} denials logged, {len(leaks)} leaks, "
        f"{audited} views of case references audited"
    )
    assert wrong == [], "\n".join(wrong)
    assert leaks == []
