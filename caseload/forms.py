"""Forms of the core app's pages: the import's upload."""

from __future__ import annotations

from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Upload a file",
        help_text="An .xlsx workbook in the Caseload format, a .csv file named after its "
        "sheet (for example cases.csv), or a .zip of CSV files.",
        error_messages={"required": "Choose a file to upload"},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.zip"}),
    )
