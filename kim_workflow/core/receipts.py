"""When a receipt (Jahresbericht, Fragebogen) may be dated (pure, today passed in).

The programme's rule: the documents are handed in "im Dezember eines Jahres" of the funding year. A receipt
dated before the funding year or after today is refused; one before the regular start (policy
``report.regular_receipt_from``, default 1 December) is accepted with a remark; after the due date it is late.
"""

from __future__ import annotations

from datetime import date


class ReceiptRefused(ValueError):
    """A receipt date that cannot be right; the German message says why (nothing is stored)."""


def check_not_future(received_on: date, today: date) -> None:
    """Raise :class:`ReceiptRefused` for a receipt dated after ``today``."""
    if received_on > today:
        raise ReceiptRefused(
            f"Eingangsdatum {received_on:%d.%m.%Y} liegt in der Zukunft (heute: {today:%d.%m.%Y}); nichts erfasst."
        )


def receipt_remark(received_on: date, *, year: int, today: date, regular_from: date) -> str | None:
    """``None`` for a regular receipt, a German remark for an early one; raise :class:`ReceiptRefused`."""
    check_not_future(received_on, today)
    if received_on < date(year, 1, 1):
        raise ReceiptRefused(
            f"Eingangsdatum {received_on:%d.%m.%Y} liegt vor dem Förderjahr {year} "
            f"(frühestens 01.01.{year}); nichts erfasst."
        )
    if received_on < regular_from:
        return (
            f"Vorzeitig eingegangen am {received_on:%d.%m.%Y}: regulär werden die Unterlagen ab dem "
            f"{regular_from:%d.%m.%Y} eingereicht; der Eingang wurde mit diesem Vermerk erfasst."
        )
    return None
