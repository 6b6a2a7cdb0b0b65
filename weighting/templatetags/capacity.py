"""Capacity figures as pages show them, by the rules of weighting.numbers."""

from decimal import Decimal

from django import template

from caseload.models import Service
from weighting.bands import Bands

register = template.Library()


@register.filter
def capacity_percent(value: Decimal | None, service: Service | None) -> str:
    """A stored capacity % as every page shows one: one decimal, never
    contradicting its band under the service's thresholds ("100.1%", not
    "100.0%", for 100.04%), or "No capacity"."""
    return Bands.of(service).percent_display(value)
