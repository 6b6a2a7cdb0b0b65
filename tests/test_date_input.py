"""Dates are entered in the GOV.UK date input, and its errors follow the
Design System's date pattern: one message, saying what to fix."""

import pytest
from django import forms

from caseload.fields import date_field


class DateForm(forms.Form):
    review_by = date_field("Review date")


def errors_for(day, month, year):
    form = DateForm({"review_by_0": day, "review_by_1": month, "review_by_2": year})
    assert not form.is_valid()
    return form.errors["review_by"], form


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("", "", "", "Enter the review date"),
        ("12", "", "2027", "Review date must include a month"),
        ("", "", "2027", "Review date must include a day and month"),
        ("12", "3", "", "Review date must include a year"),
        ("ab", "3", "2027", "Review date must be a real date"),
        ("31", "2", "2027", "Review date must be a real date"),
        ("1", "1", "99999", "Review date must be a real date"),
        ("\u00a0", "3", "2027", "Review date must include a day"),
    ],
)
def test_each_mistake_gets_one_message_from_the_date_pattern(day, month, year, message):
    errors, _form = errors_for(day, month, year)
    assert errors == [message]


def test_the_boxes_in_error_are_marked():
    _errors, form = errors_for("12", "", "")
    html = str(form["review_by"])
    day, month, year = html.split("<input")[1:4]
    assert "govuk-input--error" not in day
    assert "govuk-input--error" in month and "govuk-input--error" in year


def test_a_real_date_is_accepted_with_spaces_around_its_parts():
    form = DateForm({"review_by_0": " 3 ", "review_by_1": "4", "review_by_2": "2027"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["review_by"].isoformat() == "2027-04-03"
