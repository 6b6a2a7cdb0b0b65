"""The people who work in a service, with their log-ins."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from caseload.models.choices import Role, in_choices
from caseload.models.organisation import Service, Team, TeamMembership


class PersonQuerySet(models.QuerySet["Person"]):
    def members_of(self, team: Team | int, day: datetime.date) -> PersonQuerySet:
        """People in `team` on `day` (by their dated membership)."""
        members = TeamMembership.objects.active_on(day).filter(team=team).values("person_id")
        return self.filter(pk__in=members)

    def case_holding(self) -> PersonQuerySet:
        return self.filter(role__in=Person.CASE_HOLDING_ROLES)


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
    # Role, FTE and supervisor are edited in place: each change is kept.
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
    def is_part_time(self) -> bool:
        return self.fte < 1

    @property
    def weekly_hours(self) -> Decimal:
        """Contracted hours a week: FTE × the service's full-time hours."""
        full_time = self.service.full_time_hours if self.service else Decimal("37")
        return self.fte * full_time

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
