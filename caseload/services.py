"""Writes to the core records: cases, their teams and closing, ending
allocations, people, team memberships and invitations. Every path that
writes (pages, admin, commands, imports) comes through these functions, so
the rules that span tables live here once: team managers, senior managers
and administrators carry no caseload; a case belongs to its team's service.
Starting an allocation, which weighs the worker's numbers, is
`allocation.services`.

Each function checks its rules inside a transaction that holds a row lock on
the case, so two managers acting at once cannot both succeed; the database
constraints are the last guard.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload import accounts, audit
from caseload.dates import long_date
from caseload.models import (
    Allocation,
    Case,
    CaseTeamMove,
    FteChange,
    NamedOnCase,
    Notification,
    Person,
    Service,
    Team,
    TeamMembership,
    Vacancy,
)
from caseload.notifications import notify_many
from caseload.signals import numbers_changed_on


class RuleBroken(ValidationError):
    """A write that the domain rules refuse, with a message for the user."""


def _today() -> datetime.date:
    return timezone.localdate()


def lock_case(case: Case) -> Case:
    """The case, locked until the transaction ends: one write to a case's
    allocations at a time."""
    return Case.objects.select_for_update().select_related("team").get(pk=case.pk)


def case_create(
    *,
    team: Team,
    reference: str,
    label: str,
    case_type: str,
    opened_on: datetime.date,
    people_count: int = 1,
    priority: int = Case.Priority.NORMAL,
    by: Person | None = None,
) -> Case:
    reference = reference.strip()
    if not reference:
        raise RuleBroken("Enter the case reference.")
    if opened_on > _today():
        raise RuleBroken("A case cannot be opened in the future.")
    if Case.objects.filter(service_id=team.service_id, reference=reference).exists():
        raise RuleBroken(f"There is already a case {reference} in this service.")
    case = Case(
        service_id=team.service_id,
        team=team,
        reference=reference,
        label=label.strip(),
        case_type=case_type,
        people_count=people_count,
        priority=priority,
        opened_on=opened_on,
    )
    try:
        # Field rules (lengths, choices) with readable messages; the table's
        # constraints are left to the database rather than re-queried here.
        case.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise RuleBroken(error.messages) from None
    with transaction.atomic():
        case.save()
        audit.record(by, audit.Action.CREATE, case)
    return case


def allocation_end(
    *,
    allocation: Allocation,
    end_date: datetime.date,
    ended_by: Person | None,
    reason: str = "",
) -> Allocation:
    """End an allocation; `end_date` is the first day it no longer applies."""
    with transaction.atomic():
        lock_case(allocation.case)
        allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
        if allocation.end_date is not None:
            raise RuleBroken(
                f"This allocation already ended on {long_date(allocation.end_date)}; "
                "history is not rewritten."
            )
        if end_date < allocation.start_date:
            raise RuleBroken(
                f"The allocation started on {long_date(allocation.start_date)}; "
                "it cannot end before that."
            )
        if end_date > _today():
            raise RuleBroken("An allocation cannot be ended in the future.")
        allocation.end_date = end_date
        allocation.ended_by = ended_by
        allocation.end_reason = reason.strip()
        allocation.save(update_fields=["end_date", "ended_by", "end_reason"])
        if allocation.kind == Allocation.Kind.PRIMARY:
            numbers_changed_on([allocation.person_id], end_date)
        audit.record(ended_by, audit.Action.END, allocation)
    return allocation


def case_move_team(
    *, case: Case, to_team: Team, on: datetime.date, by: Person | None, reason: str
) -> CaseTeamMove:
    """Move a case to another team of the service: its allocations end and it
    arrives in the new team's queue."""
    if not reason.strip():
        raise RuleBroken("Give the reason for moving the case.")
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open:
            raise RuleBroken(f"Case {case} is closed.")
        if to_team.pk == case.team_id:
            raise RuleBroken(f"Case {case} is already in {to_team}.")
        if to_team.service_id != case.service_id:
            raise RuleBroken("A case can only move to another team of its own service.")
        if on > _today() or on < case.opened_on:
            raise RuleBroken("The move must be dated between the case opening and today.")
        for allocation in case.allocations.open():
            if allocation.start_date > on:
                raise RuleBroken(
                    f"{allocation.person} was allocated on {long_date(allocation.start_date)}, "
                    "after that date."
                )
            allocation_end(
                allocation=allocation, end_date=on, ended_by=by, reason=f"Moved to {to_team}"
            )
        move = CaseTeamMove.objects.create(
            case=case,
            from_team_id=case.team_id,
            to_team=to_team,
            moved_on=on,
            moved_by=by,
            reason=reason.strip(),
        )
        case.team = to_team
        case.save(update_fields=["team", "updated_at"])
        audit.record(by, audit.Action.CHANGE, case)
    return move


def case_set_priority(*, case: Case, priority: int, by: Person | None = None) -> Case:
    if priority not in Case.Priority.values:
        raise RuleBroken("Choose urgent, high or normal.")
    with transaction.atomic():
        Case.objects.filter(pk=case.pk).update(priority=priority, updated_at=timezone.now())
        case.refresh_from_db()
        audit.record(by, audit.Action.CHANGE, case)
    return case


def case_restrict(*, case: Case, restricted: bool, by: Person | None) -> Case:
    """Restrict the case to its team's managers, the workers allocated to it,
    their supervisors and the people named on it, or lift the restriction
    (the names stay, for the next time)."""
    with transaction.atomic():
        case = lock_case(case)
        if case.restricted != restricted:
            case.restricted = restricted
            case.save(update_fields=["restricted", "updated_at"])
            audit.record(by, audit.Action.CHANGE, case)
    return case


def case_name_person(*, case: Case, person: Person, by: Person | None) -> NamedOnCase:
    """Name someone of the case's service (or an administrator) on the
    restricted case: they then see it as the workers allocated to it do.
    Naming them twice is once."""
    with transaction.atomic():
        case = lock_case(case)
        if not case.restricted:
            raise RuleBroken("Restrict the case before naming who else can see it.")
        if person.service_id != case.service_id and person.role != Person.Role.ADMINISTRATOR:
            raise RuleBroken(f"{person.full_name} does not work in {case.service}.")
        named, created = NamedOnCase.objects.get_or_create(
            case=case, person=person, defaults={"named_by": by}
        )
        if created:
            audit.record(by, audit.Action.CHANGE, case)
    return named


def case_unname_person(*, case: Case, person: Person, by: Person | None) -> None:
    """Take someone's name off the case: from now they see it as anyone would."""
    with transaction.atomic():
        case = lock_case(case)
        if NamedOnCase.objects.filter(case=case, person=person).delete()[0]:
            audit.record(by, audit.Action.CHANGE, case)


def case_plan_closing(*, case: Case, on: datetime.date | None, by: Person | None) -> Case:
    """Set (or, with None, clear) the day an open case is expected to close.
    Only forecasts read it; the case stays open until it is closed."""
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open:
            raise RuleBroken(f"Case {case} is already closed.")
        if on is not None and on <= _today():
            raise RuleBroken("The planned closing date must be in the future")
        case.planned_close_on = on
        case.save(update_fields=["planned_close_on", "updated_at"])
        audit.record(by, audit.Action.CHANGE, case)
    return case


def case_close(*, case: Case, closed_on: datetime.date, by: Person | None) -> Case:
    """Close a case, ending its open allocations on the same day."""
    with transaction.atomic():
        case = lock_case(case)
        if not case.is_open:
            raise RuleBroken(f"Case {case} is already closed.")
        if closed_on < case.opened_on:
            raise RuleBroken(f"Case {case} was opened on {long_date(case.opened_on)}.")
        if closed_on > _today():
            raise RuleBroken("A case cannot be closed in the future.")
        for allocation in case.allocations.open():
            if allocation.start_date > closed_on:
                raise RuleBroken(
                    f"{allocation.person} was allocated on {long_date(allocation.start_date)}, "
                    "after that closing date."
                )
            allocation_end(allocation=allocation, end_date=closed_on, ended_by=by, reason="Closed")
        case.status = Case.Status.CLOSED
        case.closed_on = closed_on
        case.save(update_fields=["status", "closed_on", "updated_at"])
        audit.record(by, audit.Action.END, case)
    return case


def check_role_change(*, person: Person, role: str) -> None:
    """Raise RuleBroken if `person`'s current cases, supervisees or teams
    forbid the new role."""
    if role not in Person.Role.values:
        raise RuleBroken("Choose a role.")
    new_role = Person.Role(role).label.lower()
    if role in CANNOT_SUPERVISE and person.pk:
        supervisees = list(person.supervisees.order_by("full_name")[:3])
        if supervisees:
            names = ", ".join(str(s) for s in supervisees)
            raise RuleBroken(
                f"{person} supervises {names}; a {new_role} supervises nobody. "
                "Give them another supervisor first."
            )
    if role != Person.Role.TEAM_MANAGER and person.pk:
        managed = list(person.managed_teams.order_by("name")[:3])
        if managed:
            raise RuleBroken(
                f"{person} manages {', '.join(str(t) for t in managed)}; only team managers "
                "manage a team. Give the team another manager first."
            )
    open_allocations = person.allocations.open()
    if (
        role not in Person.CASE_HOLDING_ROLES
        and open_allocations.filter(kind=Allocation.Kind.PRIMARY).exists()
    ):
        raise RuleBroken(
            f"{person} is the primary worker on open cases; a {new_role} cannot be. "
            "Transfer the cases first."
        )
    if role not in Person.INVOLVED_ROLES and open_allocations.exists():
        raise RuleBroken(
            f"{person} is involved in open cases; a {new_role} carries no cases. "
            "End those allocations first."
        )


def person_change_role(*, person: Person, role: str) -> Person:
    """Change a person's role, refusing one that their current cases forbid."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        check_role_change(person=person, role=role)
        person.role = role
        person.save(update_fields=["role", "updated_at"])
        person_keep_access(person)
        numbers_changed_on([person.pk], timezone.localdate())  # roles are not dated: from today
    return person


# Administrators and senior managers supervise nobody: a supervisor reads
# their supervisees' supervision records, which DESIGN.md keeps from both.
CANNOT_SUPERVISE = (Person.Role.ADMINISTRATOR, Person.Role.SENIOR_MANAGER)


def check_supervisor(*, person: Person, supervisor: Person | None) -> None:
    """Raise RuleBroken if `supervisor` may not supervise `person`: the one
    rule for every path that sets a supervisor (the admin, imports)."""
    if supervisor is None:
        return
    if person.pk is not None and supervisor.pk == person.pk:
        raise RuleBroken("Nobody can supervise themselves.")
    if supervisor.role in CANNOT_SUPERVISE:
        role = supervisor.get_role_display()
        article = "An" if role[0] in "AEIOU" else "A"
        raise RuleBroken(
            f"{article} {role[0].lower()}{role[1:]} cannot supervise anyone: {supervisor} is one. "
            "Choose a social worker or team manager."
        )


def check_team_managers(*, team: Team, managers: Iterable[Person]) -> None:
    """Raise RuleBroken unless every one of `managers` is a team manager."""
    others = sorted(str(m) for m in managers if m.role != Person.Role.TEAM_MANAGER)
    if others:
        raise RuleBroken(
            f"Only team managers manage a team: {', '.join(others)} "
            f"{'is' if len(others) == 1 else 'are'} not."
        )


def check_team_service(*, team: Team, service: Service) -> None:
    """Raise RuleBroken if `team` may not move to `service`.

    A team that holds cases, open or closed, stays in its service: a case
    belongs to the service of its team (its reference is unique there, and
    the service's past numbers count it), so moving the team would move its
    history into another service. Set up a team in the other service instead."""
    if team.pk is None or team.service_id == service.pk:
        return
    if Case.objects.filter(team=team).exists():
        raise RuleBroken(
            f"{team} holds cases, open or closed, so it stays in {team.service}: its "
            "history belongs there. Set up a new team in the other service instead."
        )


def person_keep_access(person: Person) -> None:
    """Keep `person`'s log-in in step with their role: an administrator's is
    staff and in the Administrators group (never a superuser for that);
    anyone else's is neither. A superuser's staff status is left alone."""
    user = person.user
    administrator = person.role == Person.Role.ADMINISTRATOR
    if user.is_staff != administrator and not user.is_superuser:
        user.is_staff = administrator
        user.save(update_fields=["is_staff"])
    group = accounts.administrators_group()
    is_member = user.groups.filter(pk=group.pk).exists()
    if administrator and not is_member:
        user.groups.add(group)
    elif is_member and not administrator:
        user.groups.remove(group)


def person_create(
    *,
    username: str,
    email: str,
    full_name: str,
    role: str,
    service: Service | None = None,
    fte: Decimal = Decimal("1.00"),
    supervisor: Person | None = None,
    asye_start_date: datetime.date | None = None,
) -> Person:
    """Add a person with a log-in that has no password yet: they set one from
    their invitation (`people_invite`), so nobody else ever knows it."""
    user_model = get_user_model()
    username = username.strip()
    if user_model.objects.filter(username__iexact=username).exists():
        raise RuleBroken(f"The user name {username} is already taken.")
    person = Person(
        full_name=full_name.strip(),
        role=role,
        service=service,
        fte=fte,
        supervisor=supervisor,
        asye_start_date=asye_start_date,
    )
    check_supervisor(person=person, supervisor=supervisor)
    with transaction.atomic():
        user = user_model(username=username, email=email.strip())
        user.set_unusable_password()
        user.save()
        person.user = user
        person.save()
        # Their FTE history starts on the day they are added.
        FteChange.objects.create(person=person, fte=fte, start_date=_today())
        person_keep_access(person)
    return person


def people_invite(*, people: Iterable[Person], by: Person | None) -> int:
    """Email each new person among `people` a link to set their password,
    through the outbox. A new person is one whose log-in is active, has an
    email address and has no password yet; anyone who has set one is left
    alone (an invitation is never a way into someone's account). The link
    works once, for PASSWORD_RESET_TIMEOUT. Returns how many were invited."""
    days = accounts.invitation_days()
    messages = []
    for person in people:
        user = person.user
        if not user.is_active or not user.email or user.has_usable_password():
            continue
        added_by = f"{by} has added you" if by else "You have been added"
        messages.append(
            (
                person,
                "Set your password for Caseload",
                f"Hello {person},\n\n"
                f"{added_by} to Caseload, the weighted caseload tool of "
                f"{settings.COUNCIL_NAME}. Your user name is {user.get_username()}.\n\n"
                f"To set your password, open this link within {days} "
                f"day{'s' if days != 1 else ''}:\n{accounts.invitation_url(user)}\n\n"
                "The link works once. If it has expired, ask the Caseload administrator "
                "to send you a new invitation.\n",
            )
        )
    return notify_many(messages)


PASSWORD_LINK_SUBJECT = "Set a new password for Caseload"  # noqa: S105 - an email subject
# One link a person in this time, however often the form is sent.
PASSWORD_LINK_INTERVAL = datetime.timedelta(minutes=15)


def password_link_send(*, email: str) -> int:
    """Email a link to set a new password to each active person whose log-in
    has this address (someone who has forgotten theirs), through the
    outbox. The link is the invitation's: it works once, for
    PASSWORD_RESET_TIMEOUT. At most one such email a person in 15 minutes,
    so that nobody can fill a colleague's inbox. Returns how many were sent,
    which the page never says."""
    since = timezone.now() - PASSWORD_LINK_INTERVAL
    recently_sent = Notification.objects.filter(
        subject=PASSWORD_LINK_SUBJECT, created_at__gte=since
    ).values("recipient_id")
    people = (
        Person.objects.filter(user__email__iexact=email.strip(), user__is_active=True)
        .exclude(pk__in=recently_sent)
        .select_related("user")
    )
    days = accounts.invitation_days()
    return notify_many(
        [
            (
                person,
                PASSWORD_LINK_SUBJECT,
                f"Hello {person},\n\n"
                f"Someone asked for a link to set a new password for your Caseload log-in "
                f"({person.user.get_username()}). To set one, open this link within {days} "
                f"day{'s' if days != 1 else ''}:\n{accounts.invitation_url(person.user)}\n\n"
                "The link works once. If you did not ask for it, you need do nothing: "
                "your password has not changed.\n",
            )
            for person in people
        ]
    )


def check_membership_start(*, person: Person, team: Team, start_date: datetime.date) -> None:
    """Raise RuleBroken if `person` cannot join `team` from `start_date`."""
    current = person.memberships.open().first()
    if current is not None:
        if current.team_id == team.pk:
            raise RuleBroken(f"{person} is already in {team}.")
        if start_date < current.start_date:
            raise RuleBroken(
                f"{person} joined {current.team} on {long_date(current.start_date)}; "
                "a move cannot start before that."
            )
    elif person.memberships.filter(end_date__gt=start_date).exists():
        raise RuleBroken(f"{person} was in another team on {long_date(start_date)}.")


def membership_start(*, person: Person, team: Team, start_date: datetime.date) -> TeamMembership:
    """Put `person` in `team` from `start_date`, ending their current membership."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        check_membership_start(person=person, team=team, start_date=start_date)
        current = person.memberships.open().first()
        if current is not None:
            current.end_date = start_date
            current.save(update_fields=["end_date"])
        numbers_changed_on([person.pk], start_date)
        return TeamMembership.objects.create(person=person, team=team, start_date=start_date)


def membership_plan_end(
    *, person: Person, team: Team, end_date: datetime.date | None
) -> TeamMembership:
    """Plan the day `person` leaves `team` (the first day they are not in it),
    or, with None, clear a planned day. A day already passed is history,
    which is not rewritten here."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        today = _today()
        current = person.memberships.active_on(today).filter(team=team).first()
        if current is None:
            raise RuleBroken(f"{person} is not in {team} today.")
        if end_date is not None and end_date <= today:
            raise RuleBroken("The leaving date must be in the future")
        if person.memberships.filter(start_date__gt=today).exists() and end_date is None:
            raise RuleBroken(f"{person} has a planned move: their leaving date stays.")
        current.end_date = end_date
        current.save(update_fields=["end_date"])
        return current


# Contracted FTE, dated (docs/adr/0025) ------------------------------------------


def check_fte_change(*, person: Person, fte: Decimal, start_date: datetime.date) -> None:
    """Raise RuleBroken if `person`'s FTE cannot be `fte` from `start_date`."""
    if not Decimal(0) < fte <= Decimal(1):
        raise RuleBroken("FTE must be more than 0 and no more than 1.")
    current = person.fte_history.open().first()
    if current is not None and start_date < current.start_date:
        raise RuleBroken(
            f"{person}'s FTE of {current.fte} from {long_date(current.start_date)} is the "
            "latest recorded: a change cannot start before that day."
        )
    if current is None and person.fte_history.filter(end_date__gt=start_date).exists():
        raise RuleBroken(f"Another FTE of {person}'s applied on {long_date(start_date)}.")
    if fte == (current.fte if current is not None else person.fte):
        since = f" from {long_date(current.start_date)}" if current is not None else ""
        raise RuleBroken(f"{person}'s FTE is already {fte}{since}.")


def fte_change(
    *, person: Person, fte: Decimal, start_date: datetime.date, recorded_by: Person | None
) -> FteChange:
    """Record `person`'s contracted FTE from `start_date` (past, today or
    ahead), ending the open row on that day; a change on the open row's own
    start day corrects it instead. `Person.fte` takes the new FTE when it
    starts today or earlier; a change ahead leaves today's as it is."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        check_fte_change(person=person, fte=fte, start_date=start_date)
        current = person.fte_history.open().first()
        if current is None and not person.fte_history.exists():
            # Someone recorded before their FTE was dated: what they had comes first.
            first = min(person.memberships.values_list("start_date", flat=True), default=None)
            first = first or timezone.localtime(person.created_at).date()
            if first < start_date:
                current = FteChange.objects.create(person=person, fte=person.fte, start_date=first)
        if current is not None and current.start_date == start_date:
            current.fte, current.recorded_by = fte, recorded_by
            current.save(update_fields=["fte", "recorded_by"])
            change = current
        else:
            if current is not None:
                current.end_date = start_date
                current.save(update_fields=["end_date"])
            change = FteChange.objects.create(
                person=person, fte=fte, start_date=start_date, recorded_by=recorded_by
            )
        if start_date <= _today():
            person.fte = fte
            person.save(update_fields=["fte", "updated_at"])
        numbers_changed_on([person.pk], start_date)
        return change


# Vacancies, for forecasts ------------------------------------------------------


def vacancy_add(
    *,
    team: Team,
    fte: Decimal,
    start_date: datetime.date,
    end_date: datetime.date | None,
    note: str,
    by: Person | None,
) -> Vacancy:
    """A post the team expects to fill, from `start_date` (to `end_date`,
    exclusive). Forecasts count it only where the team's setting says so."""
    if not Decimal(0) < fte <= Decimal(1):
        raise RuleBroken("A vacancy's FTE is above 0 and at most 1")
    if end_date is not None and end_date <= start_date:
        raise RuleBroken("A vacancy ends after it starts")
    if end_date is not None and end_date <= _today():
        raise RuleBroken("A vacancy that has already ended changes no forecast")
    return Vacancy.objects.create(
        team=team,
        fte=fte,
        start_date=start_date,
        end_date=end_date,
        note=note.strip(),
        created_by=by,
    )


def vacancy_remove(*, vacancy: Vacancy) -> None:
    """Remove a vacancy (filled, or no longer expected); its history keeps it."""
    vacancy.delete()


def team_count_vacancies(*, team: Team, counts: bool) -> Team:
    """Whether the team's forecast counts its vacancies' capacity (kept in the
    team's history, as its other settings)."""
    team.forecast_counts_vacancies = counts
    team.save(update_fields=["forecast_counts_vacancies", "updated_at"])
    return team
