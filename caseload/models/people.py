"""The people who work in a service, with their log-ins."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from simple_history.models import HistoricalRecords

from caseload.models.choices import Role, in_choices
from caseload.models.organisation import DatedQuerySet, Service, Team, TeamMembership

# A full-time week where no service says otherwise (Service.full_time_hours).
FULL_TIME_HOURS = Decimal("37")


class PersonQuerySet(models.QuerySet["Person"]):
    def members_of(self, team: Team | int, day: datetime.date) -> PersonQuerySet:
        """People in `team` on `day` (by their dated membership)."""
        members = TeamMembership.objects.active_on(day).filter(team=team).values("person_id")
        return self.filter(pk__in=members)

    def case_holding(self) -> PersonQuerySet:
        return self.filter(role__in=Person.CASE_HOLDING_ROLES)

    def with_fte_on(self, day: datetime.date) -> PersonQuerySet:
        """Each person's contracted FTE on `day`, as `fte_on_day`, by the rule
        the numbers use (weighting.numbers): the dated row in force that day;
        before their first row, the next row to start; with no rows at all,
        `Person.fte`."""
        rows = FteChange.objects.filter(person=OuterRef("pk"))
        in_force = rows.filter(start_date__lte=day).exclude(end_date__lte=day)
        next_row = rows.filter(start_date__gt=day).order_by("start_date")
        return self.annotate(
            fte_on_day=Coalesce(
                Subquery(in_force.values("fte")[:1]), Subquery(next_row.values("fte")[:1]), F("fte")
            )
        )


class Person(models.Model):
    """Someone who works in the service, with their log-in."""

    Role = Role

    # Who may be a case's primary worker (standards 8 and 9: students are only
    # ever involved; team managers and senior managers carry no caseload).
    CASE_HOLDING_ROLES = (Role.SOCIAL_WORKER, Role.ASYE)
    # Who may be recorded as involved in a case.
    INVOLVED_ROLES = (Role.SOCIAL_WORKER, Role.ASYE, Role.STUDENT)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="person"
    )
    full_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices)
    service = models.ForeignKey(
        Service,
        on_delete=models.PROTECT,
        related_name="people",
        null=True,
        blank=True,
        help_text="The directorate this person works in (empty for system administrators).",
    )
    # Today's FTE as last written by `services.fte_change`; the dated rows
    # (`fte_history`) are the record, and every figure for a day reads them
    # (docs/adr/0025).
    fte = models.DecimalField(
        "FTE",
        max_digits=3,
        decimal_places=2,
        default=Decimal("1.00"),
        help_text="Contracted hours as a share of full time (37 hours a week = 1.00).",
    )
    supervisor = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="supervisees", null=True, blank=True
    )
    asye_start_date = models.DateField("ASYE start date", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Role and supervisor are edited in place: each change is kept.
    history = HistoricalRecords()

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "people"
        constraints = [
            models.CheckConstraint(condition=in_choices("role", Role), name="person_role_valid"),
            models.CheckConstraint(
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                name="person_fte_between_0_and_1",
                violation_error_message="FTE must be more than 0 and no more than 1.",
            ),
            models.CheckConstraint(
                condition=~Q(supervisor=models.F("pk")),
                name="person_not_own_supervisor",
                violation_error_message="Nobody can supervise themselves.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def can_hold_cases(self) -> bool:
        return self.role in self.CASE_HOLDING_ROLES

    @property
    def full_time_hours(self) -> Decimal:
        """A full-time week in their service: their hours are FTE × these."""
        return self.service.full_time_hours if self.service else FULL_TIME_HOURS

    @property
    def role_short(self) -> str:
        """The role as a team table shows it: SW, ASYE, Student, TM…"""
        return {
            Role.SOCIAL_WORKER: "SW",
            Role.ASYE: "ASYE",
            Role.STUDENT: "Student",
            Role.TEAM_MANAGER: "TM",
            Role.SENIOR_MANAGER: "DMT",
            Role.ADMINISTRATOR: "Admin",
        }[self.role]


class FteChange(models.Model):
    """A person's contracted FTE from a date, until the day the next one
    starts: their FTE over time, so that each day's capacity uses the FTE of
    that day, and a change planned ahead reaches the forecast on its date.
    Written only by `services.fte_change`, which ends the open row."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="fte_history")
    fte = models.DecimalField("FTE", max_digits=3, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day this FTE no longer applies."
    )
    recorded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A correction on the day a row starts is made in place: the history keeps it.
    history = HistoricalRecords()

    objects = DatedQuerySet.as_manager()

    class Meta:
        ordering = ["person", "start_date"]
        verbose_name = "FTE change"
        constraints = [
            models.CheckConstraint(
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                name="fte_change_fte_between_0_and_1",
                violation_error_message="FTE must be more than 0 and no more than 1.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=F("start_date")),
                name="fte_change_end_after_start",
                violation_error_message="An FTE ends after it starts.",
            ),
            # One FTE at a time: one open row per person (on PostgreSQL an
            # exclusion constraint also forbids overlaps in the past; see
            # docs/adr/0002).
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True),
                name="one_open_fte_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.fte} FTE from {self.start_date}"


class SignInIdentity(models.Model):
    """Who a log-in is at the council's identity provider: the issuer and the
    subject the provider names them by (for Microsoft Entra ID, the user's
    object id, `oid`, in the tenant the issuer names; for any other provider,
    `sub`). Written at a person's first sign-in with the provider, matched by
    their verified email address; every later sign-in matches on this alone,
    so that a changed or reused email address never moves an account."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_identities"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    linked_at = models.DateTimeField(auto_now_add=True)
    # Who linked or removed it (an administrator, or the first sign-in itself).
    history = HistoricalRecords()

    class Meta:
        verbose_name = "sign-in identity"
        verbose_name_plural = "sign-in identities"
        constraints = [
            # One log-in per identity, and one identity per log-in at each
            # provider: a second person can never be reached by the same subject.
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_identity"),
            models.UniqueConstraint(fields=["user", "issuer"], name="one_identity_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
