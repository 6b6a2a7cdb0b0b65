"""Numbers as people read them."""

from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def plain_number(value: Decimal | int) -> str:
    """7.00 → "7", 1.50 → "1.5", 100 → "100" (never "1E+2")."""
    text = f"{Decimal(value).normalize():f}"
    return text


def one_decimal(value: Decimal | int | None) -> str:
    """57.5135 → "57.5"; None → "–"."""
    if value is None:
        return "–"
    return f"{Decimal(value).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)}"
