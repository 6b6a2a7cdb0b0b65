"""Services, their teams, and who is in each team over time.

Dated records (team memberships, allocations) are append-only: a change ends
one row and starts another, so any past day can be reconstructed. An end date
is the first day a record no longer applies.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from caseload.models.choices import ServiceKind, in_choices


def _active_on(day: datetime.date, prefix: str = "") -> Q:
    """Rows of a dated record that apply on `day` (start <= day < end)."""
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gt": day})
    )


class DatedQuerySet(models.QuerySet):
    """Reads of a dated record: start date, and an end date that is the first
    day the row no longer applies."""

    def active_on(self, day: datetime.date) -> DatedQuerySet:
        return self.filter(_active_on(day))

    def open(self) -> DatedQuerySet:
        return self.filter(end_date__isnull=True)


class Service(models.Model):
    """A directorate, such as Children's Social Care, with its DMT and teams."""

    Kind = ServiceKind

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHILDREN)
    # Capacity bands, in % of capacity: blue below green_from, green up to and
    # including amber_above, amber above it, red from red_from.
    band_green_from = models.DecimalField(
        "green band from (%)", max_digits=5, decimal_places=1, default=Decimal("95.0")
    )
    band_amber_above = models.DecimalField(
        "amber band above (%)",
        max_digits=5,
        decimal_places=1,
        default=Decimal("100.0"),
        help_text="The maximum: 100% of capacity is the top of the green band.",
    )
    band_red_from = models.DecimalField(
        "red band from (%)", max_digits=5, decimal_places=1, default=Decimal("110.0")
    )
    supervision_weeks = models.PositiveSmallIntegerField(
        "weeks between supervisions", default=4, help_text="The default for a qualified worker."
    )
    asye_supervision_weeks = models.PositiveSmallIntegerField(
        "weeks between supervisions for ASYEs", default=2
    )
    full_time_hours = models.DecimalField(
        "full-time hours a week",
        max_digits=4,
        decimal_places=2,
        default=Decimal("37"),
        help_text="A full-time worker's contracted hours: someone's hours are FTE × these.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=in_choices("kind", ServiceKind), name="service_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(supervision_weeks__gte=1) & Q(asye_supervision_weeks__gte=1),
                name="service_supervision_weeks_positive",
                violation_error_message="Supervisions are at least a week apart.",
            ),
            models.CheckConstraint(
                condition=Q(full_time_hours__gte=30) & Q(full_time_hours__lte=37),
                name="service_full_time_hours_in_range",
                violation_error_message="Full-time hours are from 30 to 37 a week.",
            ),
            models.CheckConstraint(
                condition=Q(band_green_from__gt=0)
                & Q(band_green_from__lte=models.F("band_amber_above"))
                & Q(band_amber_above__lt=models.F("band_red_from")),
                name="service_bands_in_order",
                violation_error_message=(
                    "The bands must rise: green from, then amber above, then red from."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def people_term(self) -> str:
        """What a case's people are called here: children, or adults."""
        return "children" if self.kind == self.Kind.CHILDREN else "adults"


class Team(models.Model):
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(max_length=120)
    aspiration = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal("20.0"),
        help_text="Agreed average caseload, in children or adults per full-time practitioner.",
    )
    managers = models.ManyToManyField("Person", related_name="managed_teams", blank=True)
    forecast_counts_vacancies = models.BooleanField(
        "count vacancies in the forecast's capacity",
        default=False,
        help_text="A vacancy never changes live figures; the forecast counts it only if set.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Team settings are edited in place: each change is kept, with who made it.
    history = HistoricalRecords(m2m_fields=[managers])

    class Meta:
        ordering = ["service__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="team_name_unique_in_service"),
            models.CheckConstraint(
                condition=Q(aspiration__gt=0),
                name="team_aspiration_positive",
                violation_error_message="The aspiration must be more than 0.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """A person's membership of a team over a period; people move teams."""

    person = models.ForeignKey("Person", on_delete=models.PROTECT, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="memberships")
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the person is no longer in the team."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Added and ended in the admin as on the pages: each change is kept, with who made it.
    history = HistoricalRecords()

    objects = DatedQuerySet.as_manager()

    class Meta:
        ordering = ["person", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="membership_end_not_before_start",
                violation_error_message="A membership cannot end before it starts.",
            ),
            # Each day counts a person in one team: one open membership at a
            # time (on PostgreSQL an exclusion constraint also forbids overlaps
            # in the past; see docs/adr/0002).
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True),
                name="one_open_membership_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.team} from {self.start_date}"


class LeavingNotice(models.Model):
    """That a leaver's team managers were told, a week ahead, that their cases
    return to the team's queue: one per person and leaving day, written with
    the emails, so a rerun or a retried job tells no one twice."""

    person = models.ForeignKey("Person", on_delete=models.PROTECT, related_name="+")
    leaving_on = models.DateField()
    emails = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "leaving_on"], name="one_leaving_notice_per_person_and_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} leaves on {self.leaving_on}"


class Vacancy(models.Model):
    """A post the team expects to fill: forecasts may count its capacity (the
    team's setting), live figures never do."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="vacancies")
    fte = models.DecimalField("FTE", max_digits=3, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the vacancy no longer applies."
    )
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        "Person", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A vacancy removed is kept in its history, with who removed it.
    history = HistoricalRecords()

    objects = DatedQuerySet.as_manager()

    class Meta:
        ordering = ["team", "start_date", "pk"]
        verbose_name_plural = "vacancies"
        constraints = [
            models.CheckConstraint(
                condition=Q(fte__gt=0) & Q(fte__lte=1),
                name="vacancy_fte_up_to_one",
                violation_error_message="A vacancy's FTE is above 0 and at most 1.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="vacancy_end_after_start",
                violation_error_message="A vacancy ends after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fte} FTE vacancy in {self.team} from {self.start_date}"
