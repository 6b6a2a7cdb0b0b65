"""Weighting schemes, case ratings and what reduces a person's capacity.

A scheme is agreed by a team (or service-wide) and versioned; a rating keeps
the version it was made with, so agreeing a new version never rewrites old
ratings. Ratings, experience factors and reductions are append-only dated
records, like allocations.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Case, Person, Service, Team
from weighting.defaults import DEFAULT_REMINDER_DAYS


def _in_choices(field: str, choices: type[models.Choices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class SchemeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AGREED = "agreed", "Agreed"
    RETIRED = "retired", "Retired"


class SchemeUnit(models.TextChoices):
    """What a scheme's weights measure: points against a benchmark, or the
    hours a month each case needs against the hours a person has."""

    POINTS = "points", "Weighted points"
    HOURS = "hours", "Hours a month"


class SchemeQuerySet(models.QuerySet["Scheme"]):
    def in_use(self) -> SchemeQuerySet:
        """Versions that were agreed (including those since replaced)."""
        return self.exclude(status=SchemeStatus.DRAFT)


class Scheme(models.Model):
    """One version of a team's (or a whole service's) weighting scheme."""

    Status = SchemeStatus
    Unit = SchemeUnit

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="schemes")
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="schemes",
        null=True,
        blank=True,
        help_text="Empty for a scheme agreed for the whole service.",
    )
    name = models.CharField(max_length=120)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    agreed_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    benchmark = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        default=Decimal("100"),
        help_text="Weighted points agreed for one full-time practitioner.",
    )
    unit = models.CharField(
        max_length=6,
        choices=SchemeUnit.choices,
        default=SchemeUnit.POINTS,
        help_text="Points against the benchmark, or hours a month against each person's hours.",
    )
    non_case_hours = models.DecimalField(
        "weekly allowance for non-case time",
        max_digits=4,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Hours a week of a full-time person's time not for cases (hours schemes only).",
    )
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Drafts are edited in place before they are agreed: each change is kept.
    history = HistoricalRecords()

    objects = SchemeQuerySet.as_manager()

    class Meta:
        ordering = ["service", "team", "-version"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", SchemeStatus), name="scheme_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(benchmark__gt=0),
                name="scheme_benchmark_positive",
                violation_error_message="The benchmark must be more than 0 points.",
            ),
            models.CheckConstraint(
                condition=_in_choices("unit", SchemeUnit), name="scheme_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(non_case_hours__gte=0) & Q(non_case_hours__lte=37),
                name="scheme_non_case_hours_in_range",
                violation_error_message=(
                    "The weekly allowance for non-case time is between 0 and 37 hours."
                ),
            ),
            # A draft has no agreement date; an agreed (or since retired) one has.
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(agreed_on__isnull=True))
                | (~Q(status="draft") & Q(agreed_on__isnull=False)),
                name="scheme_agreed_on_matches_status",
            ),
            models.UniqueConstraint(
                fields=["team", "version"],
                condition=Q(team__isnull=False),
                name="scheme_version_unique_per_team",
            ),
            models.UniqueConstraint(
                fields=["service", "version"],
                condition=Q(team__isnull=True),
                name="scheme_version_unique_per_service",
            ),
            # One version in force, and one draft in progress, per owner.
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(status="agreed", team__isnull=False),
                name="one_agreed_scheme_per_team",
            ),
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status="agreed", team__isnull=True),
                name="one_agreed_scheme_per_service",
            ),
            models.UniqueConstraint(
                fields=["team"],
                condition=Q(status="draft", team__isnull=False),
                name="one_draft_scheme_per_team",
            ),
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(status="draft", team__isnull=True),
                name="one_draft_scheme_per_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (version {self.version})"

    @property
    def owner_label(self) -> str:
        return self.team.name if self.team_id else f"all of {self.service.name}"

    @property
    def is_draft(self) -> bool:
        return self.status == SchemeStatus.DRAFT

    @property
    def in_hours(self) -> bool:
        return self.unit == SchemeUnit.HOURS


class Criterion(models.Model):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["scheme", "position"]
        verbose_name_plural = "criteria"
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "position"], name="criterion_position_unique"
            ),
            models.UniqueConstraint(fields=["scheme", "name"], name="criterion_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Level(models.Model):
    """One point on a criterion's scale: its number and what it means."""

    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="levels")
    value = models.DecimalField(max_digits=5, decimal_places=2)
    descriptor = models.TextField(max_length=500)
    history = HistoricalRecords()

    class Meta:
        ordering = ["criterion", "value"]
        constraints = [
            models.UniqueConstraint(fields=["criterion", "value"], name="level_value_unique"),
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="level_value_not_negative",
                violation_error_message="A level cannot be below 0.",
            ),
            # The target of rating levels' (level, criterion) foreign key on
            # PostgreSQL, which keeps a rating's level on its own criterion.
            models.UniqueConstraint(fields=["id", "criterion"], name="level_id_criterion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {plain_number(self.value)}"


class RatingStatus(models.TextChoices):
    PROVISIONAL = "provisional", "Provisional"
    INTERIM = "interim", "Interim"
    AGREED = "agreed", "Agreed"


class Rating(models.Model):
    """A case's rating on every criterion of a scheme version, on a date.

    Provisional: the manager's rating at allocation. Interim: a manager's
    re-rating between supervisions. Agreed: agreed in supervision with the
    worker. An anticipated rating (levels expected by a date) never counts
    towards a weight.
    """

    Status = RatingStatus

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="ratings")
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="ratings")
    rated_on = models.DateField()
    rated_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    status = models.CharField(max_length=12, choices=Status.choices)
    agreed_with = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    total = models.DecimalField(max_digits=7, decimal_places=2)
    anticipated_by = models.DateField(null=True, blank=True)
    anticipated_total = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "rated_on", "pk"]
        indexes = [
            # "The latest rating on or before a day" is looked up per case and
            # per day held (weighting.numbers.HELD_SQL): with the key as the
            # tie-break, the index alone answers ORDER BY rated_on, id LIMIT 1.
            models.Index(fields=["case", "rated_on", "id"], name="rating_latest_per_case"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", RatingStatus), name="rating_status_valid"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="rating_total_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="agreed") | Q(agreed_with__isnull=False),
                name="agreed_rating_names_the_worker",
            ),
            models.CheckConstraint(
                condition=(Q(anticipated_by__isnull=True) & Q(anticipated_total__isnull=True))
                | (
                    Q(anticipated_by__isnull=False)
                    & Q(anticipated_total__isnull=False)
                    & Q(anticipated_by__gt=F("rated_on"))
                    & Q(anticipated_total__gte=0)
                ),
                name="anticipated_rating_is_dated_after_the_rating",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} rated {plain_number(self.total)} on {self.rated_on}"


class RatingLevel(models.Model):
    """The level a rating gives one criterion, and the level anticipated."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="levels")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    anticipated_level = models.ForeignKey(
        Level, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    anticipated_change = models.CharField(
        max_length=300,
        blank=True,
        help_text="What the worker's interventions are expected to change (no case notes).",
    )

    class Meta:
        ordering = ["rating", "criterion__position"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "criterion"], name="one_level_per_criterion"),
        ]

    def __str__(self) -> str:
        return f"{self.criterion}: {plain_number(self.level.value)}"


class ExperienceFactor(models.Model):
    """A share of a full caseload agreed for a person, from a date (e.g. an
    ASYE's 80%, rising through the year as agreed in supervision)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="experience_factors")
    factor = models.DecimalField(max_digits=3, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the factor no longer applies."
    )
    reason = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Added (ending the one before) in the admin as on the pages: each change is kept.
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(factor__gt=0) & Q(factor__lte=1),
                name="experience_factor_in_range",
                violation_error_message=(
                    "The experience factor is a share of a full caseload: above 0, up to 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="experience_factor_end_not_before_start",
                violation_error_message="The factor cannot end before it starts.",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True),
                name="one_open_experience_factor_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person}: {self.factor} from {self.start_date}"


class ReductionReasonQuerySet(models.QuerySet["ReductionReason"]):
    def offered(self) -> ReductionReasonQuerySet:
        """Reasons a new reduction may give (old ones keep theirs)."""
        return self.filter(active=True)


class ReductionReason(models.Model):
    """A reason for protected time on a service's list, with the size it
    takes unless the manager says otherwise, the most it may take, how long
    it may last, and how many days before its end the manager is reminded.

    A reason no longer offered is made inactive, never deleted: it still
    names the reductions recorded with it."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reduction_reasons")
    name = models.CharField(max_length=60)
    default_hours_per_week = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Taken when a reduction gives no size. Hours or a percentage, not both.",
    )
    default_percentage = models.DecimalField(
        "default percentage of their hours", max_digits=5, decimal_places=2, null=True, blank=True
    )
    maximum_hours_per_week = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=(
            "The most a reduction for this reason may take, in hours a week or as a "
            "percentage of the person's hours (not both); empty for no limit."
        ),
    )
    maximum_percentage = models.DecimalField(
        "maximum percentage of their hours", max_digits=5, decimal_places=2, null=True, blank=True
    )
    maximum_weeks = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "The longest a reduction for this reason may last; one given no end date "
            "ends after this many weeks. Empty for no limit."
        ),
    )
    reminder_days = models.PositiveSmallIntegerField(
        default=DEFAULT_REMINDER_DAYS,
        help_text="Days before a reduction ends that the person's team managers are emailed.",
    )
    active = models.BooleanField(
        default=True,
        help_text="Offered for new reductions. Untick to stop offering it: old ones keep it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Edited in place in the admin: each change is kept.
    history = HistoricalRecords()

    objects = ReductionReasonQuerySet.as_manager()

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            # The import matches a reason by its name, whatever its capitals.
            models.UniqueConstraint(
                Lower("name"),
                "service",
                name="reduction_reason_name_unique_per_service",
                violation_error_message="The service already has a reason with this name.",
            ),
            models.CheckConstraint(
                condition=Q(default_hours_per_week__isnull=True)
                | Q(default_percentage__isnull=True),
                name="reduction_reason_one_default",
                violation_error_message="Give a default in hours a week or a percentage, not both.",
            ),
            models.CheckConstraint(
                condition=Q(maximum_hours_per_week__isnull=True)
                | Q(maximum_percentage__isnull=True),
                name="reduction_reason_one_maximum",
                violation_error_message="Give a maximum in hours a week or a percentage, not both.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(default_hours_per_week__isnull=True)
                    | (Q(default_hours_per_week__gt=0) & Q(default_hours_per_week__lte=37))
                )
                & (
                    Q(maximum_hours_per_week__isnull=True)
                    | (Q(maximum_hours_per_week__gt=0) & Q(maximum_hours_per_week__lte=37))
                ),
                name="reduction_reason_hours_in_range",
                violation_error_message="Hours a week are more than 0 and no more than 37.",
            ),
            models.CheckConstraint(
                condition=(
                    Q(default_percentage__isnull=True)
                    | (Q(default_percentage__gt=0) & Q(default_percentage__lte=100))
                )
                & (
                    Q(maximum_percentage__isnull=True)
                    | (Q(maximum_percentage__gt=0) & Q(maximum_percentage__lte=100))
                ),
                name="reduction_reason_percentage_in_range",
                violation_error_message="A percentage is more than 0 and no more than 100.",
            ),
            # A default above the maximum would be refused every time it was taken.
            models.CheckConstraint(
                condition=Q(default_hours_per_week__isnull=True)
                | Q(maximum_hours_per_week__isnull=True)
                | Q(default_hours_per_week__lte=F("maximum_hours_per_week")),
                name="reduction_reason_default_hours_within_maximum",
                violation_error_message="The default hours a week are above the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(default_percentage__isnull=True)
                | Q(maximum_percentage__isnull=True)
                | Q(default_percentage__lte=F("maximum_percentage")),
                name="reduction_reason_default_percentage_within_maximum",
                violation_error_message="The default percentage is above the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(maximum_weeks__isnull=True)
                | (Q(maximum_weeks__gte=1) & Q(maximum_weeks__lte=520)),
                name="reduction_reason_maximum_weeks_in_range",
                violation_error_message="The maximum length is from 1 to 520 weeks (ten years).",
            ),
            models.CheckConstraint(
                condition=Q(reminder_days__gte=1) & Q(reminder_days__lte=365),
                name="reduction_reason_reminder_days_in_range",
                violation_error_message="The reminder is from 1 to 365 days before the end.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def summary(self) -> str:
        """Its size and limits in a sentence, for the choice of a reason:
        "3.7 hours a week unless you give a size; at most 12 weeks, and it
        ends then if you give no end date"."""
        parts = []
        if self.default_hours_per_week is not None:
            parts.append(f"{plain_number(self.default_hours_per_week)} hours a week")
        elif self.default_percentage is not None:
            parts.append(f"{plain_number(self.default_percentage)}% of their hours")
        if parts:
            parts[0] += " unless you give a size"
        if self.maximum_hours_per_week is not None:
            parts.append(f"at most {plain_number(self.maximum_hours_per_week)} hours a week")
        elif self.maximum_percentage is not None:
            parts.append(f"at most {plain_number(self.maximum_percentage)}% of their hours")
        if self.maximum_weeks:
            weeks = "1 week" if self.maximum_weeks == 1 else f"{self.maximum_weeks} weeks"
            parts.append(f"lasts at most {weeks}, and ends then if you give no end date")
        text = "; ".join(parts)
        return text[:1].upper() + text[1:]


class Reduction(models.Model):
    """Protected time that reduces a person's capacity for a dated period."""

    FULL_TIME_HOURS = Decimal("37")

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="reductions")
    reason = models.ForeignKey(ReductionReason, on_delete=models.PROTECT, related_name="reductions")
    detail = models.CharField(max_length=120, blank=True)
    hours_per_week = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True)
    percentage = models.DecimalField(
        "percentage of their hours", max_digits=5, decimal_places=2, null=True, blank=True
    )
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the reduction no longer applies."
    )
    recorded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Added (ending the one before) in the admin as on the pages: each change is kept.
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "start_date"]
        constraints = [
            # Hours a week, or a percentage of the person's hours: one, not both.
            models.CheckConstraint(
                condition=(
                    Q(hours_per_week__isnull=False)
                    & Q(percentage__isnull=True)
                    & Q(hours_per_week__gt=0)
                    & Q(hours_per_week__lte=37)
                )
                | (
                    Q(hours_per_week__isnull=True)
                    & Q(percentage__isnull=False)
                    & Q(percentage__gt=0)
                    & Q(percentage__lte=100)
                ),
                name="reduction_hours_or_percentage",
                violation_error_message=(
                    "Give the protected time in hours a week (up to "
                    "37) or as a percentage (up to 100), not both."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="reduction_end_not_before_start",
                violation_error_message="The reduction cannot end before it starts.",
            ),
            # No two reductions for the same reason at once (the open one here;
            # on PostgreSQL an exclusion constraint covers past periods too).
            models.UniqueConstraint(
                fields=["person", "reason"],
                condition=Q(end_date__isnull=True),
                name="one_open_reduction_per_reason",
            ),
        ]

    def __str__(self) -> str:
        amount = (
            f"{plain_number(self.hours_per_week)} hours a week"
            if self.hours_per_week is not None
            else f"{plain_number(self.percentage)}%"
        )
        return f"{self.reason.name}: {amount}"


class NonCaseAllowance(models.Model):
    """A person's own weekly allowance for non-case time, from a date, in
    place of their team's (hours schemes: seed 003's individual capacity
    planner)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="non_case_allowances")
    hours_per_week = models.DecimalField(max_digits=4, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the allowance no longer applies."
    )
    reason = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours_per_week__gte=0) & Q(hours_per_week__lte=37),
                name="non_case_allowance_in_range",
                violation_error_message=(
                    "The weekly allowance for non-case time is between 0 and 37 hours."
                ),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="non_case_allowance_end_not_before_start",
                violation_error_message="The allowance cannot end before it starts.",
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True),
                name="one_open_non_case_allowance_per_person",
            ),
        ]

    def __str__(self) -> str:
        hours = plain_number(self.hours_per_week)
        return f"{self.person}: {hours} hours a week from {self.start_date}"


class ReductionReminder(models.Model):
    """That the team managers were reminded of a reduction's end: the job
    that sends reminders writes one with its emails, so a reduction is
    reminded of once for each end date it is given."""

    reduction = models.ForeignKey(Reduction, on_delete=models.CASCADE, related_name="reminders")
    ends_on = models.DateField(help_text="The end date the managers were reminded of.")
    emails = models.PositiveSmallIntegerField(help_text="How many managers were emailed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["reduction", "ends_on"]
        constraints = [
            # A rerun, or a task delivered twice, finds the row and sends nothing.
            models.UniqueConstraint(
                fields=["reduction", "ends_on"], name="one_reminder_per_reduction_end"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reduction} ends on {self.ends_on}"


class PauseReasonQuerySet(models.QuerySet["PauseReason"]):
    def offered(self) -> PauseReasonQuerySet:
        """Reasons a new pause may give (old pauses keep theirs)."""
        return self.filter(active=True)


class PauseReason(models.Model):
    """A reason on a service's list for pausing a case (awaiting closure, a
    child in hospital, on hold): the share of its weight a paused case
    counts, and the longest it may count so.

    A reason no longer offered is made inactive, never deleted: it still
    names the pauses recorded with it."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="pause_reasons")
    name = models.CharField(max_length=60)
    factor = models.DecimalField(
        "weight factor",
        max_digits=3,
        decimal_places=2,
        help_text="The share of its weight a paused case counts: more than 0, less than 1.",
    )
    maximum_weeks = models.PositiveSmallIntegerField(
        help_text="The longest a pause counts at the factor: after it the case counts in full."
    )
    active = models.BooleanField(
        default=True,
        help_text="Offered for new pauses. Untick to stop offering it: old ones keep it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Edited in place in the admin: each change is kept.
    history = HistoricalRecords()

    objects = PauseReasonQuerySet.as_manager()

    class Meta:
        ordering = ["service", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "service",
                name="pause_reason_name_unique_per_service",
                violation_error_message="The service already has a reason with this name.",
            ),
            # A factor of 1 would pause nothing; 0 would hide the work (DESIGN.md).
            models.CheckConstraint(
                condition=Q(factor__gt=0) & Q(factor__lt=1),
                name="pause_reason_factor_in_range",
                violation_error_message="The weight factor is more than 0 and less than 1.",
            ),
            models.CheckConstraint(
                condition=Q(maximum_weeks__gte=1) & Q(maximum_weeks__lte=104),
                name="pause_reason_maximum_weeks_in_range",
                violation_error_message="The maximum length is from 1 to 104 weeks (two years).",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def summary(self) -> str:
        """ "Counts at ×0.5 for at most 8 weeks"."""
        weeks = "1 week" if self.maximum_weeks == 1 else f"{self.maximum_weeks} weeks"
        return f"Counts at ×{plain_number(self.factor)} for at most {weeks}"


class CasePauseQuerySet(models.QuerySet["CasePause"]):
    def open(self) -> CasePauseQuerySet:
        """Pauses not ended (one per case at most), whether or not they
        still count at their factor."""
        return self.filter(end_date__isnull=True)

    def counting_on(self, day: datetime.date) -> CasePauseQuerySet:
        """Pauses whose case counts at their factor on `day`: the rule of
        `weighting.numbers.PAUSE_IN_FORCE`."""
        return self.filter(start_date__lte=day, full_from__gt=day).filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day)
        )


class CasePause(models.Model):
    """A case paused for a reason from its service's list: from `start_date`
    its weight counts at `factor` until it ends (`end_date`, the first day
    it no longer applies) or reaches `full_from`, the day it counts in full
    again. The factor and that day are fixed when the case is paused, so a
    later change to the reason never rewrites the numbers of past days."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="pauses")
    reason = models.ForeignKey(PauseReason, on_delete=models.PROTECT, related_name="pauses")
    factor = models.DecimalField(max_digits=3, decimal_places=2)
    start_date = models.DateField()
    full_from = models.DateField(help_text="The day the case counts in full again.")
    end_date = models.DateField(
        null=True, blank=True, help_text="The first day the pause no longer applies."
    )
    paused_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    ended_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = CasePauseQuerySet.as_manager()

    class Meta:
        ordering = ["case", "start_date"]
        indexes = [
            # The pause in force per case and day (weighting.numbers.HELD_SQL).
            models.Index(fields=["case", "start_date"], name="case_pause_per_case"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(factor__gt=0) & Q(factor__lt=1),
                name="case_pause_factor_in_range",
                violation_error_message="The weight factor is more than 0 and less than 1.",
            ),
            models.CheckConstraint(
                condition=Q(full_from__gt=F("start_date")),
                name="case_pause_full_from_after_start",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="case_pause_end_not_before_start",
                violation_error_message="The pause cannot end before it starts.",
            ),
            # At most one pause in force per case (the open one here; on
            # PostgreSQL an exclusion constraint covers past periods too).
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(end_date__isnull=True),
                name="one_open_pause_per_case",
                violation_error_message="The case is already paused.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} paused: {self.reason.name}"

    @property
    def is_open(self) -> bool:
        return self.end_date is None

    def counts_reduced_on(self, day: datetime.date) -> bool:
        """Whether the case counts at the factor on `day`."""
        return self.start_date <= day < self.full_from and (
            self.end_date is None or day < self.end_date
        )

    @property
    def tag(self) -> str:
        return pause_tag(self.reason.name, self.factor, self.full_from)


def pause_tag(reason: str, factor: Decimal, full_from: datetime.date) -> str:
    """What a page shows of a case paused that day: "Paused: Awaiting
    closure (×0.5 until 1 February 2027)"."""
    return f"Paused: {reason} (×{plain_number(factor)} until {long_date(full_from)})"


def pause_annotations(day: datetime.date, case_field: str = "pk") -> dict[str, Subquery]:
    """Annotations of a case's pause counting on `day` (its reason's name,
    factor and the day it counts in full again; None when not paused), read
    in the query of the cases: rows of `case_field` (an OuterRef)."""
    pauses = (
        CasePause.objects.counting_on(day)
        .filter(case=OuterRef(case_field))
        .order_by("-start_date", "-pk")
    )
    return {
        "pause_reason": Subquery(pauses.values("reason__name")[:1]),
        "pause_factor": Subquery(pauses.values("factor")[:1]),
        "pause_full_from": Subquery(pauses.values("full_from")[:1]),
    }


class PauseReminder(models.Model):
    """That the team managers were told a pause reached its longest length:
    written by the job with its emails, so each pause is told of once."""

    pause = models.OneToOneField(CasePause, on_delete=models.CASCADE, related_name="reminder")
    emails = models.PositiveSmallIntegerField(help_text="How many managers were emailed.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.pause} reached its longest length"
