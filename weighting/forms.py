"""Forms for rating cases and editing a draft weighting scheme."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from crispy_forms_gds.choices import Choice
from django import forms
from django.utils import timezone

from caseload.dates import long_date
from caseload.fields import date_field, is_blank
from caseload.formatting import plain_number
from caseload.models import Case
from weighting.models import CasePause, Criterion, PauseReason, Scheme
from weighting.services import CriterionSpec

MAX_LINE_ERRORS = 5  # a form repeats no more of a long paste's problems
LEVEL_LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[=:–-]\s*(.+?)\s*$")


def level_field(criterion: Criterion, *, descriptors: bool = True) -> forms.ChoiceField:
    """Radios for one criterion: each level's number, with its descriptor as a
    hint (or, in a compact form, the number alone)."""
    label = criterion.name + (
        f": {criterion.description}" if criterion.description and descriptors else ""
    )
    return forms.ChoiceField(
        label=label,
        choices=[
            Choice(
                plain_number(level.value),
                plain_number(level.value),
                **({"hint": level.descriptor} if descriptors else {}),
            )
            for level in criterion.levels.all()
        ],
        widget=forms.RadioSelect,
        error_messages={"required": f"Choose a level of {criterion.name.lower()}"},
    )


class RatingForm(forms.Form):
    """A rating of a case on each criterion of its scheme, with an optional
    anticipated rating for the next supervision."""

    def __init__(self, *args, case: Case, criteria: list[Criterion], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.criteria = criteria
        for criterion in criteria:
            self.fields[self.level_field(criterion)] = level_field(criterion)
        self.fields["rated_on"] = date_field("Date of the rating")
        self.fields["rated_on"].initial = timezone.localdate()
        for criterion in criteria:
            self.fields[self.anticipated_field(criterion)] = forms.ChoiceField(
                label=f"Anticipated {criterion.name.lower()}",
                choices=[
                    Choice(plain_number(level.value), plain_number(level.value))
                    for level in criterion.levels.all()
                ],
                widget=forms.RadioSelect,
                required=False,
            )
            self.fields[self.change_field(criterion)] = forms.CharField(
                label=f"Anticipated change in {criterion.name.lower()} (optional)",
                help_text="What the worker's interventions are expected to change. No case notes.",
                max_length=300,
                required=False,
            )
        self.fields["anticipated_by"] = date_field(
            "Anticipated date", required=False, help_text="Usually the next supervision."
        )
        self.in_hours = bool(criteria) and criteria[0].scheme.in_hours
        if self.in_hours:
            # An hours scheme takes a case's hours directly, in place of levels.
            self.fields["hours"] = forms.DecimalField(
                label="Or the hours a month this case needs",
                help_text="In place of the levels above, when the case needs a number of "
                "hours they do not give.",
                required=False,
                min_value=Decimal("0.5"),
                max_digits=5,
                decimal_places=1,
                widget=forms.TextInput(
                    attrs={"class": "govuk-input--width-4", "inputmode": "decimal"}
                ),
                error_messages={
                    "invalid": "Enter the hours a month as a number, like 25",
                    "min_value": "The hours a month must be more than 0",
                },
            )
            for criterion in criteria:
                self.fields[self.level_field(criterion)].required = False

    @staticmethod
    def level_field(criterion: Criterion) -> str:
        return f"level_{criterion.pk}"

    @staticmethod
    def anticipated_field(criterion: Criterion) -> str:
        return f"anticipated_{criterion.pk}"

    @staticmethod
    def change_field(criterion: Criterion) -> str:
        return f"change_{criterion.pk}"

    def rating_fields(self) -> list[forms.BoundField]:
        return [self[self.level_field(c)] for c in self.criteria]

    def anticipation_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [
            (self[self.anticipated_field(c)], self[self.change_field(c)]) for c in self.criteria
        ]

    def clean_rated_on(self) -> datetime.date:
        rated_on = self.cleaned_data["rated_on"]
        if rated_on > timezone.localdate():
            raise forms.ValidationError("The date of the rating must be today or in the past")
        if rated_on < self.case.opened_on:
            raise forms.ValidationError("The date of the rating must be after the case opened")
        return rated_on

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.in_hours and cleaned.get("hours") is None and not self.has_error("hours"):
            for criterion in self.criteria:
                if not cleaned.get(self.level_field(criterion)):
                    self.add_error(
                        self.level_field(criterion),
                        f"Choose a level of {criterion.name.lower()}, or give the hours a month",
                    )
        anticipated = {c.pk: cleaned.get(self.anticipated_field(c)) for c in self.criteria}
        given = [value for value in anticipated.values() if value]
        anticipated_by = cleaned.get("anticipated_by")
        if given or anticipated_by:
            for criterion in self.criteria:
                if not anticipated[criterion.pk]:
                    self.add_error(
                        self.anticipated_field(criterion),
                        f"Choose the anticipated level of {criterion.name.lower()}, "
                        "or leave the whole anticipated rating empty",
                    )
            if anticipated_by is None:
                self.add_error("anticipated_by", "Enter the date the anticipated rating is due")
            elif cleaned.get("rated_on") and anticipated_by <= cleaned["rated_on"]:
                self.add_error("anticipated_by", "The anticipated date must be after the rating")
        return cleaned

    def levels(self) -> dict[int, Decimal]:
        """The levels chosen: none when the hours are given directly."""
        if self.hours() is not None:
            return {}
        return {c.pk: Decimal(self.cleaned_data[self.level_field(c)]) for c in self.criteria}

    def hours(self) -> Decimal | None:
        return self.cleaned_data.get("hours") if self.in_hours else None

    def anticipated_levels(self) -> dict[int, Decimal]:
        return {
            c.pk: Decimal(self.cleaned_data[self.anticipated_field(c)])
            for c in self.criteria
            if self.cleaned_data.get(self.anticipated_field(c))
        }

    def anticipated_changes(self) -> dict[int, str]:
        return {c.pk: self.cleaned_data.get(self.change_field(c), "") for c in self.criteria}


class SchemeForm(forms.ModelForm):
    class Meta:
        model = Scheme
        fields = ["name", "unit", "benchmark", "non_case_hours"]
        labels = {
            "name": "Name of the scheme",
            "unit": "What the weights measure",
            "benchmark": "Benchmark",
            "non_case_hours": "Weekly allowance for non-case time (hours)",
        }
        help_texts = {
            "benchmark": "Weighted points agreed for one full-time practitioner (100 by "
            "default). Points schemes only.",
            "non_case_hours": "Hours a week of each person's time agreed for work other "
            "than cases, such as duty and meetings. Hours schemes only; a person's own "
            "allowance can replace it on their plans page.",
        }
        widgets = {"unit": forms.RadioSelect}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["benchmark"].widget.attrs["class"] = "govuk-input--width-5"
        self.fields["benchmark"].error_messages["required"] = "Enter the benchmark"
        self.fields["name"].error_messages["required"] = "Enter the name of the scheme"
        hours = self.fields["non_case_hours"]
        hours.widget.attrs["class"] = "govuk-input--width-4"
        hours.required = False
        hours.error_messages["invalid"] = "Enter the weekly allowance as a number of hours, like 7"
        # Left unchosen, a draft keeps the unit it has.
        self.fields["unit"].required = False
        self.fields["unit"].choices = [
            Choice(
                Scheme.Unit.POINTS,
                "Weighted points",
                hint="Each level is points; capacity is the benchmark × FTE.",
            ),
            Choice(
                Scheme.Unit.HOURS,
                "Hours a month",
                hint="Each level is the hours a month a case needs; capacity is each "
                "person's hours a month for cases.",
            ),
        ]

    def clean_unit(self) -> str:
        return self.cleaned_data["unit"] or self.instance.unit

    def clean_non_case_hours(self) -> Decimal:
        hours = self.cleaned_data["non_case_hours"]
        if hours is None:
            return Decimal(0)
        if hours < 0:
            raise forms.ValidationError("The weekly allowance cannot be below 0 hours")
        return hours

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if is_blank(name):
            raise forms.ValidationError("Enter the name of the scheme")
        return name


class CriterionForm(forms.Form):
    name = forms.CharField(
        label="Criterion",
        max_length=60,
        required=False,
        error_messages={"max_length": "The criterion's name must be 60 characters or fewer"},
    )
    description = forms.CharField(
        label="What it measures (optional)", max_length=200, required=False
    )
    levels = forms.CharField(
        label="Levels",
        required=False,
        max_length=2000,
        error_messages={"max_length": "Write the levels in 2,000 characters or fewer"},
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One level a line: its number, then = and what it means, like "
        "“2 = Risk assessment in progress”. Numbers may be whole or decimal (0.5).",
    )
    remove = forms.BooleanField(label="Remove this criterion", required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in ("name", "description"):
            if is_blank(cleaned.get(name)):
                cleaned[name] = ""
        if cleaned.get("remove") or not (cleaned.get("name") or cleaned.get("levels")):
            return cleaned
        if not cleaned.get("name"):
            self.add_error("name", "Enter the criterion's name")
        levels = []
        for number, line in enumerate((cleaned.get("levels") or "").splitlines(), start=1):
            if is_blank(line):
                continue
            if len(self.errors.get("levels", [])) >= MAX_LINE_ERRORS:
                break  # enough to put the rest right
            match = LEVEL_LINE.match(line)
            if not match:
                self.add_error(
                    "levels",
                    f"Line {number}: start with the level's number, then = and what it means",
                )
                continue
            try:
                value = Decimal(match.group(1))
            except InvalidOperation:
                self.add_error("levels", f"Line {number}: {match.group(1)} is not a number")
                continue
            if is_blank(match.group(2)):
                self.add_error(
                    "levels", f"Line {number}: after the = write what level {match.group(1)} means"
                )
                continue
            levels.append((value, match.group(2)))
        if len(levels) < 2 and not self.has_error("levels"):
            self.add_error("levels", "Give at least two levels, one a line")
        values = [value for value, _ in levels]
        if len(set(values)) != len(values):
            self.add_error("levels", "Give each level a different number")
        cleaned["parsed_levels"] = levels
        return cleaned

    def spec(self) -> CriterionSpec | None:
        data = self.cleaned_data
        if data.get("remove") or not data.get("name"):
            return None
        return CriterionSpec(data["name"], data.get("description", ""), data["parsed_levels"])

    @staticmethod
    def initial_for(spec: CriterionSpec) -> dict:
        return {
            "name": spec.name,
            "description": spec.description,
            "levels": "\n".join(f"{plain_number(value)} = {text}" for value, text in spec.levels),
        }


CriterionFormSet = forms.formset_factory(CriterionForm, extra=1, max_num=12)


class AgreeSchemeForm(forms.Form):
    agreed_on = date_field("Date agreed", help_text="For example, 3 11 2026")

    def clean_agreed_on(self) -> datetime.date:
        agreed_on = self.cleaned_data["agreed_on"]
        if agreed_on > timezone.localdate():
            raise forms.ValidationError("The date agreed must be today or in the past")
        return agreed_on


class PauseForm(forms.Form):
    """Pausing a case for a reason on its service's list."""

    reason = forms.TypedChoiceField(
        label="Why is the case paused?",
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the reason the case is paused",
            "invalid_choice": "Choose one of the reasons listed",
        },
    )
    start_date = date_field(
        "Date the pause starts", help_text="Today or earlier. For example, 27 3 2026"
    )

    def __init__(self, *args, reasons: list[PauseReason], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reasons = {reason.pk: reason for reason in reasons}
        self.fields["reason"].choices = [
            Choice(reason.pk, reason.name, hint=reason.summary) for reason in reasons
        ]
        self.fields["start_date"].initial = timezone.localdate()

    def clean_start_date(self) -> datetime.date:
        day = self.cleaned_data["start_date"]
        if day > timezone.localdate():
            raise forms.ValidationError("Date the pause starts must be today or in the past")
        return day


class UnpauseForm(forms.Form):
    """Ending a case's pause: from that day it counts in full again."""

    end_date = date_field(
        "Date it counts in full again",
        help_text="The first day the pause no longer applies: today or earlier.",
    )

    def __init__(self, *args, pause: CasePause, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pause = pause
        self.fields["end_date"].initial = timezone.localdate()

    def clean_end_date(self) -> datetime.date:
        day = self.cleaned_data["end_date"]
        if day > timezone.localdate():
            raise forms.ValidationError("Date it counts in full again must be today or in the past")
        if day < self.pause.start_date:
            raise forms.ValidationError(
                "Date it counts in full again must be on or after the day the pause started, "
                f"{long_date(self.pause.start_date)}"
            )
        return day
