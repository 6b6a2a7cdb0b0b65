"""What the scheduled analyses store: daily caseload snapshots, 12-week
caseload analyses, escalations to senior managers, and quarterly DMT reviews.

Every output has a unique key, so a job run twice writes nothing new.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from caseload.models import Person, Service, Team
from weighting.models import SchemeUnit


def _in_choices(field: str, choices: type[models.Choices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class CaseloadSnapshot(models.Model):
    """A person's numbers on one day, as DESIGN.md defines them, computed from
    the dated records (so any day can be back-filled or recomputed)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="snapshots")
    day = models.DateField()
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    case_holding = models.BooleanField()
    fte = models.DecimalField(max_digits=3, decimal_places=2)
    case_count = models.PositiveIntegerField()
    people_count = models.PositiveIntegerField()
    weighted_load = models.DecimalField(max_digits=9, decimal_places=2)
    capacity = models.DecimalField(max_digits=9, decimal_places=4)
    # The unit of the person's team's scheme that day: load and capacity are
    # points, or hours a month.
    unit = models.CharField(
        max_length=6,
        choices=SchemeUnit.choices,
        default=SchemeUnit.POINTS,
        db_default=SchemeUnit.POINTS,
    )
    percent = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    band = models.CharField(max_length=10, blank=True)
    unrated_count = models.PositiveIntegerField()
    provisional_count = models.PositiveIntegerField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["person", "day"]
        constraints = [
            models.UniqueConstraint(fields=["person", "day"], name="one_snapshot_per_person_day"),
        ]
        indexes = [
            # Quarterly reviews and team trends read a team's days.
            models.Index(fields=["team", "day"], name="snapshot_team_day"),
            models.Index(fields=["day"], name="snapshot_day"),
        ]

    def __str__(self) -> str:
        return f"{self.person} on {self.day}"


class TeamDay(models.Model):
    """A team's case-holding totals on a day: the sums of its members'
    snapshots, kept with them by `services.write_snapshots`. The service's
    12-month trend and the quarterly means read these (a team-day each)
    rather than every person's snapshot of every day."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    case_holding_fte = models.DecimalField(max_digits=9, decimal_places=2)
    cases = models.PositiveIntegerField()
    people = models.PositiveIntegerField()
    weighted_load = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["team", "day"]
        constraints = [
            models.UniqueConstraint(fields=["team", "day"], name="one_total_per_team_day"),
        ]
        indexes = [
            # The service trend reads every team of a service for a year of days.
            models.Index(fields=["day"], name="teamday_day"),
        ]

    def __str__(self) -> str:
        return f"{self.team} on {self.day}"


class SnapshotRecompute(models.Model):
    """A back-dated change: the person's snapshots from `from_day` are out of
    date. Written in the same transaction as the change; a sweep recomputes
    them and deletes the row."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    from_day = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"Recompute {self.person} from {self.from_day}"


class DailyRun(models.Model):
    """The day's jobs (`services.daily_jobs`) for one day: when they last began
    and when they ended. The database, not the scheduler, says whether a day's
    jobs were done: a sweep runs those of a day that beat could not send."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"The jobs of {self.day}"


class SnapshotBackfill(models.Model):
    """A back-fill of snapshots that was asked for (days `first` to `last`,
    of these services or all). Its chunks are tasks that a broker can lose
    with their worker; the every-minute sweep fills what the days still lack
    a few minutes after it was asked for, then marks it finished."""

    first = models.DateField()
    last = models.DateField()
    service_ids = models.JSONField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "pk"]

    def __str__(self) -> str:
        return f"Snapshots from {self.first} to {self.last}"


class CaseloadAnalysis(models.Model):
    """The 12-week caseload analysis of a worker, for their next supervision."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="analyses")
    period_start = models.DateField()
    period_end = models.DateField(help_text="The day of the analysis, the last of the period.")
    weeks = models.JSONField(help_text="Each week's numbers: day, cases, people, load, capacity.")
    average_load = models.DecimalField(max_digits=9, decimal_places=2)
    peak_load = models.DecimalField(max_digits=9, decimal_places=2)
    peak_percent = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    weeks_over_maximum = models.PositiveSmallIntegerField()
    new_cases = models.PositiveIntegerField()
    closed_cases = models.PositiveIntegerField()
    unrated_cases = models.PositiveIntegerField()
    stale_ratings = models.PositiveIntegerField(
        help_text="Cases held whose rating was not reviewed for the set time."
    )
    anticipated_overdue = models.PositiveIntegerField()
    views = models.JSONField(default=list, help_text="The worker's recorded views in the period.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "-period_end"]
        verbose_name_plural = "caseload analyses"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "period_end"], name="one_analysis_per_person_day"
            ),
            models.CheckConstraint(
                condition=Q(period_start__lt=models.F("period_end")),
                name="analysis_period_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Caseload analysis of {self.person} to {self.period_end}"

    def points(self) -> list[dict]:
        """The weekly numbers, typed for templates."""
        return [
            {
                **week,
                "day": datetime.date.fromisoformat(week["day"]),
                "load": Decimal(week["load"]),
                "capacity": Decimal(week["capacity"]),
            }
            for week in self.weeks
        ]

    @property
    def in_hours(self) -> bool:
        """Whether the period ended under a scheme measured in hours a month
        (analyses stored before schemes had a unit are in points)."""
        return bool(self.weeks) and self.weeks[-1].get("unit") == SchemeUnit.HOURS

    @property
    def peak_percent_display(self) -> str:
        """The highest capacity % of the weeks, as shown on its day."""
        weeks = [w for w in self.weeks if w["percent"] is not None]
        if not weeks:
            return "No capacity"
        return max(weeks, key=lambda w: Decimal(w["percent"]))["shown"]


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class EscalationQuerySet(models.QuerySet["Escalation"]):
    def open(self) -> EscalationQuerySet:
        return self.filter(status=EscalationStatus.OPEN)


class Escalation(models.Model):
    """A worker over the maximum for more than three months, escalated to the
    service's senior managers (responsibility 4), until they resolve it."""

    Status = EscalationStatus

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="escalations")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="escalations")
    over_since = models.DateField(help_text="The first day of the unbroken run over the maximum.")
    escalated_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    work_ongoing = models.BooleanField(
        "the manager and worker assess that the work will be ongoing", null=True, blank=True
    )
    assessment = models.TextField(blank=True)
    assessed_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    outcome = models.TextField("what the senior managers did", blank=True)
    resolved_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    resolved_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EscalationQuerySet.as_manager()

    class Meta:
        ordering = ["-escalated_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("status", EscalationStatus), name="escalation_status_valid"
            ),
            # Recorded once: one escalation per unbroken run over the maximum,
            # and at most one open per person.
            models.UniqueConstraint(fields=["person", "over_since"], name="one_escalation_per_run"),
            models.UniqueConstraint(
                fields=["person"], condition=Q(status="open"), name="one_open_escalation_per_person"
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(resolved_on__isnull=True))
                | (Q(status="resolved") & Q(resolved_on__isnull=False) & ~Q(outcome="")),
                name="escalation_resolution_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} over the maximum since {self.over_since}"


class QuarterlyReview(models.Model):
    """A service's quarterly review, taken at the quarter's last day. A re-run
    is a new version; earlier versions are kept."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="reviews")
    quarter_start = models.DateField()
    quarter_end = models.DateField()
    version = models.PositiveSmallIntegerField(default=1)
    taken_at = models.DateTimeField(auto_now_add=True)
    case_holding_fte = models.DecimalField(max_digits=9, decimal_places=2)
    cases_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    people_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    load_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    mean_people_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    unallocated = models.PositiveIntegerField()
    longest_wait_days = models.PositiveIntegerField(null=True)
    over_maximum = models.PositiveIntegerField()
    open_escalations = models.PositiveIntegerField()
    open_concerns = models.PositiveIntegerField()

    class Meta:
        ordering = ["service", "-quarter_end", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "quarter_end", "version"], name="one_review_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service} review to {self.quarter_end} (version {self.version})"


class QuarterlyTeamRow(models.Model):
    """One team's line in a quarterly review."""

    review = models.ForeignKey(QuarterlyReview, on_delete=models.CASCADE, related_name="rows")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    aspiration = models.DecimalField(max_digits=5, decimal_places=1)
    case_holding_fte = models.DecimalField(max_digits=9, decimal_places=2)
    cases = models.PositiveIntegerField()
    people = models.PositiveIntegerField()
    weighted_load = models.DecimalField(max_digits=11, decimal_places=2)
    # The unit of the team's scheme that day: its weighted load and weight
    # per FTE are points or hours a month, compared only with the same unit.
    unit = models.CharField(max_length=6, choices=SchemeUnit.choices, default=SchemeUnit.POINTS)
    cases_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    people_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    load_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    mean_cases_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    mean_people_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    mean_load_per_fte = models.DecimalField(max_digits=9, decimal_places=4, null=True)
    unallocated = models.PositiveIntegerField()
    longest_wait_days = models.PositiveIntegerField(null=True)
    over_maximum = models.PositiveIntegerField()
    open_escalations = models.PositiveIntegerField()
    open_concerns = models.PositiveIntegerField()
    overdue_concerns = models.PositiveIntegerField()
    band_blue = models.PositiveIntegerField(default=0)
    band_green = models.PositiveIntegerField(default=0)
    band_amber = models.PositiveIntegerField(default=0)
    band_red = models.PositiveIntegerField(default=0)
    needs_agreement = models.BooleanField(
        help_text="Above the aspiration: needs DMT agreement (standard 7)."
    )

    class Meta:
        ordering = ["review", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "team"], name="one_row_per_team_in_review"),
        ]

    def __str__(self) -> str:
        return f"{self.team} in {self.review}"


class CapacityIssueQuerySet(models.QuerySet["CapacityIssue"]):
    def open(self) -> CapacityIssueQuerySet:
        """On the DMT agenda: no decision answers it yet."""
        return self.filter(decisions__isnull=True)


class CapacityIssue(models.Model):
    """A team capacity issue a team manager puts on the DMT agenda (seed 001,
    3: "raise this critical issue"). It stays on the agenda until a DMT
    decision answers it."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="capacity_issues")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="capacity_issues")
    raised_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    raised_on = models.DateField()
    summary = models.CharField("the issue in a line", max_length=120)
    detail = models.TextField("what is happening and what the team needs from DMT", max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CapacityIssueQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(summary=""), name="capacity_issue_has_summary"),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.summary}"


class DmtDecisionQuerySet(models.QuerySet["DmtDecision"]):
    def agreements_covering(self, day: datetime.date) -> DmtDecisionQuerySet:
        """Agreed deviations in force on `day`: from the start of the quarter
        they were recorded against to their review date."""
        return self.filter(kind=DmtDecision.Kind.AGREED, quarter_start__lte=day, review_by__gte=day)


class DecisionKind(models.TextChoices):
    AGREED = "agreed", "Agreed to hold above the aspiration"
    ACTIONS = "actions", "Actions agreed"


class DmtDecision(models.Model):
    """A DMT decision about a team for a quarter, as minuted. Decisions are
    never edited: a later meeting records a new one."""

    Kind = DecisionKind

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="decisions")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="decisions")
    quarter_start = models.DateField(help_text="The first day of the quarter it was recorded for.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField("why DMT agreed it", blank=True, max_length=2000)
    actions = models.TextField(blank=True, max_length=2000)
    review_by = models.DateField("review by")
    meeting_on = models.DateField("meeting date")
    minute_reference = models.CharField(max_length=50)
    capacity_issue = models.ForeignKey(
        CapacityIssue,
        on_delete=models.PROTECT,
        related_name="decisions",
        null=True,
        blank=True,
        help_text="The capacity issue on the agenda that this decision answers.",
    )
    recorded_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DmtDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["-meeting_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=_in_choices("kind", DecisionKind), name="decision_kind_valid"
            ),
            # An agreed deviation says why; a decision for action says what.
            models.CheckConstraint(
                condition=(Q(kind="agreed") & ~Q(reason="")) | (Q(kind="actions") & ~Q(actions="")),
                name="decision_says_why_or_what",
            ),
            models.CheckConstraint(
                condition=Q(review_by__gt=F("meeting_on")), name="decision_review_after_meeting"
            ),
            models.CheckConstraint(
                condition=~Q(minute_reference=""), name="decision_has_minute_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_kind_display()} ({self.minute_reference})"
