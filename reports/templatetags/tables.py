"""Cells of the DMT tables as the page shows them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from reports.tables import Column, Link, Table, Tag, shown

register = template.Library()


@register.simple_tag
def table_cell(value: Any, column: Column) -> str:
    if isinstance(value, Link):
        return format_html('<a class="govuk-link" href="{}">{}</a>', value.url, value.text)
    if isinstance(value, Tag):
        return format_html('<strong class="govuk-tag {}">{}</strong>', value.colour, value.text)
    if isinstance(value, SafeString):
        return value
    return shown(value, column)


@register.filter
def cells(table: Table, row: list) -> list[tuple[Column, Any]]:
    return table.cells(row)


@register.filter
def pick(tables: dict[str, Table], slug: str) -> Table | None:
    return tables.get(slug)
