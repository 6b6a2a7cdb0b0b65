"""Leavers: someone whose last team membership ends. From that day they no
longer sign in and their open cases return to the team's queue (their
allocations end that day; every record stays). The team's managers are told
a week before, with a link to reallocate."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from caseload.dates import long_date
from caseload.models import Allocation, LeavingNotice, Person, TeamMembership
from caseload.notifications import managers_by_team, notify_many
from caseload.services import allocation_end

NOTICE = datetime.timedelta(days=7)


def last_memberships() -> QuerySet[TeamMembership]:
    """Memberships that are their person's last: they end, and no other of
    the person's memberships runs past that end. Only for those whose work
    is in a team (social workers, ASYEs, students): someone who now works
    outside one (a manager, DMT, an administrator) has not left."""
    later = TeamMembership.objects.filter(person=OuterRef("person")).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=OuterRef("end_date"))
    )
    return TeamMembership.objects.filter(
        end_date__isnull=False, person__role__in=Person.INVOLVED_ROLES
    ).exclude(Exists(later))


def has_left(person: Person | None, day: datetime.date) -> bool:
    """Whether `person` has left by `day`: their last membership ended on or
    before it (`last_memberships`)."""
    if person is None:
        return False
    return last_memberships().filter(person=person, end_date__lte=day).exists()


def left_by(day: datetime.date, person: str = "person") -> Exists:
    """For a query over people (or over log-ins, with `person` as
    "person"): whether they have left by `day`, as `has_left` decides."""
    return Exists(last_memberships().filter(person=OuterRef(person), end_date__lte=day))


def return_cases(day: datetime.date | None = None) -> int:
    """End the allocations leavers still hold, on the day each left (their
    cases return to the team's queue then); returns how many ended. Run
    daily: a day missed is made up with the right dates."""
    day = day or timezone.localdate()
    ended = 0
    for membership in last_memberships().filter(end_date__lte=day).select_related("person"):
        still_held = Allocation.objects.filter(person=membership.person).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=membership.end_date),
            start_date__lte=membership.end_date,
        )
        for allocation in still_held:
            allocation_end(
                allocation=allocation,
                end_date=membership.end_date,
                ended_by=None,
                reason=f"{membership.person} left {membership.team} that day",
            )
            ended += 1
    return ended


def disable(person: Person, day: datetime.date | None = None) -> int:
    """The identity provider has disabled `person`: they stop signing in now
    and leave their teams today (planned memberships end before they start),
    so their open cases return to the team's queue today. Every record stays.
    Returns how many allocations ended; a second call changes nothing."""
    day = day or timezone.localdate()
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("user").get(pk=person.pk)
        going_on = person.memberships.filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        for membership in going_on:
            # One save each, so that the change history keeps every one.
            membership.end_date = max(day, membership.start_date)
            membership.save(update_fields=["end_date"])
        if person.user.is_active:
            person.user.is_active = False
            person.user.save(update_fields=["is_active"])
        return return_cases(day)


def tell_managers(day: datetime.date | None = None) -> int:
    """Email the managers of each leaver's team, up to a week before the day
    they leave, once (a row per person and day, written with the emails):
    returns how many emails were queued. The same queries for one leaver or
    a hundred."""
    day = day or timezone.localdate()
    told = LeavingNotice.objects.filter(person=OuterRef("person"), leaving_on=OuterRef("end_date"))
    with transaction.atomic():
        leaving = list(
            last_memberships()
            .filter(end_date__gt=day, end_date__lte=day + NOTICE)
            .exclude(Exists(told))
            .select_related("person", "team")
            .annotate(
                open_cases=Count(
                    "person__allocations",
                    filter=Q(
                        person__allocations__end_date__isnull=True,
                        person__allocations__kind=Allocation.Kind.PRIMARY,
                    ),
                )
            )
        )
        managers = managers_by_team(m.team_id for m in leaving)
        LeavingNotice.objects.bulk_create(
            LeavingNotice(person=m.person, leaving_on=m.end_date, emails=len(managers[m.team_id]))
            for m in leaving
        )
        return notify_many(
            [(manager, *_message(m)) for m in leaving for manager in managers[m.team_id]]
        )


def _message(membership: TeamMembership) -> tuple[str, str]:
    person, team, leaves = membership.person, membership.team, long_date(membership.end_date)
    cases = membership.open_cases  # type: ignore[attr-defined]
    if cases:
        returning = (
            f"their {cases} open case{'s return' if cases != 1 else ' returns'} to the team's queue"
        )
    else:
        returning = "they hold no open case"
    link = f"{settings.SITE_URL}{reverse('team_detail', args=[team.pk])}"
    subject = f"{person} leaves {team} on {leaves}"
    body = (
        f"{person} leaves {team} on {leaves}. From that day they no longer sign in to "
        f"Caseload, and {returning}.\n\n"
        f"Reallocate from the team page: {link}\n"
    )
    return subject, body
