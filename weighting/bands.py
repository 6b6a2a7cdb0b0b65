"""Bands: where a capacity % falls, how it is shown, and "over the maximum".

Each service sets its thresholds; a band is decided on exact values
(`load × 100` against `capacity × threshold`), never on a rounded %."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from functools import lru_cache

from caseload.formatting import ONE_DECIMAL, plain_number
from caseload.models import Service

ZERO = Decimal("0")
HUNDRED = Decimal("100")


class Band(Enum):
    BLUE = "blue"
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


def is_over_maximum(band: Band | str | None) -> bool:
    """Over the maximum: capacity % above the top of the green band (100% by
    default), that is amber or red. A stored band is given as its value; no
    band (no capacity) is never over."""
    return bool(band) and Band(band) in (Band.AMBER, Band.RED)


# The stored band values that are over the maximum, to filter snapshots by.
OVER_MAXIMUM_BANDS = [band.value for band in Band if is_over_maximum(band)]


def per_fte(amount: Decimal | int, fte: Decimal) -> Decimal | None:
    """An amount per case-holding FTE, exactly; none when there is no FTE."""
    return Decimal(amount) / fte if fte else None


@dataclass(frozen=True)
class Bands:
    """A service's band thresholds, in % of capacity."""

    green_from: Decimal = Decimal("95")
    amber_above: Decimal = Decimal("100")
    red_from: Decimal = Decimal("110")

    @classmethod
    def of(cls, service: Service | None) -> Bands:
        if service is None:
            return cls()
        return cls(service.band_green_from, service.band_amber_above, service.band_red_from)

    def band(self, load: Decimal, capacity: Decimal) -> Band | None:
        """The band of `load` against `capacity`, compared exactly: load × 100
        against capacity × threshold, with no division and no rounding."""
        if capacity <= 0:
            return None
        scaled = load * HUNDRED
        if scaled < capacity * self.green_from:
            return Band.BLUE
        if scaled <= capacity * self.amber_above:
            return Band.GREEN
        if scaled < capacity * self.red_from:
            return Band.AMBER
        return Band.RED

    def label(self, band: Band) -> str:
        return _band_labels(self)[band]

    @property
    def headings(self) -> tuple[str, ...]:
        """The bands' names in order (blue to red), for table headings and
        chart keys: from this service's thresholds, never fixed text."""
        labels = _band_labels(self)
        return tuple(labels[band] for band in Band)

    def displayed_percent(self, exact: Decimal) -> Decimal:
        """`exact` to one decimal place, moved by a tenth where plain rounding
        would cross into the next band (100.04% shows as 100.1%, since it is
        over 100%), so that a number and its band never disagree."""
        shown = exact.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
        exact_band = self.band(exact, HUNDRED)
        if self.band(shown, HUNDRED) == exact_band:
            return shown
        step = ONE_DECIMAL if shown < exact else -ONE_DECIMAL
        return shown + step

    def percent_display(self, exact: Decimal | None) -> str:
        """A capacity % as pages show it ("108.3%"), or "No capacity"."""
        if exact is None:
            return "No capacity"
        return f"{self.displayed_percent(exact)}%"


@lru_cache(maxsize=256)
def _band_labels(bands: Bands) -> dict[Band, str]:
    """A service's band names (computed once per set of thresholds: an
    analysis names the band of every point of every person)."""
    return {
        Band.BLUE: f"Under {plain_number(bands.green_from)}%",
        Band.GREEN: f"{plain_number(bands.green_from)}–{plain_number(bands.amber_above)}%",
        Band.AMBER: f"Over {plain_number(bands.amber_above)}%",
        Band.RED: f"{plain_number(bands.red_from)}% or more",
    }
