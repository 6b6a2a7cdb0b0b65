"""Cases, the workers allocated to them over time, allocations made over the
maximum, and cases' moves between teams."""

from __future__ import annotations

from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from simple_history.models import HistoricalRecords

from caseload.models.choices import AllocationKind, CaseStatus, CaseType, Priority, in_choices
from caseload.models.organisation import DatedQuerySet, Service, Team
from caseload.models.people import Person


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
    # The day the case is expected to close: forecasts drop it from then on.
    # A plan, not a closing: live figures ignore it.
    planned_close_on = models.DateField("planned closing date", null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # A restricted case's reference and label are seen only by its team's
    # managers, the workers allocated to it and their supervisors, and the
    # people named on it (caseload.access); everyone else sees that it exists.
    restricted = models.BooleanField(default=False)
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
                condition=in_choices("case_type", CaseType), name="case_type_valid"
            ),
            models.CheckConstraint(
                condition=in_choices("priority", Priority), name="case_priority_valid"
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
                condition=in_choices("kind", AllocationKind), name="allocation_kind_valid"
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
                condition=in_choices("status", OverMaximumStatus),
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


class NamedOnCase(models.Model):
    """Someone named on a restricted case: they see it as the people allocated
    to it do. Named by one of its team's managers; removed by deleting the row
    (the audit keeps who did what)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="named")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    named_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "pk"]
        verbose_name = "person named on a restricted case"
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="named_on_case_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person} named on {self.case}"


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
