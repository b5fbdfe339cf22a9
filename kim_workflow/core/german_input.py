"""Numbers and dates as an official types them into a form: German notation first, ISO as well (pure).

Every function takes the text as entered and raises ``ValueError`` with a German message that can be shown as it
is ("Kein gültiger Betrag …"). Amounts: ``45.000,00``, ``45000``, ``45.000``, ``45000,5`` and ``45000.50`` (a
single dot followed by one or two digits is a decimal point; a dot before groups of three digits separates
thousands). Dates: ``15.12.2026`` or ``2026-12-15``; times: ``10.06.2026 10:00`` or ``2026-06-10T10:00``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

MAX_CHARS = 40
MAX_DIGITS = 15
_CURRENCY = re.compile(r"\s*(€|eur|euro)\s*$", re.IGNORECASE)
_GROUPED = re.compile(r"^[1-9][0-9]{0,2}(\.[0-9]{3})+$")
_NUMBER = re.compile(r"^(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:(?P<sep>[,.])(?P<frac>[0-9]+))?$")
_GERMAN_DATE = re.compile(r"^(?P<d>[0-9]{1,2})\.(?P<m>[0-9]{1,2})\.(?P<y>[0-9]{4})$")
_ISO_DATE = re.compile(r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})$")
_TIME = re.compile(r"^(?P<h>[0-9]{1,2})[:.](?P<min>[0-9]{2})(?:\s*Uhr)?$", re.IGNORECASE)
DATE_HINT = "TT.MM.JJJJ, z. B. 15.12.2026"
TIME_HINT = "TT.MM.JJJJ HH:MM, z. B. 10.06.2026 10:00"


def parse_amount(text: str) -> Decimal:
    """A non-negative euro amount with at most two decimal places, returned with exactly two."""
    return parse_number(text, places=2, what="Betrag", example="45.000,00 oder 45000")


def parse_number(text: str, *, places: int | None, what: str, example: str, grouping: bool = True) -> Decimal:
    """A non-negative decimal in German (or plain) notation; ``places`` limits (and fixes) the decimal places.

    Without ``grouping`` a dot is always a decimal point (``0.500`` is one half, not five hundred).
    """
    raw = text.strip()
    if not raw:
        raise ValueError(f"Bitte einen {what} eingeben (z. B. {example}).")
    cleaned = _CURRENCY.sub("", raw).strip().removeprefix("+")
    if cleaned.startswith("-"):
        raise ValueError(f"Der {what} darf nicht negativ sein: {_shown(raw)}.")
    parts = _split(cleaned, grouping) if len(cleaned) <= MAX_CHARS else None
    if parts is None:
        raise ValueError(f"Kein gültiger {what}: {_shown(raw)} (z. B. {example}).")
    integer, fraction = parts
    if len(integer.lstrip("0")) > MAX_DIGITS:
        raise ValueError(f"Der {what} {_shown(raw)} ist zu groß.")
    if places is not None and len(fraction) > places:
        raise ValueError(f"Der {what} {_shown(raw)} hat mehr als {places} Nachkommastellen.")
    value = Decimal(f"{integer}.{fraction or '0'}")
    return value.quantize(Decimal(1).scaleb(-places)) if places is not None else value


def _split(text: str, grouping: bool) -> tuple[str, str] | None:
    """Integer and fraction digits, or None where the text has no single reading as a number."""
    if grouping and _GROUPED.fullmatch(text):
        return text.replace(".", ""), ""  # "45.000": a dot before groups of three separates thousands
    match = _NUMBER.fullmatch(text)
    if match is None or ("." in match["int"] and (not grouping or match["sep"] == ".")):
        return None
    return match["int"].replace(".", ""), match["frac"] or ""


def parse_date(text: str) -> date:
    """A calendar date from ``TT.MM.JJJJ`` (also ``1.2.2026``) or ``JJJJ-MM-TT``."""
    raw = text.strip()
    match = _GERMAN_DATE.fullmatch(raw) or _ISO_DATE.fullmatch(raw)
    if match is None:
        raise ValueError(f"Kein gültiges Datum: {_shown(raw)} (erwartet {DATE_HINT}).")
    try:
        return date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        raise ValueError(f"Das Datum {_shown(raw)} gibt es nicht.") from None


def parse_datetime(text: str) -> datetime:
    """Date and time from ``TT.MM.JJJJ HH:MM`` (optionally ``, `` and ``Uhr``) or ISO 8601; naive means local."""
    raw = text.strip()
    if "T" in raw or _ISO_DATE.fullmatch(raw[:10]):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"Kein gültiger Zeitpunkt: {_shown(raw)} (erwartet {TIME_HINT}).") from None
    day_text, _, time_text = raw.replace(",", " ").partition(" ")
    clock = _TIME.fullmatch(time_text.strip())
    if clock is None:
        raise ValueError(f"Kein gültiger Zeitpunkt: {_shown(raw)} (erwartet {TIME_HINT}).")
    day = parse_date(day_text)
    if int(clock["h"]) > 23 or int(clock["min"]) > 59:
        raise ValueError(f"Die Uhrzeit in {_shown(raw)} gibt es nicht.")
    return datetime(day.year, day.month, day.day, int(clock["h"]), int(clock["min"]))


def _shown(text: str) -> str:
    return repr(text if len(text) <= MAX_CHARS else text[:MAX_CHARS] + "…")
