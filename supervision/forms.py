"""Forms of supervision: the worker's preparation and the record itself."""

from __future__ import annotations

import datetime
from decimal import Decimal

from crispy_forms_gds.choices import Choice
from django import forms
from django.utils import timezone

from caseload.fields import date_field
from caseload.formatting import plain_number
from caseload.models import Person
from caseload.services import RuleBroken
from supervision.models import SupervisionCaseItem, SupervisionRecord, WorkloadView
from supervision.services import (
    ItemChange,
    RecordChange,
    record_save_draft,
    record_sign_supervisor,
    signing_problems,
)
from weighting.forms import level_field
from weighting.models import Criterion


class WorkloadViewForm(forms.Form):
    scale = forms.TypedChoiceField(
        label="How manageable is your workload at the moment?",
        coerce=int,
        choices=[Choice(value, label) for value, label in WorkloadView.Scale.choices],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how manageable your workload is"},
    )
    comment = forms.CharField(
        label="Anything you want your supervisor to know (optional)",
        help_text="For example, what makes it hard, or what would help. Only you and your "
        "supervisor see this.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
        required=False,
    )


class ProposalForm(forms.Form):
    why = forms.CharField(
        label="Why should the rating change? (optional)",
        help_text="A sentence is enough. No case notes.",
        max_length=300,
        required=False,
    )

    def __init__(self, *args, criteria: list[Criterion], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = criteria
        for criterion in criteria:
            self.fields[f"level_{criterion.pk}"] = level_field(criterion)
        self.order_fields([*(f"level_{c.pk}" for c in criteria), "why"])

    def level_fields(self) -> list[forms.BoundField]:
        return [self[f"level_{c.pk}"] for c in self.criteria]

    def levels(self) -> dict[int, Decimal]:
        return {c.pk: Decimal(self.cleaned_data[f"level_{c.pk}"]) for c in self.criteria}


class ConcernForm(forms.Form):
    concern = forms.CharField(
        label="What is wrong with your workload?",
        help_text="Your supervisor and team manager are told straight away and must respond "
        "within five working days. Do not include case notes.",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=2000,
        error_messages={"required": "Say what is wrong with your workload"},
    )


class ConcernResponseForm(forms.Form):
    response = forms.CharField(
        label="Your response",
        help_text="What you will do, or have done, about it. The worker sees this.",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        error_messages={"required": "Write your response"},
    )


class OpenRecordForm(forms.Form):
    held_on = date_field("Date of the supervision")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["held_on"].initial = timezone.localdate()

    def clean_held_on(self) -> datetime.date:
        held_on = self.cleaned_data["held_on"]
        today = timezone.localdate()
        if abs((held_on - today).days) > 366:
            raise forms.ValidationError("Enter a date within a year of today")
        return held_on


def _plain(value: str | None) -> str | None:
    """A stored level ("3.00" or "3") as the form's choices spell it ("3")."""
    return plain_number(Decimal(value)) if value else None


YES_NO = [Choice("yes", "Yes"), Choice("no", "No")]


class RecordForm(forms.Form):
    """The supervisor's record. Everything is optional while it is a draft;
    what a signature needs is checked when the supervisor signs."""

    caseload_discussion = forms.CharField(
        label="Discussion of the relative complexity of the cases and the impact on capacity",
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )
    deviation_agreed = forms.ChoiceField(
        label="Is a deviation from the average caseload agreed?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
    )
    deviation_reason = forms.CharField(
        label="Reason for the deviation (if agreed)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    time_for_direct_work = forms.CharField(
        label="Time available to work directly with children and families",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    other_demands = forms.CharField(
        label="Issues meeting other demands",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    asye_factor = forms.DecimalField(
        label="Share of a full caseload agreed for this ASYE (optional)",
        help_text="For example 0.85 for 85%. Leave empty if it does not change.",
        min_value=Decimal("0.01"),
        max_value=Decimal("1"),
        max_digits=3,
        decimal_places=2,
        required=False,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-4", "inputmode": "decimal"}),
    )
    actions = forms.CharField(
        label="Actions", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    next_supervision = date_field("Date of the next supervision", required=False)

    def __init__(
        self,
        *args,
        record: SupervisionRecord,
        items: list[SupervisionCaseItem],
        criteria_by_case: dict[int, list[Criterion]],
        signing: bool = False,
        **kwargs,
    ) -> None:
        initial = {
            "caseload_discussion": record.caseload_discussion,
            "deviation_agreed": {True: "yes", False: "no"}.get(record.deviation_agreed, ""),
            "deviation_reason": record.deviation_reason,
            "time_for_direct_work": record.time_for_direct_work,
            "other_demands": record.other_demands,
            "asye_factor": record.asye_factor,
            "actions": record.actions,
            "next_supervision": record.next_supervision,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.record = record
        self.signing = signing
        self.items = items
        self.criteria_by_case = criteria_by_case
        if not record.analysis_included:
            del self.fields["time_for_direct_work"]
            del self.fields["other_demands"]
        if record.worker.role != record.worker.Role.ASYE:
            del self.fields["asye_factor"]
        for item in items:
            prefix = f"item_{item.pk}"
            self.fields[f"{prefix}_agree"] = forms.BooleanField(
                label=f"Agree a rating for {item.case.reference} in this supervision",
                required=False,
                initial=item.agree,
            )
            for criterion in criteria_by_case[item.case_id]:
                key = str(criterion.pk)
                levels = level_field(criterion, descriptors=False)
                levels.required = False
                levels.initial = _plain(item.levels.get(key))
                self.fields[f"{prefix}_level_{key}"] = levels
                self.fields[f"{prefix}_ant_{key}"] = forms.ChoiceField(
                    label=f"Anticipated {criterion.name.lower()}",
                    choices=[
                        Choice(plain_number(level.value), plain_number(level.value))
                        for level in criterion.levels.all()
                    ],
                    widget=forms.RadioSelect,
                    required=False,
                    initial=_plain(item.anticipated_levels.get(key)),
                )
                self.fields[f"{prefix}_change_{key}"] = forms.CharField(
                    label=f"Anticipated change in {criterion.name.lower()} (optional)",
                    max_length=300,
                    required=False,
                    initial=item.anticipated_changes.get(key, ""),
                )
            anticipated_by = date_field("Anticipated date", required=False)
            anticipated_by.initial = item.anticipated_by
            self.fields[f"{prefix}_ant_by"] = anticipated_by

    def save(self, *, sign: bool, by: Person) -> bool:
        """Save the draft and, when `sign`, the supervisor's signature; False,
        with the reason on the form, if a rule stops either."""
        try:
            record_save_draft(record=self.record, change=self.change())
            if sign:
                record_sign_supervisor(record=self.record, by=by)
        except RuleBroken as error:
            self._add_problems(
                error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            )
            return False
        return True

    def _add_problems(self, problems: dict[str, list[str]]) -> None:
        """Each problem on its own field, unless that field is already in
        error (a date that is not a real date needs no second message)."""
        for name, messages in problems.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, messages)
            elif name not in self.fields:
                self.add_error(None, messages)

    def item_sections(self) -> list[dict]:
        """What the template shows for each case: its fields, grouped."""
        sections = []
        for item in self.items:
            prefix = f"item_{item.pk}"
            criteria = self.criteria_by_case[item.case_id]
            sections.append(
                {
                    "item": item,
                    "agree": self[f"{prefix}_agree"],
                    "levels": [self[f"{prefix}_level_{c.pk}"] for c in criteria],
                    "anticipated": [
                        (self[f"{prefix}_ant_{c.pk}"], self[f"{prefix}_change_{c.pk}"])
                        for c in criteria
                    ],
                    "anticipated_by": self[f"{prefix}_ant_by"],
                }
            )
        return sections

    def clean(self) -> dict:
        cleaned = super().clean()
        for item in self.items:
            prefix = f"item_{item.pk}"
            criteria = self.criteria_by_case[item.case_id]
            anticipated = [cleaned.get(f"{prefix}_ant_{c.pk}") for c in criteria]
            anticipated_by = cleaned.get(f"{prefix}_ant_by")
            if any(anticipated) or anticipated_by:
                if not all(anticipated):
                    self.add_error(
                        f"{prefix}_ant_{criteria[0].pk}",
                        f"{item.case.reference}: give every anticipated level, or none",
                    )
                if anticipated_by is not None and anticipated_by <= self.record.held_on:
                    self.add_error(
                        f"{prefix}_ant_by",
                        f"{item.case.reference}: the anticipated date must be after this one",
                    )
        next_supervision = cleaned.get("next_supervision")
        if next_supervision is not None and next_supervision <= self.record.held_on:
            self.add_error("next_supervision", "The next supervision must be after this one")
        if self.signing:
            # What a signature needs, in the same round as the fields' own checks.
            self._add_problems(
                signing_problems(self.record, self.change(), self.items, self.criteria_by_case)
            )
        return cleaned

    def change(self) -> RecordChange:
        """What the form holds, as the record's change (fields in error left out)."""
        data = self.cleaned_data
        items = {}
        for item in self.items:
            prefix = f"item_{item.pk}"
            criteria = self.criteria_by_case[item.case_id]
            items[item.pk] = ItemChange(
                agree=bool(data.get(f"{prefix}_agree")),
                levels={
                    str(c.pk): data[f"{prefix}_level_{c.pk}"]
                    for c in criteria
                    if data.get(f"{prefix}_level_{c.pk}")
                },
                anticipated_levels={
                    str(c.pk): data[f"{prefix}_ant_{c.pk}"]
                    for c in criteria
                    if data.get(f"{prefix}_ant_{c.pk}")
                },
                anticipated_changes={
                    str(c.pk): data.get(f"{prefix}_change_{c.pk}", "") for c in criteria
                },
                anticipated_by=data.get(f"{prefix}_ant_by"),
            )
        return RecordChange(
            caseload_discussion=data.get("caseload_discussion", ""),
            deviation_agreed={"yes": True, "no": False}.get(data.get("deviation_agreed") or ""),
            deviation_reason=data.get("deviation_reason", ""),
            time_for_direct_work=data.get("time_for_direct_work", ""),
            other_demands=data.get("other_demands", ""),
            asye_factor=data.get("asye_factor"),
            actions=data.get("actions", ""),
            next_supervision=data.get("next_supervision"),
            items=items,
        )


class WorkerSignForm(forms.Form):
    agreement = forms.ChoiceField(
        label="Do you agree with this record?",
        choices=[
            Choice("agree", "I agree with this record"),
            Choice("disagree", "I disagree with part of it", hint="Say what, below."),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether you agree with the record"},
    )
    disagreement = forms.CharField(
        label="What you disagree with",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=2000,
        required=False,
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("agreement") == "disagree" and not cleaned.get("disagreement", "").strip():
            self.add_error("disagreement", "Say what you disagree with")
        return cleaned


class AddendumForm(forms.Form):
    text = forms.CharField(
        label="Addendum",
        help_text="A correction or addition. It is added with your name and the time; "
        "the record itself does not change.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        error_messages={"required": "Write the addendum"},
    )


def next_supervision_label(day: datetime.date | None, today: datetime.date) -> str:
    """“12 December (in 4 days)”, “overdue by 3 days” or “not set”."""
    if day is None:
        return "not set"
    days = (day - today).days
    when = f"{day.day} {day:%B}"
    if days < 0:
        return f"{when} (overdue by {-days} day{'s' if -days != 1 else ''})"
    if days == 0:
        return f"{when} (today)"
    return f"{when} (in {days} day{'s' if days != 1 else ''})"
