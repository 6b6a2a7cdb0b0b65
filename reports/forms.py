"""Forms of the escalations pages."""

from __future__ import annotations

from crispy_forms_gds.choices import Choice
from django import forms


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


class OutcomeForm(forms.Form):
    outcome = forms.CharField(
        label="What the senior managers did",
        help_text="For example, cases moved, extra staff, or a decision minuted at DMT. "
        "Recording it resolves the escalation.",
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=2000,
        error_messages={"required": "Say what the senior managers did"},
    )
