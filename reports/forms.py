"""Forms of the escalations and DMT pages."""

from __future__ import annotations

import datetime
from collections.abc import Mapping as Data
from decimal import Decimal
from typing import Any

from crispy_forms_gds.choices import Choice
from django import forms
from django.utils import timezone

from caseload.dates import Quarter, add_months, long_date
from caseload.fields import date_field, number_field
from caseload.formatting import plain_number
from caseload.models import Person, Team
from caseload.services import RuleBroken
from reports.dashboards.quarters import chosen_review, quarter_key, quarter_of, reviews_of
from reports.models import CapacityIssue, DmtDecision, Escalation
from reports.services.dmt import decision_record
from reports.services.escalations import escalation_assess, escalation_resolve
from weighting.bands import Bands
from weighting.what_if import DraftCriterion, Mapping


class AssessmentForm(forms.Form):
    work_ongoing = forms.ChoiceField(
        label="Do you and the worker assess that the work will be ongoing?",
        choices=[Choice("yes", "Yes"), Choice("no", "No")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose yes if the work will be ongoing"},
    )
    assessment = forms.CharField(
        label="What you assessed",
        help_text="For example, which work continues and for how long. No case notes.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        error_messages={"required": "Say what you and the worker assessed"},
    )

    @classmethod
    def of(cls, escalation: Escalation, data=None) -> AssessmentForm:  # type: ignore[no-untyped-def]
        """The form, showing the escalation's assessment so far."""
        return cls(
            data,
            initial={
                "work_ongoing": {True: "yes", False: "no"}.get(escalation.work_ongoing, ""),
                "assessment": escalation.assessment,
            },
        )

    def save(self, escalation: Escalation, *, by: Person) -> bool:
        """Record the assessment; False, with the reason on the form, if a rule
        stops it."""
        try:
            escalation_assess(
                escalation=escalation,
                work_ongoing=self.cleaned_data["work_ongoing"] == "yes",
                assessment=self.cleaned_data["assessment"],
                by=by,
            )
        except RuleBroken as error:
            self.add_error(None, error)
            return False
        return True


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        label="What the senior managers did",
        help_text="For example, cases moved, extra staff, or a decision minuted at DMT. "
        "Recording it resolves the escalation.",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        error_messages={"required": "Say what the senior managers did"},
    )

    def save(self, escalation: Escalation, *, by: Person) -> bool:
        """Resolve the escalation; False, with the reason on the form, if a rule
        stops it."""
        try:
            escalation_resolve(escalation=escalation, outcome=self.cleaned_data["outcome"], by=by)
        except RuleBroken as error:
            self.add_error(None, error)
            return False
        return True


class CapacityIssueForm(forms.Form):
    summary = forms.CharField(
        label="The issue in a line",
        help_text="For example, “Two vacancies: caseloads above 22 children per worker”.",
        max_length=120,
        error_messages={"required": "Enter the issue in a line"},
    )
    detail = forms.CharField(
        label="What is happening and what the team needs from DMT",
        help_text="Numbers and staffing only: no case details or names of children.",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=2000,
        error_messages={"required": "Say what is happening and what the team needs"},
    )


class DecisionForm(forms.Form):
    quarter = forms.ChoiceField(
        label="Quarter",
        error_messages={"required": "Choose the quarter", "invalid_choice": "Choose a quarter"},
    )
    kind = forms.ChoiceField(
        label="What did DMT decide?",
        choices=[
            Choice(
                DmtDecision.Kind.AGREED,
                "Agreed: the team may hold above its aspiration",
                hint="Clears the team's flag from the quarter's start to the review date.",
            ),
            Choice(
                DmtDecision.Kind.ACTIONS,
                "Actions agreed",
                hint="For example, to bring caseloads down or to answer a capacity issue.",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what DMT decided"},
    )
    reason = forms.CharField(
        label="Why DMT agreed it",
        help_text="Needed when DMT agreed to hold above the aspiration.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    actions = forms.CharField(
        label="Actions",
        help_text="Who does what, by when. Needed when DMT agreed actions.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    meeting_on = date_field("Meeting date", help_text="For example, 12 10 2026")
    review_by = date_field(
        "Review date", help_text="When DMT looks at it again. For example, 31 3 2027"
    )
    minute_reference = forms.CharField(
        label="Minute reference",
        help_text="As in the DMT minutes, for example DMT/2026/10/4.",
        max_length=50,
        error_messages={"required": "Enter the minute reference"},
    )
    capacity_issue = forms.TypedChoiceField(
        label="Capacity issue this answers (optional)",
        coerce=int,
        required=False,
        empty_value=None,
    )

    def __init__(self, *args, quarters: list, issues: list, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["quarter"].choices = [(f"{q.start:%Y-%m}", q.label) for q in quarters]
        self.fields["capacity_issue"].choices = [("", "None")] + [
            (issue.pk, f"{issue.summary} (raised {long_date(issue.raised_on)})") for issue in issues
        ]
        self.issues = {issue.pk: issue for issue in issues}

    @classmethod
    def for_team(
        cls,
        team: Team,
        data=None,  # type: ignore[no-untyped-def]
        *,
        quarter: str | None,
        issue: str | None,
        by: Person | None = None,
    ) -> DecisionForm:
        """The form for a team: the quarters with a stored review (or the last
        quarter, when there is none yet), the quarter asked for chosen, and the
        team's open capacity issues, the one asked for chosen. The meeting is
        today, the review at the end of next quarter (DMT's next quarterly
        review), and the minute reference the last one `by` recorded: the
        decisions of one meeting are recorded one after another."""
        reviews = reviews_of(team.service)
        quarters = [quarter_of(r) for r in reviews] or [
            Quarter.containing(timezone.localdate()).previous
        ]
        issues = list(CapacityIssue.objects.open().filter(team=team).order_by("raised_on", "pk"))
        chosen = chosen_review(reviews, quarter)
        today = timezone.localdate()
        last = DmtDecision.objects.filter(recorded_by=by).order_by("-pk").first() if by else None
        return cls(
            data,
            quarters=quarters,
            issues=issues,
            initial={
                "quarter": quarter_key(chosen) or f"{quarters[0].start:%Y-%m}",
                "capacity_issue": issue,
                "meeting_on": today,
                "review_by": Quarter.containing(today).next.end,
                "minute_reference": last.minute_reference if last else "",
            },
        )

    def save(self, team: Team, *, by: Person) -> DmtDecision | None:
        """Record the decision; None, with the reason on the form, if a rule
        stops it."""
        data = self.cleaned_data
        try:
            return decision_record(
                team=team,
                quarter=Quarter.parse(data["quarter"]),
                kind=data["kind"],
                reason=data["reason"],
                actions=data["actions"],
                review_by=data["review_by"],
                meeting_on=data["meeting_on"],
                minute_reference=data["minute_reference"],
                capacity_issue=self.issues.get(data["capacity_issue"]),
                by=by,
            )
        except RuleBroken as error:
            self.add_error(None, error)
            return None

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == DmtDecision.Kind.AGREED and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why DMT agreed the team may hold above its aspiration")
        if kind == DmtDecision.Kind.ACTIONS and not cleaned.get("actions", "").strip():
            self.add_error("actions", "Say what actions DMT agreed")
        meeting_on, review_by = cleaned.get("meeting_on"), cleaned.get("review_by")
        if meeting_on and meeting_on > timezone.localdate():
            self.add_error("meeting_on", "The meeting date must be today or in the past")
        if meeting_on and review_by and review_by <= meeting_on:
            self.add_error("review_by", "The review date must be after the meeting date")
        return cleaned


class ChosenDayForm(forms.Form):
    """A day ahead to forecast, within a year."""

    on = date_field(
        "Date to forecast", help_text="Within a year from today. For example, 15 4 2027"
    )

    def clean_on(self) -> datetime.date:
        day = self.cleaned_data["on"]
        today = timezone.localdate()
        if not today < day <= add_months(today, 12):
            raise forms.ValidationError("Date to forecast must be after today and within a year")
        return day


MIDDLE = "middle"


def map_field(criterion: DraftCriterion, source: int, level: int) -> str:
    """The name of the field mapping the `level`-th value of the `source`-th
    old criterion to a level of the draft's `criterion`: a changed source
    names new fields, so an old choice never carries over to another."""
    return f"map-{criterion.pk}-{source}-{level}"


def _percent_field(label: str, band: str) -> forms.DecimalField:
    """A band threshold, in % of capacity to one decimal place."""
    return number_field(
        label,
        least=Decimal("0.1"),
        most=Decimal("999.9"),
        digits=4,
        places=1,
        what=f"the {band} band's start",
        required=f"Enter where the {band} band starts",
    )


class WhatIfForm(forms.Form):
    """A what-if's draft band thresholds and aspiration and, with a draft
    scheme, its mapping table: a GET form, and nothing it takes is stored.
    Always bound, to `WhatIfForm.completed` data."""

    green_from = _percent_field("Green band from (%)", "green")
    amber_above = _percent_field("Amber band above (%)", "amber")
    red_from = _percent_field("Red band from (%)", "red")
    aspiration = number_field(
        "Aspiration (per case-holding FTE)",
        least=Decimal("0.1"),
        most=Decimal("999.9"),
        digits=4,
        places=1,
        what="the aspiration",
        example="20",
        help_text="Leave empty to keep each team's own.",
    )

    def __init__(
        self,
        data: Data[str, Any],
        *,
        criteria: list[DraftCriterion] = (),  # type: ignore[assignment]
        in_use: dict[str, list[Decimal]] | None = None,
    ) -> None:
        super().__init__(data)
        self.criteria = list(criteria)
        self.in_use = in_use or {}
        sources = list(self.in_use)
        self.mapping_rows: list[tuple[DraftCriterion, str, list[tuple[Decimal, str]]]] = []
        for criterion in self.criteria:
            name = f"from-{criterion.pk}"
            self.fields[name] = forms.ChoiceField(
                label=f"Old criterion for {criterion.name}",
                choices=[Choice(s, s) for s in sources]
                + [Choice("", "None: count the middle level")],
                required=False,
                error_messages={
                    "invalid_choice": f"Choose which old criterion {criterion.name} takes its "
                    "level from, or none"
                },
            )
            source = data.get(name, "")
            rows = []
            for n, value in enumerate(self.in_use.get(source, [])):
                field_name = map_field(criterion, sources.index(source), n)
                levels = ", ".join(plain_number(v) for v in criterion.levels)
                self.fields[field_name] = forms.ChoiceField(
                    label=f"{source} {plain_number(value)} becomes",
                    choices=[Choice(plain_number(v), plain_number(v)) for v in criterion.levels]
                    + [Choice(MIDDLE, "Not mapped: the middle level")],
                    required=False,
                    # Shown in the mapping table, not through crispy-forms.
                    widget=forms.Select(attrs={"class": "govuk-select"}),
                    error_messages={
                        "invalid_choice": f"Map {source} {plain_number(value)} to a level "
                        f"{criterion.name} has in the draft ({levels}), or leave it "
                        "not mapped"
                    },
                )
                rows.append((value, field_name))
            self.mapping_rows.append((criterion, name, rows))

    @classmethod
    def completed(
        cls,
        data: Data[str, Any],
        bands: Bands,
        criteria: list[DraftCriterion],
        in_use: dict[str, list[Decimal]],
    ) -> dict[str, Any]:
        """`data` with what it leaves out taken as agreed: the agreed
        thresholds, each draft criterion from the old one of the same name,
        and each old level to the draft level of the same value where the
        draft has it (else not mapped). A first visit leaves out everything."""
        completed = {
            "green_from": plain_number(bands.green_from),
            "amber_above": plain_number(bands.amber_above),
            "red_from": plain_number(bands.red_from),
        }
        completed.update({key: data.get(key) for key in data})
        sources = list(in_use)
        for criterion in criteria:
            source_key = f"from-{criterion.pk}"
            if source_key not in completed:
                completed[source_key] = criterion.name if criterion.name in in_use else ""
            source = completed[source_key]
            for n, value in enumerate(in_use.get(source, [])):
                key = map_field(criterion, sources.index(source), n)
                if key not in completed:
                    completed[key] = plain_number(value) if value in criterion.levels else MIDDLE
        return completed

    @property
    def rows(self) -> list[tuple[DraftCriterion, forms.BoundField, list]]:
        """The mapping table: each draft criterion, its source field and its
        rows (an old level's value and its field)."""
        return [
            (criterion, self[name], [(value, self[field]) for value, field in rows])
            for criterion, name, rows in self.mapping_rows
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        green, amber, red = (data.get(n) for n in ("green_from", "amber_above", "red_from"))
        if None not in (green, amber, red) and not green <= amber < red:
            self.add_error(
                "green_from", "The bands must rise: green from, then amber above, then red from"
            )
        return data

    def bands(self) -> Bands:
        data = self.cleaned_data
        return Bands(data["green_from"], data["amber_above"], data["red_from"])

    def mapping(self) -> Mapping:
        source = {}
        levels: dict[int, dict[Decimal, Decimal]] = {}
        for criterion, name, rows in self.mapping_rows:
            source[criterion.pk] = self.cleaned_data[name] or None
            levels[criterion.pk] = {
                value: Decimal(self.cleaned_data[field])
                for value, field in rows
                if self.cleaned_data[field] not in ("", MIDDLE)
            }
        return Mapping(source, levels)
