"""Picking a DMT table by its slug in a template."""

from __future__ import annotations

from django import template

from caseload.tables import Table

register = template.Library()


@register.filter
def pick(tables: dict[str, Table], slug: str) -> Table | None:
    return tables.get(slug)
