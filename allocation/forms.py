"""Forms of the allocation journey: allocate, transfer, move, close, involve,
set a case's priority and who can see it, and review an over-maximum
allocation."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from crispy_forms_gds.choices import Choice
from django import forms
from django.utils import timezone

from allocation.services import OverMaximumPlan
from caseload.dates import add_months, long_date
from caseload.fields import date_field, number_field
from caseload.formatting import plain_number
from caseload.models import Case, OverMaximumReview, Person, Team
from caseload.services import fte_change, membership_plan_end
from weighting.forms import level_field
from weighting.models import Criterion, ReductionReason
from weighting.projection import Projection
from weighting.reasons import ends_by_rule_text
from weighting.services import experience_factor_set, non_case_allowance_set, reduction_create


@dataclass(frozen=True)
class Candidate:
    """A worker who could take the case, with their numbers before and after."""

    person: Person
    projection: Projection

    @property
    def over_maximum(self) -> bool:
        return self.projection.goes_over_maximum

    @property
    def label(self) -> str:
        before, after = self.projection.before, self.projection.after
        if not before.has_capacity:
            return f"{self.person.full_name} — no capacity"
        return (
            f"{self.person.full_name} — {before.percent_display} now, {after.percent_display} after"
        )

    @property
    def hint(self) -> str:
        """After the band tag: what the manager weighs besides the percentages."""
        before, after = self.projection.before, self.projection.after
        term = self.person.service.people_term if self.person.service else "people"
        parts = ["after this case" if after.has_capacity else "no capacity for cases"]
        if self.person.role == Person.Role.ASYE:
            parts.append("ASYE")
        if before.fte < 1:
            parts.append(f"{before.fte} FTE")
        parts.append(f"{before.case_count} cases and {before.people_count} {term} now")
        text = " · ".join(parts)
        if self.over_maximum:
            text += ". Over the maximum: give a reason and a review date below."
        return text


def candidates_by_headroom(
    people: list[Person], projections: dict[int, Projection]
) -> list[Candidate]:
    """Most capacity left first; people with no capacity last."""
    candidates = [Candidate(person, projections[person.pk]) for person in people]
    return sorted(
        candidates,
        key=lambda c: (
            not c.projection.before.has_capacity,
            -c.projection.before.headroom,
            c.person.full_name,
        ),
    )


def middle_level(criterion: Criterion) -> Decimal:
    """The middle of a criterion's scale (its levels read already)."""
    values = [level.value for level in criterion.levels.all()]
    return (min(values) + max(values)) / 2


def posted_weight(data, criteria: list[Criterion]) -> Decimal | None:
    """The total of the provisional levels posted so far, if every one is given."""
    if not data or not criteria:
        return None
    try:
        levels = [Decimal(data[f"level_{c.pk}"]) for c in criteria]
    except (KeyError, InvalidOperation, TypeError):
        return None
    # A level is a small number of the scheme's; anything else is no level yet.
    if not all(level.is_finite() and 0 <= level < 1000 for level in levels):
        return None
    return sum(levels, Decimal(0))


def add_over_maximum_fields(form: forms.Form) -> None:
    """The record an over-maximum allocation needs (responsibilities 2 and 3).

    Shown once, below the candidates, rather than revealed under each radio:
    GOV.UK's conditional reveal puts aria-expanded on radio buttons, which ARIA
    does not allow (govuk-frontend issue 979)."""
    form.fields["over_reason"] = forms.CharField(
        label="Why allocate this case despite the maximum",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    form.fields["over_plan"] = forms.CharField(
        label="How the rest of their work will be reprioritised",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    form.fields["over_review_by"] = date_field(
        "Review date",
        required=False,
        help_text="No more than three months ahead. It is listed at their next supervision.",
    )


def over_maximum_plan(form: forms.Form, start: datetime.date) -> OverMaximumPlan | None:
    """The plan from the form's over-maximum fields, or None with field errors added."""
    data = form.cleaned_data
    complete = True
    if not data.get("over_reason", "").strip():
        form.add_error("over_reason", "Give the reason for allocating over the maximum")
        complete = False
    if not data.get("over_plan", "").strip():
        form.add_error("over_plan", "Say how the rest of their work will be reprioritised")
        complete = False
    review_by = data.get("over_review_by")
    latest = add_months(start, 3)
    if review_by is None:
        if not form.has_error("over_review_by"):
            form.add_error("over_review_by", "Enter the date the allocation will be reviewed by")
        complete = False
    elif review_by <= start:
        form.add_error("over_review_by", "The review date must be in the future")
        complete = False
    elif review_by > latest:
        form.add_error(
            "over_review_by",
            f"The review date must be within three months: by {long_date(latest)}",
        )
        complete = False
    if not complete:
        return None
    return OverMaximumPlan(data["over_reason"], data["over_plan"], review_by)


class AllocateForm(forms.Form):
    reason = forms.CharField(
        label="Note on the allocation (optional)",
        max_length=300,
        required=False,
        help_text="For example, why this worker. No case notes.",
    )

    def __init__(
        self,
        *args,
        candidates: list[Candidate],
        criteria: list[Criterion],
        students: list[Person],
        worker_label: str = "Who should take this case?",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {str(c.person.pk): c for c in candidates}
        self.criteria = criteria
        for criterion in criteria:
            levels = level_field(criterion)
            # Each level starts at the middle of its scale, the weight an
            # unrated case counts for: the manager changes what does not fit.
            levels.initial = plain_number(middle_level(criterion))
            self.fields[f"level_{criterion.pk}"] = levels
        self.fields["worker"] = forms.ChoiceField(
            label=worker_label,
            choices=[Choice(str(c.person.pk), c.label, hint=c.hint) for c in candidates],
            widget=forms.RadioSelect,
            error_messages={"required": "Choose who should take this case"},
        )
        self.over_maximum_names = [c.person.full_name for c in candidates if c.over_maximum]
        if self.over_maximum_names:
            add_over_maximum_fields(self)
        if students:
            self.fields["student"] = forms.ChoiceField(
                label="Also involve a student (optional)",
                help_text="A student is only ever involved; their supervisor holds the case.",
                choices=[("", "No student"), *[(str(s.pk), s.full_name) for s in students]],
                required=False,
            )
        self.students = {str(s.pk): s for s in students}
        self.over_maximum_plan: OverMaximumPlan | None = None

    def level_fields(self) -> list[forms.BoundField]:
        return [self[f"level_{c.pk}"] for c in self.criteria]

    def level_middles(self) -> str:
        """Each level field's name and the middle of its scale, for the
        script that recomputes the "after" percentages as levels change."""
        return " ".join(f"level_{c.pk}={middle_level(c)}" for c in self.criteria)

    def worker_choices(self) -> list[tuple[str, Candidate]]:
        return list(self.candidates.items())

    def clean(self) -> dict:
        cleaned = super().clean()
        candidate = self.candidates.get(cleaned.get("worker", ""))
        if candidate is None:
            return cleaned
        cleaned["candidate"] = candidate
        if candidate.over_maximum:
            self.over_maximum_plan = over_maximum_plan(self, timezone.localdate())
        student = self.students.get(cleaned.get("student") or "")
        if student is not None and student.supervisor_id != candidate.person.pk:
            supervisor = student.supervisor.full_name if student.supervisor else "nobody"
            self.add_error(
                "student",
                f"{student.full_name} is supervised by {supervisor}: a student can be involved "
                "only in their supervisor's cases",
            )
        cleaned["student_person"] = student
        return cleaned

    def levels(self) -> dict[int, Decimal]:
        return {c.pk: Decimal(self.cleaned_data[f"level_{c.pk}"]) for c in self.criteria}


class TransferForm(AllocateForm):
    """Move the case to another worker in the team, with the reason."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, worker_label="Who should take the case over?", **kwargs)
        self.fields["reason"] = forms.CharField(
            label="Reason for the transfer",
            max_length=300,
            error_messages={"required": "Give the reason for the transfer"},
        )


class MoveTeamForm(forms.Form):
    team = forms.ModelChoiceField(
        label="Which team should the case move to?",
        queryset=Team.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the team"},
    )
    reason = forms.CharField(
        label="Reason for the move",
        max_length=300,
        error_messages={"required": "Give the reason for the move"},
    )

    def __init__(self, *args, case: Case, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = Team.objects.filter(service_id=case.service_id).exclude(
            pk=case.team_id
        )


class CloseCaseForm(forms.Form):
    closed_on = date_field("Date closed")

    def __init__(self, *args, case: Case, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["closed_on"].initial = timezone.localdate()

    def clean_closed_on(self) -> datetime.date:
        closed_on = self.cleaned_data["closed_on"]
        if closed_on > timezone.localdate():
            raise forms.ValidationError("The date closed must be today or in the past")
        if closed_on < self.case.opened_on:
            opened = long_date(self.case.opened_on)
            raise forms.ValidationError(
                f"The date closed must be on or after the day the case opened, {opened}"
            )
        return closed_on


def share_field(
    label: str, help_text: str, *, what: str, required: str, example: str
) -> forms.DecimalField:
    """A share of a whole, above 0 and at most 1 (an FTE, an ASYE's share)."""
    return number_field(
        label,
        least=Decimal("0.01"),
        most=Decimal("1"),
        digits=3,
        what=what,
        example=example,
        required=required,
        help_text=help_text,
    )


class VacancyForm(forms.Form):
    fte = share_field(
        "FTE",
        "For example 1 for a full-time post, 0.5 for half.",
        what="the FTE",
        required="Enter the FTE of the post",
        example="1 or 0.5",
    )
    start_date = date_field("Date the vacancy starts")
    end_date = date_field(
        "Date it is filled (optional)",
        required=False,
        help_text="The first day the post is no longer vacant, if you know it.",
    )
    note = forms.CharField(
        label="Note (optional)",
        help_text="For example, the post and where recruitment is. No names.",
        max_length=200,
        required=False,
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "Date it is filled must be after the date it starts")
        return cleaned


class LeavingForm(forms.Form):
    """The day someone leaves the team (the first day they are not in it)."""

    end_date = date_field("Leaving date", help_text="The first day they are no longer in the team.")

    def save(self, person: Person, team: Team, by: Person | None) -> str:
        membership_plan_end(person=person, team=team, end_date=self.cleaned_data["end_date"])
        return f"{person} leaves {team} on {long_date(self.cleaned_data['end_date'])}."


class FteChangeForm(forms.Form):
    """A change of someone's contracted FTE from a date: past, today or ahead."""

    fte = share_field(
        "FTE",
        "For example 1 for full time, 0.6 for three days a week.",
        what="the FTE",
        required="Enter the FTE",
        example="1 or 0.6",
    )
    start_date = date_field(
        "Date the FTE applies from",
        help_text="A later date changes no figure of today: the forecast reads it from then.",
    )

    def save(self, person: Person, team: Team, by: Person | None) -> str:
        data = self.cleaned_data
        fte_change(person=person, fte=data["fte"], start_date=data["start_date"], recorded_by=by)
        return f"{person}'s FTE is {data['fte']} from {long_date(data['start_date'])}."


class FactorStepForm(forms.Form):
    """An ASYE's next step in their share of a full caseload."""

    factor = share_field(
        "Share of a full caseload",
        "For example 0.9 for 90%.",
        what="the share",
        required="Enter the share of a full caseload",
        example="0.9",
    )
    start_date = date_field("Date the share applies from")
    reason = forms.CharField(label="Reason (optional)", max_length=200, required=False)

    def save(self, person: Person, team: Team, by: Person | None) -> str:
        data = self.cleaned_data
        experience_factor_set(
            person=person,
            factor=data["factor"],
            start_date=data["start_date"],
            reason=data["reason"] or "Planned step",
            by=by,
        )
        return f"{person}'s share is {data['factor']} from {long_date(data['start_date'])}."


class ProtectedTimeForm(forms.Form):
    """Protected time that lowers someone's capacity for a period, for a
    reason on their service's list."""

    reason = forms.TypedChoiceField(
        label="Reason",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the reason for the protected time",
            "invalid_choice": "Choose one of the reasons listed",
        },
    )
    hours_per_week = number_field(
        "Hours a week",
        least=Decimal("0.1"),
        most=Decimal("37"),
        digits=4,
        what="the hours a week",
        subject="Hours a week",
        help_text=(
            "Give hours a week or a percentage of their hours, not both. Leave both blank "
            "to take the reason's size, where it has one."
        ),
    )
    percentage = number_field(
        "Or a percentage of their hours",
        least=Decimal("0.1"),
        most=Decimal("100"),
        digits=5,
        what="the percentage",
    )
    start_date = date_field("Date it starts")
    end_date = date_field(
        "Date it ends (optional)",
        required=False,
        help_text="Left blank, time for a reason with a longest length ends when that is up.",
    )

    def __init__(self, *args, reasons: list[ReductionReason], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reasons = {reason.pk: reason for reason in reasons}
        self.fields["reason"].choices = [
            Choice(reason.pk, reason.name, hint=reason.summary) for reason in reasons
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        hours, percentage = cleaned.get("hours_per_week"), cleaned.get("percentage")
        reason = self.reasons.get(cleaned.get("reason"))  # type: ignore[arg-type]
        has_default = reason is not None and (
            reason.default_hours_per_week is not None or reason.default_percentage is not None
        )
        if (
            hours is None
            and percentage is None
            and not has_default
            and not self.has_error("hours_per_week")
            and not self.has_error("percentage")
        ):
            self.add_error("hours_per_week", "Enter the hours a week or a percentage")
        elif hours is not None and percentage is not None:
            self.add_error("percentage", "Give hours a week or a percentage, not both")
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "Date it ends must be after the date it starts")
        return cleaned

    def save(self, person: Person, team: Team, by: Person | None) -> str:
        data = self.cleaned_data
        reason = self.reasons[data["reason"]]
        reduction = reduction_create(
            person=person,
            reason=reason,
            start_date=data["start_date"],
            end_date=data["end_date"],
            hours_per_week=data["hours_per_week"],
            percentage=data["percentage"],
            by=by,
        )
        said = f"Protected time recorded for {person} from {long_date(data['start_date'])}."
        if data["end_date"] is None and reduction.end_date is not None:
            said += " " + ends_by_rule_text(reason, reduction.end_date)
        return said


class NonCaseTimeForm(forms.Form):
    """Someone's own weekly allowance for non-case time, in place of their
    team's (it counts where the team's scheme measures hours a month)."""

    hours_per_week = forms.DecimalField(
        label="Hours a week for non-case time",
        help_text="For example 3 for someone with fewer duty shifts than the team agreed.",
        min_value=Decimal("0"),
        max_value=Decimal("37"),
        max_digits=4,
        decimal_places=2,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-4", "inputmode": "decimal"}),
        error_messages={
            "required": "Enter the hours a week for non-case time",
            "invalid": "Enter the hours a week as a number, like 3",
            "min_value": "The hours a week cannot be below 0",
            "max_value": "The hours a week must be 37 or less",
        },
    )
    start_date = date_field("Date it applies from")
    reason = forms.CharField(label="Reason (optional)", max_length=200, required=False)

    def save(self, person: Person, team: Team, by: Person | None) -> str:
        data = self.cleaned_data
        non_case_allowance_set(
            person=person,
            hours_per_week=data["hours_per_week"],
            start_date=data["start_date"],
            reason=data["reason"],
            by=by,
        )
        hours = plain_number(data["hours_per_week"])
        return (
            f"{person}'s allowance for non-case time is {hours} hours a week from "
            f"{long_date(data['start_date'])}."
        )


class PlanClosingForm(forms.Form):
    planned_close_on = date_field(
        "Planned closing date",
        help_text="Forecasts drop the case from this day; it stays open until you close it.",
    )

    def __init__(self, *args, case: Case, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["planned_close_on"].initial = case.planned_close_on

    def clean_planned_close_on(self) -> datetime.date:
        day = self.cleaned_data["planned_close_on"]
        if day <= timezone.localdate():
            raise forms.ValidationError("Planned closing date must be in the future")
        return day


class InvolveForm(forms.Form):
    person = forms.ChoiceField(
        label="Who is involved?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who is involved"},
    )

    def __init__(self, *args, people: list[Person], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.people = {str(p.pk): p for p in people}
        self.fields["person"].choices = [
            Choice(str(p.pk), p.full_name, hint=p.get_role_display()) for p in people
        ]


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        label="Priority",
        coerce=int,
        choices=[Choice(value, label) for value, label in Case.Priority.choices],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the priority"},
    )


class RestrictionForm(forms.Form):
    restricted = forms.TypedChoiceField(
        label="Who can see this case?",
        coerce=lambda value: value == "yes",
        choices=[
            Choice(
                "no",
                "Everyone who works with it",
                hint="Its team's managers, the workers allocated to it and their supervisors, "
                "and administrators.",
            ),
            Choice(
                "yes",
                "Only the people who must",
                hint="Its team's managers, the workers allocated to it and their supervisors, "
                "and the people you name. Everyone else, administrators and DMT included, "
                "sees only that a restricted case is there.",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose who can see this case"},
    )


class NamePersonForm(forms.Form):
    person = forms.ChoiceField(
        label="Name someone else who can see it",
        error_messages={
            "required": "Choose who to name",
            "invalid_choice": "Choose someone from the list",
        },
    )

    def __init__(self, *args, people: list[Person], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.people = {str(p.pk): p for p in people}
        self.fields["person"].choices = [("", "Choose someone")] + [
            (str(p.pk), f"{p.full_name} – {p.get_role_display()}") for p in people
        ]


class OverMaximumReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What was decided?",
        choices=[
            Choice(
                OverMaximumReview.Outcome.EXTENDED,
                "Extend it",
                hint="The worker stays over the maximum for now; set the next review date.",
            ),
            Choice(
                OverMaximumReview.Outcome.RESOLVED,
                "Record it resolved",
                hint="The worker is back within capacity, or the case has moved on.",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether to extend or resolve"},
    )
    note = forms.CharField(
        label="What was reviewed and why",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what was reviewed and why"},
    )
    new_review_by = date_field(
        "Next review date", required=False, help_text="Only when extending: within three months."
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("outcome") == OverMaximumReview.Outcome.EXTENDED:
            new_review_by = cleaned.get("new_review_by")
            today = timezone.localdate()
            if new_review_by is None:
                if not self.has_error("new_review_by"):
                    self.add_error("new_review_by", "Enter the next review date")
            elif new_review_by <= today:
                self.add_error("new_review_by", "The next review date must be in the future")
            elif new_review_by > add_months(today, 3):
                latest = long_date(add_months(today, 3))
                self.add_error(
                    "new_review_by", f"The next review must be within three months: by {latest}"
                )
        return cleaned
