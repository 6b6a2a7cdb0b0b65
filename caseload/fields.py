"""Form fields in the GOV.UK patterns, with messages that say what to do."""

from crispy_forms_gds.fields import DateInputField


def date_field(label: str, *, required: bool = True, help_text: str = "") -> DateInputField:
    """A GOV.UK date input (day, month, year)."""
    field = DateInputField(label=label, required=required, help_text=help_text)
    field.error_messages["required"] = f"Enter the {label.lower()}"
    field.error_messages["incomplete"] = f"Enter the {label.lower()} as a day, month and year"
    field.error_messages["invalid"] = f"Enter the {label.lower()} as a real date"
    return field
