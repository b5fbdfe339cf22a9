"""German notation of money and FTE (VZÄ) values: the one money formatter of kim-workflow (pure)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
_CTX = Context(prec=60, traps=[])
_TO_GERMAN = str.maketrans({",": ".", ".": ","})


def decimal_places(value: Decimal) -> int:
    """Significant decimal places of a finite value, computed without any context (``1.500`` has 1)."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), "only finite values have decimal places"
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def german_decimal(value: Decimal, places: int) -> str:
    if not value.is_finite():
        return str(value)
    if value.adjusted() > 15 or places > 12:
        return f"{value:E}".replace(".", ",")
    rounded = value.quantize(Decimal(f"1E-{places}"), rounding=ROUND_HALF_UP, context=_CTX)
    return f"{rounded.copy_abs() if rounded.is_zero() else rounded:,f}".translate(_TO_GERMAN)


def format_eur(value: Decimal | int) -> str:
    """German euro notation, commercially rounded (half up) to cents: ``Decimal("45000")`` → ``"45.000,00 €"``.

    The one money formatter (also the ``eur`` filter of the email templates); a regular space before the sign.
    """
    return f"{german_decimal(Decimal(value), 2)} €"


def format_fte(value: Decimal) -> str:
    """German FTE notation with at least one place: ``Decimal("0.3")`` → ``"0,3"``, ``Decimal("1")`` → ``"1,0"``."""
    return german_decimal(value, max(1, decimal_places(value))) if value.is_finite() else str(value)


def exact_text(value: Decimal) -> str:
    return german_decimal(value, decimal_places(value))


def amount_text(value: Decimal) -> str:
    """Cent amounts as ``format_eur``; finer amounts unrounded so that the message shows the real input."""
    return format_eur(value) if decimal_places(value) <= 2 else f"{exact_text(value)} €"
