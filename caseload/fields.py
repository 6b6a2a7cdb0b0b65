"""Form fields in the GOV.UK patterns, with messages that say what to do."""

import datetime
import unicodedata
from decimal import Decimal

from crispy_forms_gds.fields import DateInputField
from django import forms
from django.core.exceptions import ValidationError

from caseload.formatting import plain_number

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100


def is_blank(text: str | None) -> bool:
    """Text that shows nothing: empty, or only whitespace of any kind (a
    non-breaking space, an em space…) and invisible format characters (a
    zero-width space, a byte-order mark). Forms and the import both refuse it
    where a value is required."""
    return not text or all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


PARTS = ("day", "month", "year")


def _and(words: list[str]) -> str:
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"


class DayMonthYearField(DateInputField):
    """A GOV.UK date input with the messages of the Design System's date
    pattern: one message for the field ("Date of the next supervision must
    include a month", "... must be a real date"), and the boxes in error
    marked. It never lets a bad date through: a part of only spaces is
    missing, and a year outside 1900–2100 (or a number too large to be a
    date at all) is not a real date."""

    def __init__(self, *, label: str, **kwargs) -> None:
        super().__init__(label=label, **kwargs)
        self.error_messages["required"] = f"Enter the {label[0].lower()}{label[1:]}"

    def clean(self, value):  # type: ignore[no-untyped-def]
        if not isinstance(value, list | tuple):
            value = self.widget.decompress(value) if self.disabled else ["", "", ""]
        parts = [(v.strip() if isinstance(v, str) else "") for v in [*value, "", "", ""][:3]]
        if not any(parts):
            if self.required:
                self._mark(range(3))
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        missing = [i for i, part in enumerate(parts) if not part]
        if missing:
            self._mark(missing)
            raise ValidationError(
                f"{self.label} must include a {_and([PARTS[i] for i in missing])}",
                code="incomplete",
            )
        try:
            parsed = datetime.date(*(int(parts[i]) for i in (2, 1, 0)))
        except (ValueError, OverflowError):
            parsed = None
        if parsed is None or not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            self._mark(range(3))
            raise ValidationError(f"{self.label} must be a real date", code="invalid")
        return parsed

    def _mark(self, boxes) -> None:  # type: ignore[no-untyped-def]
        """Show the boxes in error with the Design System's red border."""
        for i in boxes:
            attrs = self.widget.widgets[i].attrs
            if "govuk-input--error" not in attrs["class"]:
                attrs["class"] += " govuk-input--error"


def date_field(label: str, *, required: bool = True, help_text: str = "") -> DayMonthYearField:
    """A GOV.UK date input (day, month, year)."""
    return DayMonthYearField(label=label, required=required, help_text=help_text)


def number_field(
    label: str,
    *,
    most: Decimal,
    least: Decimal,
    digits: int,
    places: int = 2,
    what: str,
    subject: str = "",
    example: str = "",
    required: str = "",
    help_text: str = "",
) -> forms.DecimalField:
    """A decimal in a short GOV.UK text input, above 0 (from `least`) and at
    most `most`, with messages that name `what` it is ("Enter the FTE as a
    number, like 1 or 0.5", "The FTE must be 1 or less"). Optional unless a
    `required` message is given."""
    subject = subject or what[0].upper() + what[1:]
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        min_value=least,
        max_value=most,
        max_digits=digits,
        decimal_places=places,
        required=bool(required),
        widget=forms.TextInput(attrs={"class": "govuk-input--width-4", "inputmode": "decimal"}),
        error_messages={
            "required": required,
            "invalid": f"Enter {what} as a number" + (f", like {example}" if example else ""),
            "min_value": f"{subject} must be more than 0",
            "max_value": f"{subject} must be {plain_number(most)} or less",
        },
    )
