"""The core domain: services, teams, people, cases and allocations.

Dated records (team memberships, allocations) are append-only: a change ends
one row and starts another, so any past day can be reconstructed. An end date
is the first day a record no longer applies.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import simple_history
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from simple_history.models import HistoricalRecords


def _in_choices(field: str, choices: type[models.Choices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


def _active_on(day: datetime.date, prefix: str = "") -> Q:
    """Rows of a dated record that apply on `day` (start <= day < end)."""
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}end_date__isnull": True}) | Q(**{f"{prefix}end_date__gt": day})
    )


class ServiceKind(models.TextChoices):
    CHILDREN = "children", "Children's services"
    ADULTS = "adults", "Adult services"


class Role(models.TextChoices):
    SOCIAL_WORKER = "social_worker", "Social worker"
    ASYE = "asye", "ASYE social worker"
    STUDENT = "student", "Student or trainee"
    TEAM_MANAGER = "team_manager", "Team manager"
    SENIOR_MANAGER = "senior_manager", "Senior manager (DMT)"
    ADMINISTRATOR = "administrator", "Administrator"


class CaseType(models.TextChoices):
    CHILD_IN_NEED = "cin", "Child in need"
    CHILD_PROTECTION = "cp", "Child protection"
    LOOKED_AFTER = "lac", "Looked after child"
    CARE_LEAVER = "care_leaver", "Care leaver"
    SHORT_BREAKS = "short_breaks", "Short breaks"
    ADULT_ASSESSMENT = "adult_assessment", "Adult assessment"
    ADULT_REVIEW = "adult_review", "Adult care and support review"


class Priority(models.IntegerChoices):
    URGENT = 1, "Urgent"
    HIGH = 2, "High"
    NORMAL = 3, "Normal"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AllocationKind(models.TextChoices):
    PRIMARY = "primary", "Primary worker"
    INVOLVED = "involved", "Involved worker"


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("kind", ServiceKind), name="service_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(supervision_weeks__gte=1) & Q(asye_supervision_weeks__gte=1),
                name="service_supervision_weeks_positive",
                violation_error_message="Supervisions are at least a week apart.",
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


class DatedQuerySet(models.QuerySet):
    """Reads of a dated record: start date, and an end date that is the first
    day the row no longer applies."""

    def active_on(self, day: datetime.date) -> DatedQuerySet:
        return self.filter(_active_on(day))

    def open(self) -> DatedQuerySet:
        return self.filter(end_date__isnull=True)


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
            models.CheckConstraint(condition=_in_choices("role", Role), name="person_role_valid"),
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


class TeamMembership(models.Model):
    """A person's membership of a team over a period; people move teams."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
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


class CaseQuerySet(models.QuerySet["Case"]):
    def open(self) -> CaseQuerySet:
        return self.filter(status=Case.Status.OPEN)

    def for_team(self, team: Team | int) -> CaseQuerySet:
        return self.filter(team=team)

    def unallocated(self) -> CaseQuerySet:
        """Open cases with no primary worker now. NOT EXISTS rather than NOT
        IN: the database can answer it as an anti-join by the open-allocation
        index; NOT IN over every held case (half a million nationally) made
        PostgreSQL compare row by row."""
        held = Allocation.objects.primary().open().filter(case=OuterRef("pk"))
        return self.open().filter(~Exists(held))

    def with_waiting_since(self) -> CaseQuerySet:
        """Annotate `waiting_since`: the later of the day the case was opened and
        the day its last primary allocation ended (DESIGN.md, waiting time).
        A subquery per case shown rather than a join and GROUP BY: the cases
        waiting are a few of the open ones, and the join took every
        allocation of every open case."""
        last_primary_end = Subquery(
            Allocation.objects.primary()
            .filter(case=OuterRef("pk"), end_date__isnull=False)
            .order_by("-end_date")
            .values("end_date")[:1]
        )
        return self.annotate(
            waiting_since=Greatest("opened_on", Coalesce(last_primary_end, "opened_on"))
        )


class Case(models.Model):
    """A piece of work from the case-management system. No case notes, ever."""

    Type = CaseType

    Priority = Priority

    Status = CaseStatus

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="cases")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="cases")
    reference = models.CharField(
        max_length=40, help_text="The case's reference in the case-management system."
    )
    label = models.CharField(
        max_length=60, help_text="A short label that does not identify the person."
    )
    case_type = models.CharField("type", max_length=20, choices=Type.choices)
    people_count = models.PositiveSmallIntegerField(
        "children or adults", default=1, help_text="How many children or adults the case covers."
    )
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Reference, label, type, priority and status are changed in place: each change is kept.
    history = HistoricalRecords()

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "reference"], name="case_reference_unique_in_service"
            ),
            models.CheckConstraint(
                condition=Q(people_count__gte=1),
                name="case_people_at_least_1",
                violation_error_message="A case covers at least one child or adult.",
            ),
            models.CheckConstraint(
                condition=_in_choices("case_type", CaseType), name="case_type_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("priority", Priority), name="case_priority_valid"
            ),
            # A case is closed exactly when it has a closing date, on or after opening.
            models.CheckConstraint(
                condition=(Q(status="open") & Q(closed_on__isnull=True))
                | (
                    Q(status="closed")
                    & Q(closed_on__isnull=False)
                    & Q(closed_on__gte=models.F("opened_on"))
                ),
                name="case_status_matches_closed_on",
                violation_error_message=(
                    "A closed case needs its closing date, on or after the day it opened."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class AllocationQuerySet(DatedQuerySet):
    def primary(self) -> AllocationQuerySet:
        return self.filter(kind=Allocation.Kind.PRIMARY)


class Allocation(models.Model):
    """A worker's allocation to a case for a period: primary, or involved.

    Only primary allocations count towards a worker's load; involved workers
    (students, co-workers) are shown, not counted.
    """

    Kind = AllocationKind

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="allocations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="allocations")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PRIMARY)
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the allocation no longer applies."
    )
    allocated_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.TextField(blank=True)
    review_by = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    end_reason = models.TextField(blank=True)
    # The record that the receiving worker's caseload was reviewed: their
    # capacity used just before and just after taking the case (exact values;
    # empty for involved workers and for people with no capacity).
    percent_before = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    percent_after = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Ending an allocation changes its row: each change is kept, with who made it.
    history = HistoricalRecords()

    objects = AllocationQuerySet.as_manager()

    class Meta:
        ordering = ["case", "start_date", "pk"]
        indexes = [
            # The caseload numbers look allocations up by worker and date.
            models.Index(fields=["person", "start_date"], name="allocation_person_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("kind", AllocationKind), name="allocation_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="allocation_end_not_before_start",
                violation_error_message="An allocation cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(review_by__isnull=True) | Q(review_by__gte=models.F("start_date")),
                name="allocation_review_not_before_start",
                violation_error_message="The review date cannot be before the allocation starts.",
            ),
            # At most one primary worker at any moment. This partial unique
            # index guards the open allocation; on PostgreSQL an exclusion
            # constraint also guards back-dated history (docs/adr/0002).
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(kind="primary", end_date__isnull=True),
                name="one_open_primary_allocation_per_case",
            ),
            models.UniqueConstraint(
                fields=["case", "person"],
                condition=Q(end_date__isnull=True),
                name="one_open_allocation_per_case_and_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} – {self.person} ({self.get_kind_display().lower()})"

    @property
    def is_open(self) -> bool:
        return self.end_date is None


class OverMaximumStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class OverMaximumQuerySet(models.QuerySet["OverMaximum"]):
    def open(self) -> OverMaximumQuerySet:
        return self.filter(status=OverMaximumStatus.OPEN)


class OverMaximum(models.Model):
    """An allocation made although it took the worker over the maximum.

    The policy (responsibilities 2 and 3) lets a manager do this, with the
    reason and how the rest of the worker's work will be reprioritised recorded
    on their supervision file, for a specified time and under regular review.
    """

    Status = OverMaximumStatus

    allocation = models.OneToOneField(
        Allocation, on_delete=models.PROTECT, related_name="over_maximum"
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="over_maximum")
    reason = models.TextField(help_text="Why the case is allocated despite the maximum.")
    reprioritisation = models.TextField(
        help_text="How the rest of the worker's work will be reprioritised."
    )
    review_by = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OverMaximumQuerySet.as_manager()

    class Meta:
        ordering = ["review_by", "pk"]
        verbose_name = "over-maximum allocation"
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", OverMaximumStatus),
                name="over_maximum_status_valid",
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(resolved_on__isnull=True))
                | (Q(status="resolved") & Q(resolved_on__isnull=False)),
                name="over_maximum_resolved_on_matches_status",
            ),
            # The reason and the reprioritisation are the point of the record.
            models.CheckConstraint(
                condition=~Q(reason="") & ~Q(reprioritisation=""),
                name="over_maximum_reasons_given",
                violation_error_message=(
                    "Give the reason and how the rest of the work will be reprioritised."
                ),
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.person} over maximum with {self.allocation.case} (review by {self.review_by})"
        )

    @property
    def is_open(self) -> bool:
        return self.status == OverMaximumStatus.OPEN


class OverMaximumReview(models.Model):
    """A review of an over-maximum allocation: extended with a new reason and
    date, or resolved. Reviews are added, never changed."""

    class Outcome(models.TextChoices):
        EXTENDED = "extended", "Extended"
        RESOLVED = "resolved", "Resolved"

    record = models.ForeignKey(OverMaximum, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    note = models.TextField()
    new_review_by = models.DateField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "reviewed_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(outcome="extended")
                    & Q(new_review_by__isnull=False)
                    & Q(new_review_by__gt=models.F("reviewed_on"))
                )
                | (Q(outcome="resolved") & Q(new_review_by__isnull=True)),
                name="over_maximum_review_outcome_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} on {self.reviewed_on}"


class CaseTeamMove(models.Model):
    """A case moved to another team, arriving in that team's queue."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="team_moves")
    from_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    moved_on = models.DateField()
    moved_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "moved_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_team=models.F("to_team")), name="case_move_changes_team"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} moved from {self.from_team} to {self.to_team} on {self.moved_on}"


class Notification(models.Model):
    """An email to send. Written in the same transaction as what caused it and
    sent by a task that sweeps unsent rows, so a broker outage loses nothing."""

    recipient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="notifications")
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The sweeper looks for unsent rows only.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="notification_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.email}"


class FormSubmission(models.Model):
    """A form's single-use token (caseload.resubmission), written in the same
    transaction as what the form saved, with where its answer sent the
    person: the same form sent again (a double click, a retry after a
    timeout) is sent there too and saves nothing more. Forgotten after a
    week by the day's jobs."""

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    answer = models.CharField(max_length=2000, blank=True)

    def __str__(self) -> str:
        return f"form {self.token} sent at {self.sent_at}"


class ImportStatus(models.TextChoices):
    INVALID = "invalid", "Problems found"
    PREVIEWED = "previewed", "Ready to confirm"
    QUEUED = "queued", "Waiting to import"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class ImportRun(models.Model):
    """One upload of the whole-caseload format: checked first (the preview),
    then written when confirmed. The file is kept only until the run ends
    (imported, invalid, failed) or its preview expires."""

    Status = ImportStatus

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The teams a manager's import may touch; null for an administrator's.
    team_ids = models.JSONField(null=True, blank=True)
    file_name = models.CharField(max_length=200)
    content = models.BinaryField(blank=True)
    row_count = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Each start of the write: a worker that dies leaves the run to the sweep,
    # which starts it again, a few times at most (caseload.exchange.runs).
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)  # why a failed run failed
    # Whether its new people with an email are invited to set their password.
    invite = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", ImportStatus), name="import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    CHANGE = "change", "Changed"
    END = "end", "Ended"


class AuditRecordType(models.TextChoices):
    CASE = "case", "Case"
    ALLOCATION = "allocation", "Allocation"
    RATING = "rating", "Rating"
    SUPERVISION_RECORD = "supervision_record", "Supervision record"
    LISTING = "listing", "List of cases"


class AuditListing(models.TextChoices):
    """The pages and files that list cases: each view writes one audit row."""

    TEAM = "team", "Team page"
    MY_CASELOAD = "my_caseload", "My caseload"
    OVER_MAXIMUM = "over_maximum", "Over-maximum list"
    EXPORT = "export", "Full export"
    ADMIN_CASES = "admin_cases", "Admin case list"
    ADMIN_ALLOCATIONS = "admin_allocations", "Admin allocation list"
    ADMIN_RATINGS = "admin_ratings", "Admin rating list"
    ADMIN_CASE_SEARCH = "admin_case_search", "Admin case search"


class HoldsAnyOf(models.Lookup):
    """`ids__holds_any_of=[3, 7]`: a JSON list of ids holding any of these,
    on PostgreSQL and SQLite alike (JSONField's `contains` is PostgreSQL's)."""

    lookup_name = "holds_any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)
        wanted: list[int | str] = [int(pk) for pk in self.rhs]
        if not wanted:
            return "1 = 0", params
        if connection.vendor == "postgresql":
            elements, wanted = f"jsonb_array_elements_text({lhs})", [str(pk) for pk in wanted]
        else:
            elements = f"json_each({lhs})"
        marks = ", ".join(["%s"] * len(wanted))
        # Only the column and placeholders are written into the SQL: the ids are parameters.
        sql = f"EXISTS (SELECT 1 FROM {elements} AS listed WHERE listed.value IN ({marks}))"  # noqa: S608
        return sql, [*params, *wanted]


class IdListField(models.JSONField):
    """A JSON list of record ids, searchable with `holds_any_of`."""


IdListField.register_lookup(HoldsAnyOf)


class AccessRecordQuerySet(models.QuerySet["AccessRecord"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be changed.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be deleted.")


class AccessRecord(models.Model):
    """Who viewed, created, changed or ended which record, or opened which
    listing of cases, and when (UTC). No case text: references and ids only.
    Rows are only ever added: the application cannot change them, and deletes
    them only when they pass the retention period (`caseload.audit.
    delete_expired`); on PostgreSQL a trigger refuses anything else short of
    dropping it."""

    Action = AuditAction
    RecordType = AuditRecordType
    Listing = AuditListing

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (scheduled jobs, the demo, command-line imports).",
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    record_type = models.CharField(max_length=20, choices=AuditRecordType.choices)
    record_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Empty for a listing, which names its cases' ids."
    )
    case_reference = models.CharField(max_length=40, blank=True, db_index=True)
    listing = models.CharField(
        max_length=20,
        choices=AuditListing.choices,
        blank=True,
        help_text="Which page or file listed cases (a listing's row only).",
    )
    case_ids = IdListField(
        default=list,
        blank=True,
        help_text="The ids of the cases a listing showed, or that a record's page "
        "showed besides its own case (a supervision record's cases).",
    )
    subject = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose record: the worker of an allocation or a supervision record.",
    )

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "at"], name="audit_user_at")]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("action", AuditAction), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=_in_choices("record_type", AuditRecordType),
                name="audit_record_type_valid",
            ),
            # A listing names its kind and its cases' ids; any other row, its record.
            models.CheckConstraint(
                condition=(
                    Q(record_type=AuditRecordType.LISTING, record_id__isnull=True)
                    & _in_choices("listing", AuditListing)
                )
                | (
                    ~Q(record_type=AuditRecordType.LISTING) & Q(record_id__isnull=False, listing="")
                ),
                name="audit_listing_or_record",
            ),
        ]

    def __str__(self) -> str:
        what = self.listing or f"{self.record_type} {self.record_id}"
        return f"{self.username or 'system'} {self.action} {what}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The audit cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be deleted.")

    @property
    def cases_listed(self) -> int | None:
        """How many cases a listing showed, or a record's page besides its own."""
        return len(self.case_ids) if self.listing or self.case_ids else None


class SuperuserRequestQuerySet(models.QuerySet["SuperuserRequest"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be changed.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be deleted.")


class SuperuserRequest(models.Model):
    """A request made by a superuser: the break-glass account, kept for
    emergencies (README). Every one is recorded, whatever it asks for; rows
    are only ever added, as in the access audit (and on PostgreSQL a trigger
    refuses any change or deletion)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    method = models.CharField(max_length=10)
    path = models.TextField(help_text="The path asked for, with its query string.")

    objects = SuperuserRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "superuser request"

    def __str__(self) -> str:
        return f"{self.username} {self.method} {self.path}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The superuser audit cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be deleted.")


class _LogInHistory(HistoricalRecords):
    """A sign-in saves only the log-in's `last_login`: that is no change to
    the account, and is not kept as one."""

    def post_save(self, instance, created, using=None, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("update_fields") == frozenset({"last_login"}):
            return
        super().post_save(instance, created, using=using, **kwargs)


# Log-ins and groups are changed in the admin too: each change is kept, with
# who made it, as for people and teams (never a password's hash).
simple_history.register(
    User,
    app="caseload",
    records_class=_LogInHistory,
    excluded_fields=["password", "last_login"],
    m2m_fields=["groups", "user_permissions"],
)
simple_history.register(Group, app="caseload", m2m_fields=["permissions"])
