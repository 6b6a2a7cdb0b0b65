"""Form fields in the GOV.UK patterns, with messages that say what to do."""

import datetime
import unicodedata

from crispy_forms_gds.fields import DateInputField
from django.core.exceptions import ValidationError

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100


def is_blank(text: str | None) -> bool:
    """Text that shows nothing: empty, or only whitespace of any kind (a
    non-breaking space, an em space…) and invisible format characters (a
    zero-width space, a byte-order mark). Forms and the import both refuse it
    where a value is required."""
    return not text or all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


class DayMonthYearField(DateInputField):
    """A GOV.UK date input that never lets a bad date through: a part of only
    spaces is missing, not blank-and-valid, and a year outside 1900–2100 (or
    a number too large to be a date at all) is refused, not a server error."""

    def clean(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, list | tuple):
            value = [v.strip() if isinstance(v, str) else v for v in value]
        return super().clean(value)

    def compress(self, data_list):  # type: ignore[no-untyped-def]
        day, month, year = data_list
        if not (day or month or year):
            return None
        if not (day and month and year):
            raise ValidationError(self.error_messages["incomplete"], code="incomplete")
        try:
            parsed = datetime.date(day=int(day), month=int(month), year=int(year))
        except (ValueError, OverflowError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def date_field(label: str, *, required: bool = True, help_text: str = "") -> DayMonthYearField:
    """A GOV.UK date input (day, month, year)."""
    field = DayMonthYearField(label=label, required=required, help_text=help_text)
    field.error_messages["required"] = f"Enter the {label.lower()}"
    field.error_messages["incomplete"] = f"Enter the {label.lower()} as a day, month and year"
    field.error_messages["invalid"] = f"Enter the {label.lower()} as a real date"
    return field
