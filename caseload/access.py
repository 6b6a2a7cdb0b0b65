"""Who may see what: the one module that decides it (DESIGN.md, "Who sees what").

Views never query a model directly for something a user asked to see: they go
through the scoped querysets here, so a record outside the user's scope is a
404 rather than a check that someone might forget.

- own caseload and the cases one holds: the worker;
- a person's caseload numbers: supervisors (supervisees), managers (their teams'
  people), senior managers (the service's people), administrators;
- a case page: workers who hold or are involved in it, supervisors of those
  workers, managers of its team, administrators; never DMT (no case labels).
- a restricted case: its team's managers, the workers allocated to it and
  their supervisors, and the people named on it; no one else, administrators
  included, sees its reference or label: lists show that a restricted case is
  there (`hidden_case_ids`), and its pages are a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from caseload.models import (
    Allocation,
    Case,
    CaseQuerySet,
    ImportRun,
    NamedOnCase,
    OverMaximum,
    Person,
    Service,
    Team,
    TeamMembership,
)

User = AbstractBaseUser | AnonymousUser

# What a list shows in place of the reference of a restricted case hidden from its reader.
RESTRICTED = "Restricted case"


def person_of(user: User) -> Person | None:
    """The person record behind a log-in, if there is one."""
    if not user.is_authenticated:
        return None
    try:
        return user.person  # type: ignore[union-attr]
    except Person.DoesNotExist:
        return None


def is_administrator(user: User) -> bool:
    """Someone with the administrator role. Superuser status alone is not
    enough: the break-glass superuser works in the admin only (README)."""
    person = person_of(user)
    return person is not None and person.role == Person.Role.ADMINISTRATOR


def is_senior_manager(user: User) -> bool:
    person = person_of(user)
    return person is not None and person.role == Person.Role.SENIOR_MANAGER


def is_senior_manager_of(user: User, service_id: int) -> bool:
    """A member of this service's DMT."""
    person = person_of(user)
    return (
        person is not None
        and person.role == Person.Role.SENIOR_MANAGER
        and person.service_id is not None
        and person.service_id == service_id
    )


def managed_team_ids(person: Person) -> QuerySet:
    return Team.objects.filter(managers=person).values("pk")


def people_in_managed_teams(person: Person) -> QuerySet:
    """The people in the teams `person` manages, today."""
    return (
        TeamMembership.objects.active_on(timezone.localdate())
        .filter(team__in=managed_team_ids(person))
        .values("person_id")
    )


def of_own_service(queryset: QuerySet, person: Person) -> QuerySet:
    """A senior manager's scope: their service's records, and none while they
    have no service (not everyone else's who has none)."""
    if person.service_id is None:
        return queryset.none()
    return queryset.filter(service_id=person.service_id)


def teams_visible_to(user: User) -> QuerySet[Team]:
    """Teams whose pages the user may open: managers their own, DMT the service's."""
    if is_administrator(user):
        return Team.objects.all()
    person = person_of(user)
    if person is None:
        return Team.objects.none()
    if person.role == Person.Role.SENIOR_MANAGER:
        return of_own_service(Team.objects.all(), person)
    return Team.objects.filter(managers=person)


def services_visible_to(user: User) -> QuerySet[Service]:
    """Services whose overview the user may open (DMT and administrators)."""
    if is_administrator(user):
        return Service.objects.all()
    person = person_of(user)
    if person is not None and person.role == Person.Role.SENIOR_MANAGER:
        return Service.objects.filter(pk=person.service_id)
    return Service.objects.none()


def people_visible_to(user: User) -> QuerySet[Person]:
    """People whose caseload numbers the user may see."""
    if is_administrator(user):
        return Person.objects.all()
    person = person_of(user)
    if person is None:
        return Person.objects.none()
    if person.role == Person.Role.SENIOR_MANAGER:
        return of_own_service(Person.objects.all(), person)
    today = timezone.localdate()
    in_managed_teams = (
        TeamMembership.objects.active_on(today)
        .filter(team__in=managed_team_ids(person))
        .values("person_id")
    )
    return Person.objects.filter(
        Q(pk=person.pk) | Q(supervisor=person) | Q(pk__in=in_managed_teams)
    )


def named_on(person: Person | None) -> Q:
    """The restricted cases `person` is named on."""
    if person is None:
        return Q(pk__in=[])
    return Q(restricted=True, pk__in=NamedOnCase.objects.filter(person=person).values("case_id"))


def not_restricted_unless_named(user: User) -> Q:
    """An administrator's cases: all but the restricted ones they are not
    named on (they manage every team, but not what a team keeps restricted)."""
    return Q(restricted=False) | named_on(person_of(user))


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Cases whose page (label, ratings, history) the user may open.

    Workers see the cases they hold or are involved in now; supervisors also
    their supervisees' cases; managers their teams' cases; anyone the
    restricted cases they are named on. DMT sees no other case labels.
    """
    if is_administrator(user):
        return Case.objects.filter(not_restricted_unless_named(user))
    person = person_of(user)
    if person is None:
        return Case.objects.none()
    if person.role == Person.Role.SENIOR_MANAGER:
        return Case.objects.filter(named_on(person))
    open_allocations = Allocation.objects.open()
    held = open_allocations.filter(person=person).values("case_id")
    supervisees = open_allocations.filter(person__supervisor=person).values("case_id")
    return Case.objects.filter(
        Q(team__in=managed_team_ids(person))
        | Q(pk__in=held)
        | Q(pk__in=supervisees)
        | named_on(person)
    )


def not_hidden_from(user: User, case: str = "") -> Q:
    """Rows (of cases, or of records whose case is at the path `case`, e.g.
    "case__") the user may see in the admin: every case not restricted, and
    the restricted ones they may see."""
    return Q(**{f"{case}restricted": False}) | Q(
        **{f"{case}pk__in": cases_visible_to(user).filter(restricted=True).values("pk")}
    )


def hidden_from(user: User) -> CaseQuerySet:
    """The restricted cases this user may not see."""
    return Case.objects.filter(restricted=True).exclude(pk__in=cases_visible_to(user).values("pk"))


def hidden_case_ids(user: User, cases: Iterable[int] | QuerySet) -> set[int]:
    """Which of `cases` (ids, or a queryset of cases) are restricted and not
    for this user's eyes: a list shows them as "Restricted case", without
    reference, label or link. One query, whatever the number of cases."""
    ids = cases.values("pk") if isinstance(cases, QuerySet) else list(cases)
    return set(hidden_from(user).filter(pk__in=ids).values_list("pk", flat=True))


def hidden_references(user: User) -> set[str]:
    """The references, upper-cased, of the restricted cases this user may not
    see: records that hold only a reference (the audit) show these as a
    restricted case. A reference found in two services is hidden in both."""
    return {
        reference.upper() for reference in hidden_from(user).values_list("reference", flat=True)
    }


def get_case_for_user(user: User, pk: int) -> Case:
    return get_object_or_404(cases_visible_to(user).select_related("team", "service"), pk=pk)


def get_team_for_user(user: User, pk: int, **annotations: Any) -> Team:
    """The team, if the user may see it, with `managed_by_user`: whether they
    may change its cases, allocations and scheme (`manages_team`), and any
    `annotations` a page needs of the team, read in the same query."""
    managed = teams_managed_by(user).filter(pk=OuterRef("pk"))
    return get_object_or_404(
        teams_visible_to(user)
        .select_related("service")
        .annotate(managed_by_user=Exists(managed), **annotations),
        pk=pk,
    )


def get_service_for_user(user: User, pk: int) -> Service:
    return get_object_or_404(services_visible_to(user), pk=pk)


def teams_managed_by(user: User) -> QuerySet[Team]:
    """Teams whose cases, allocations and scheme the user may change."""
    if is_administrator(user):
        return Team.objects.all()
    person = person_of(user)
    if person is None:
        return Team.objects.none()
    return Team.objects.filter(managers=person)


def get_person_for_manager(user: User, pk: int) -> Person:
    """Someone in a team the user manages today (anyone, for an administrator),
    whose plans the user may record."""
    if is_administrator(user):
        people = Person.objects.all()
    else:
        manager = person_of(user)
        people = (
            Person.objects.filter(pk__in=people_in_managed_teams(manager))
            if manager
            else Person.objects.none()
        )
    return get_object_or_404(people.select_related("service"), pk=pk)


def get_team_for_manager(user: User, pk: int) -> Team:
    """A team the user may change: one they manage (or any, for an administrator)."""
    return get_object_or_404(teams_managed_by(user).select_related("service"), pk=pk)


def manages_team(user: User, team: Team) -> bool:
    return teams_managed_by(user).filter(pk=team.pk).exists()


def get_team_for_scheme_page(user: User, pk: int) -> Team:
    """A team's weighting scheme is open to those who see the team and to its
    own members, who rate against it."""
    person = person_of(user)
    own_team = (
        TeamMembership.objects.active_on(timezone.localdate())
        .filter(person=person)
        .values("team_id")
        if person
        else TeamMembership.objects.none().values("team_id")
    )
    teams = Team.objects.filter(Q(pk__in=teams_visible_to(user).values("pk")) | Q(pk__in=own_team))
    return get_object_or_404(teams.select_related("service"), pk=pk)


def cases_managed_by(user: User) -> CaseQuerySet:
    """The cases the user may change: those of the teams they manage (an
    administrator: every team's, less the restricted ones not named on)."""
    cases = Case.objects.filter(team__in=teams_managed_by(user))
    if is_administrator(user):
        return cases.filter(not_restricted_unless_named(user))
    return cases


def get_case_for_manager(user: User, pk: int) -> Case:
    """A case the user may change: one in a team they manage."""
    return get_object_or_404(cases_managed_by(user).select_related("team", "service"), pk=pk)


def over_maximum_visible_to(user: User) -> QuerySet[OverMaximum]:
    """Over-maximum allocations of cases the user may change."""
    return OverMaximum.objects.filter(allocation__case__in=cases_managed_by(user))


def get_over_maximum_for_manager(user: User, pk: int) -> OverMaximum:
    return get_object_or_404(
        over_maximum_visible_to(user).select_related("person__service", "allocation__case"), pk=pk
    )


def get_allocation_for_manager(user: User, pk: int) -> Allocation:
    return get_object_or_404(
        Allocation.objects.filter(case__in=cases_managed_by(user)).select_related("case", "person"),
        pk=pk,
    )


def supervises(person: Person) -> bool:
    """Administrators and senior managers supervise nobody (the rule of
    services.check_supervisor): a supervisor link recorded before that rule
    gives them nothing a supervisor sees."""
    return person.role not in (Person.Role.ADMINISTRATOR, Person.Role.SENIOR_MANAGER)


def supervisees_of(user: User) -> QuerySet[Person]:
    person = person_of(user)
    if person is None or not supervises(person):
        return Person.objects.none()
    return Person.objects.filter(supervisor=person)


def home_url(user: User) -> str:
    """Where each role lands after signing in."""
    person = person_of(user)
    if is_administrator(user):
        return reverse("service_list")
    if person is None:
        return reverse("no_role")
    if person.role == Person.Role.SENIOR_MANAGER and person.service_id:
        return reverse("service_overview", args=[person.service_id])
    if person.role == Person.Role.TEAM_MANAGER:
        team_ids = list(teams_visible_to(user).values_list("pk", flat=True)[:2])
        if len(team_ids) == 1:
            return reverse("team_detail", args=[team_ids[0]])
        return reverse("team_list")
    if person.role in Person.INVOLVED_ROLES:
        return reverse("my_caseload")
    return reverse("no_role")


def may_record_decision(user: User, team: Team) -> bool:
    """DMT decisions are recorded by the service's senior managers."""
    return is_senior_manager_of(user, team.service_id)


def may_raise_capacity_issue(user: User, team: Team) -> bool:
    """A team's own managers put its capacity issues on the DMT agenda."""
    person = person_of(user)
    return person is not None and team.managers.filter(pk=person.pk).exists()


def get_team_for_capacity_issue(user: User, pk: int) -> Team:
    """A team whose manager may put a capacity issue on the DMT agenda."""
    person = person_of(user)
    teams = Team.objects.filter(managers=person) if person else Team.objects.none()
    return get_object_or_404(teams.select_related("service"), pk=pk)


def get_person_for_dashboard(user: User, pk: int) -> Person:
    """A person's numbers (never their cases): see `people_visible_to`."""
    return get_object_or_404(people_visible_to(user).select_related("service"), pk=pk)


def import_scope(user: User) -> list[int] | bool | None:
    """What an import by this user may touch: None for the whole council (an
    administrator), the ids of the teams a manager manages, or False for
    anyone else."""
    if is_administrator(user):
        return None
    person = person_of(user)
    if person is not None and person.role == Person.Role.TEAM_MANAGER:
        return sorted(Team.objects.filter(managers=person).values_list("pk", flat=True))
    return False


def imports_visible_to(user: User) -> QuerySet[ImportRun]:
    """Each person sees the imports they uploaded."""
    if not user.is_authenticated:
        return ImportRun.objects.none()
    return ImportRun.objects.filter(uploaded_by=user)


def get_import_for_user(user: User, pk: int) -> ImportRun:
    return get_object_or_404(imports_visible_to(user), pk=pk)
