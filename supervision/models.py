"""Supervision: what a worker brings to it (their view of their workload,
proposed re-ratings, concerns raised at any time) and the record itself.

A supervision record is a draft until the supervisor signs it; from then on
its content never changes (corrections are addenda), and the worker signs
after, agreeing or recording their disagreement.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from caseload.models import Case, Person
from weighting.models import Criterion, Level, Scheme


def _in_choices(field: str, choices: type[models.Choices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class WorkloadScale(models.IntegerChoices):
    VERY_MANAGEABLE = 1, "Very manageable"
    MANAGEABLE = 2, "Manageable"
    JUST_ABOUT = 3, "Just about manageable"
    HARD = 4, "Hard to manage"
    NOT_MANAGEABLE = 5, "Not manageable"


class WorkloadView(models.Model):
    """A worker's own view of their workload, for their supervisor (Employer
    Standard 3: "have your professional judgement about workload capacity
    issues respected"). Seen by the worker and their supervisor only."""

    Scale = WorkloadScale

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="workload_views")
    scale = models.PositiveSmallIntegerField(choices=Scale.choices)
    comment = models.TextField(max_length=1000, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("scale", WorkloadScale), name="workload_view_scale_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.get_scale_display()}"


class ProposalStatus(models.TextChoices):
    OPEN = "open", "Proposed"
    AGREED = "agreed", "Taken into supervision"
    WITHDRAWN = "withdrawn", "Withdrawn"


class RatingProposal(models.Model):
    """A worker's proposed re-rating of a case, theirs until agreed in supervision."""

    Status = ProposalStatus

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="rating_proposals")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="rating_proposals")
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="+")
    why = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", ProposalStatus), name="proposal_status_valid"
            ),
            # One open proposal per case and worker: a new one replaces it.
            models.UniqueConstraint(
                fields=["case", "person"],
                condition=Q(status="open"),
                name="one_open_proposal_per_case_and_worker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}'s proposal for {self.case}"


class ProposalLevel(models.Model):
    proposal = models.ForeignKey(RatingProposal, on_delete=models.CASCADE, related_name="levels")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["proposal", "criterion__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "criterion"], name="one_proposed_level_per_criterion"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {self.level.value}"


class ConcernStatus(models.TextChoices):
    OPEN = "open", "Waiting for a response"
    RESPONDED = "responded", "Responded"


class WorkloadConcernQuerySet(models.QuerySet["WorkloadConcern"]):
    def open(self) -> WorkloadConcernQuerySet:
        return self.filter(status=ConcernStatus.OPEN)

    def overdue(self, day: datetime.date) -> WorkloadConcernQuerySet:
        return self.open().filter(respond_by__lt=day)


class WorkloadConcern(models.Model):
    """A worker's concern about their workload, raised at any time. It goes to
    their supervisor and team manager and needs a recorded response within
    five working days."""

    Status = ConcernStatus

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="workload_concerns")
    concern = models.TextField(max_length=2000)
    raised_at = models.DateTimeField(auto_now_add=True)
    respond_by = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    response = models.TextField(max_length=2000, blank=True)
    responded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = WorkloadConcernQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", ConcernStatus), name="concern_status_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(responded_at__isnull=True))
                | (Q(status="responded") & Q(responded_at__isnull=False) & ~Q(response="")),
                name="concern_response_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}'s concern of {self.raised_at:%d %b %Y}"


class RecordStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUPERVISOR_SIGNED = "supervisor_signed", "Signed by the supervisor"
    SIGNED = "signed", "Signed by both"


class SupervisionRecordQuerySet(models.QuerySet["SupervisionRecord"]):
    def signed_by_supervisor(self) -> SupervisionRecordQuerySet:
        return self.exclude(status=RecordStatus.DRAFT)

    def held_for(self, worker: object) -> SupervisionRecordQuerySet:
        """The supervisions held for `worker` (a person or an OuterRef), the
        latest first. Only a signed record is a supervision held: a draft
        records nothing yet."""
        return self.signed_by_supervisor().filter(worker=worker).order_by("-held_on", "-pk")


class SupervisionRecord(models.Model):
    """The record of one supervision of a worker by their supervisor."""

    Status = RecordStatus

    # What may still change once the supervisor has signed: only the worker's
    # signature. Everything else is fixed; corrections are addenda.
    CONTENT_FIELDS = (
        "worker_id",
        "supervisor_id",
        "held_on",
        "caseload_discussion",
        "deviation_agreed",
        "deviation_reason",
        "analysis_included",
        "time_for_direct_work",
        "other_demands",
        "asye_factor",
        "actions",
        "next_supervision",
        "worker_view_id",
        "analysis_id",
        "supervisor_signed_at",
    )

    worker = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="supervisions")
    supervisor = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="supervisions_given"
    )
    held_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    worker_view = models.ForeignKey(
        WorkloadView, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    caseload_discussion = models.TextField(
        "discussion of the relative complexity of the cases and the impact on capacity",
        blank=True,
    )
    deviation_agreed = models.BooleanField(
        "a deviation from the average caseload is agreed", null=True, blank=True
    )
    deviation_reason = models.TextField(blank=True)
    analysis_included = models.BooleanField(
        "the 12-weekly caseload analysis is part of this supervision", default=False
    )
    analysis = models.ForeignKey(
        "reports.CaseloadAnalysis",
        on_delete=models.PROTECT,
        related_name="supervisions",
        null=True,
        blank=True,
        help_text="The stored 12-week caseload analysis discussed.",
    )
    time_for_direct_work = models.TextField(
        "time available to work directly with children and families", blank=True
    )
    other_demands = models.TextField("issues meeting other demands", blank=True)
    asye_factor = models.DecimalField(
        "ASYE's share of a full caseload, agreed",
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
    )
    actions = models.TextField(blank=True)
    next_supervision = models.DateField(null=True, blank=True)
    supervisor_signed_at = models.DateTimeField(null=True, blank=True)
    worker_signed_at = models.DateTimeField(null=True, blank=True)
    worker_disagreement = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SupervisionRecordQuerySet.as_manager()

    class Meta:
        ordering = ["worker", "-held_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", RecordStatus), name="supervision_status_valid"
            ),
            models.UniqueConstraint(fields=["worker", "held_on"], name="one_record_per_worker_day"),
            models.CheckConstraint(
                condition=~Q(worker=F("supervisor")), name="nobody_supervises_themselves"
            ),
            # Signatures come in order: the supervisor's, then the worker's.
            models.CheckConstraint(
                condition=(
                    Q(status="draft")
                    & Q(supervisor_signed_at__isnull=True)
                    & Q(worker_signed_at__isnull=True)
                )
                | (
                    Q(status="supervisor_signed")
                    & Q(supervisor_signed_at__isnull=False)
                    & Q(worker_signed_at__isnull=True)
                )
                | (
                    Q(status="signed")
                    & Q(supervisor_signed_at__isnull=False)
                    & Q(worker_signed_at__isnull=False)
                ),
                name="supervision_signatures_in_order",
            ),
            models.CheckConstraint(
                condition=Q(next_supervision__isnull=True) | Q(next_supervision__gt=F("held_on")),
                name="next_supervision_after_this_one",
            ),
        ]

    def __str__(self) -> str:
        return f"Supervision of {self.worker} on {self.held_on}"

    def save(self, *args, **kwargs) -> None:
        # Immutability at the model layer, whatever path writes: once the
        # supervisor has signed, only the worker's signature may be added.
        if self.pk is not None:
            stored = (
                type(self).objects.filter(pk=self.pk).values(*self.CONTENT_FIELDS, "status").first()
            )
            if stored is not None and stored["status"] != RecordStatus.DRAFT:
                changed = [f for f in self.CONTENT_FIELDS if getattr(self, f) != stored[f]]
                if changed or stored["status"] == RecordStatus.SIGNED:
                    raise ValidationError(
                        "A signed supervision record cannot change; add an addendum instead."
                    )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if type(self).objects.filter(pk=self.pk).exclude(status=RecordStatus.DRAFT).exists():
            raise ValidationError("A signed supervision record cannot be deleted.")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == RecordStatus.DRAFT


class SupervisionCaseItem(models.Model):
    """One case in the record: the rating agreed for it, with an optional
    anticipated rating. Levels are kept as {criterion id: level} until the
    supervisor signs, when they become an agreed rating."""

    record = models.ForeignKey(SupervisionRecord, on_delete=models.CASCADE, related_name="items")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    proposal = models.ForeignKey(
        RatingProposal, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # A case the worker is involved in but does not hold: shown, never rated.
    involved = models.BooleanField(default=False)
    agree = models.BooleanField("agree a rating in this supervision", default=False)
    levels = models.JSONField(default=dict, blank=True)
    anticipated_levels = models.JSONField(default=dict, blank=True)
    anticipated_changes = models.JSONField(default=dict, blank=True)
    anticipated_by = models.DateField(null=True, blank=True)
    rating = models.ForeignKey(
        "weighting.Rating", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["record", "case__reference"]
        constraints = [
            models.UniqueConstraint(fields=["record", "case"], name="one_item_per_case"),
        ]

    def __str__(self) -> str:
        return f"{self.case} in {self.record}"


class SupervisionAddendum(models.Model):
    """A correction or addition to a signed record, by its author, at a time."""

    record = models.ForeignKey(SupervisionRecord, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["record", "created_at", "pk"]
        verbose_name_plural = "supervision addenda"

    def __str__(self) -> str:
        return f"Addendum by {self.author} to {self.record}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValidationError("An addendum cannot change; add another.")
        super().save(*args, **kwargs)
