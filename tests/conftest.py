"""Fixtures named by role, and the rule that CI never skips a real service."""

import datetime
import os

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from allocation import services as allocation_services
from caseload import services
from caseload.models import Allocation, Case, Person
from tests.factories import CaseFactory, PersonFactory, ServiceFactory, TeamFactory, member
from weighting import services as weighting

# Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """A missing service skips on a newcomer's machine and fails under CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _required_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL=postgres://…")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        skip_or_fail("needs Redis: set REDIS_URL=redis://…")


@pytest.fixture(autouse=True)
def _session_renewed_on_every_request(settings) -> None:  # type: ignore[no-untyped-def]
    """A request renews the session at most once a minute; in tests every
    request does, so that a page's query count does not depend on how long
    ago the previous request was (tests of the renewal itself set it back)."""
    settings.SESSION_RENEW_SECONDS = 0


TODAY = timezone.localdate


def days_ago(days: int) -> datetime.date:
    return TODAY() - datetime.timedelta(days=days)


@pytest.fixture
def service(db):
    """Children's Social Care, with the default weighting scheme agreed long ago."""
    service = ServiceFactory(name="Children's Social Care")
    weighting.scheme_create_default(service=service, agreed_on=days_ago(800))
    return service


@pytest.fixture
def default_scheme(service):
    return service.schemes.get()


@pytest.fixture
def team(service):
    return TeamFactory(service=service, name="Child Protection")


@pytest.fixture
def other_team(service):
    return TeamFactory(service=service, name="Looked After Children")


@pytest.fixture
def team_manager(team):
    manager = PersonFactory(
        full_name="Claire Hughes",
        role=Person.Role.TEAM_MANAGER,
        service=team.service,
        user__username="manager",
    )
    team.managers.add(manager)
    return manager


@pytest.fixture
def other_manager(other_team):
    manager = PersonFactory(
        full_name="James Carter",
        role=Person.Role.TEAM_MANAGER,
        service=other_team.service,
        user__username="other.manager",
    )
    other_team.managers.add(manager)
    return manager


@pytest.fixture
def social_worker(team, team_manager):
    return member(team, full_name="Asha Patel", supervisor=team_manager, user__username="worker")


@pytest.fixture
def colleague(team, team_manager):
    return member(
        team, full_name="Daniel Reid", supervisor=team_manager, user__username="colleague"
    )


@pytest.fixture
def student(team, social_worker):
    return member(
        team,
        full_name="Ella Shah",
        role=Person.Role.STUDENT,
        supervisor=social_worker,
        user__username="student",
    )


@pytest.fixture
def outsider(other_team, other_manager):
    """A social worker in another team of the same service."""
    return member(
        other_team, full_name="Katie Lewis", supervisor=other_manager, user__username="outsider"
    )


@pytest.fixture
def dmt_member(service):
    return PersonFactory(
        full_name="Dana Morris",
        role=Person.Role.SENIOR_MANAGER,
        service=service,
        user__username="dmt",
    )


@pytest.fixture
def other_dmt_member(db):
    return PersonFactory(
        full_name="Rob Ellis",
        role=Person.Role.SENIOR_MANAGER,
        service=ServiceFactory(name="Adult Social Care", kind="adults"),
        user__username="dmt.adults",
    )


@pytest.fixture
def administrator(db):
    """Staff in the Administrators group, as the role makes them: never a superuser."""
    person = PersonFactory(
        full_name="Alex Morgan", role=Person.Role.ADMINISTRATOR, user__username="admin"
    )
    services.person_keep_access(person)
    return person


@pytest.fixture
def case(team):
    return CaseFactory(team=team, reference="CP-1042", label="Sibling group, neglect")


@pytest.fixture
def held_case(case, social_worker, team_manager) -> Case:
    """CP-1042, held by the social worker since 60 days ago."""
    allocation_services.allocation_create(
        case=case, person=social_worker, start_date=days_ago(60), allocated_by=team_manager
    )
    return case


def primary_holders(case: Case) -> list[Person]:
    return [
        a.person
        for a in Allocation.objects.filter(case=case, kind="primary", end_date__isnull=True)
    ]


def empty_the_database() -> None:
    """`flush`, inside the test's transaction (rolled back after it)."""
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with deferred foreign-key checks pending.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    ContentType.objects.clear_cache()


@pytest.fixture
def emptied_afterwards():
    yield
    ContentType.objects.clear_cache()  # flush made new content types, now rolled back


@pytest.fixture
def provider(db, settings):
    """An OpenID Connect provider on loopback, that Caseload signs in with
    (tests/oidc_provider.py)."""
    from tests.oidc_provider import running_provider

    with running_provider() as provider:
        for name, value in provider.settings(settings.CONTENT_SECURITY_POLICY).items():
            setattr(settings, name, value)
        yield provider
